import type { Pod } from '../../api/index.js';
import { podRequests } from '../../api/index.js';
import type { NodeResources } from './node-capacity.js';
import { messageOf } from '../../lib/index.js';

/** Why a pod was rejected, as the kubelet names it in the pod's status reason. */
export type AdmitFailureReason = 'OutOfcpu' | 'OutOfmemory' | 'OutOfpods' | 'UnexpectedAdmissionError' | 'PodSecurity';

/** The verdict on a pod: admitted, or rejected with a reason and a message for its status. */
export type AdmitResult = { admit: true } | { admit: false; reason: AdmitFailureReason; message: string };

/**
 * Decides whether the node can run pod next to activePods (the pods admitted and not yet terminated),
 * as the kubelet's resource admission does: one more pod must fit under the pods limit, and the
 * pod's cpu and memory requests (max of the app containers' sum and any init container) must fit in
 * allocatable minus what the other pods request. A pod requesting nothing only needs a pod slot. The
 * first failing resource, in that order, is reported, with the kubelet's message ("Node didn't have
 * enough resource: cpu, requested: 600, used: 800, capacity: 1000"). A pod whose resources cannot be
 * read is rejected with UnexpectedAdmissionError. Pure.
 */
export function admit(pod: Pod, activePods: readonly Pod[], allocatable: NodeResources): AdmitResult {
  try {
    const others = activePods.filter((p) => p.metadata.uid !== pod.metadata.uid);
    if (others.length + 1 > allocatable.pods) return insufficient('pods', 1, others.length, allocatable.pods);
    const req = podRequests(pod);
    if (req.cpuMillis === 0 && req.memoryBytes === 0) return { admit: true };
    const used = { cpuMillis: 0, memoryBytes: 0 };
    for (const p of others) {
      const r = podRequests(p);
      used.cpuMillis += r.cpuMillis;
      used.memoryBytes += r.memoryBytes;
    }
    if (req.cpuMillis > 0 && req.cpuMillis > allocatable.cpuMillis - used.cpuMillis) {
      return insufficient('cpu', req.cpuMillis, used.cpuMillis, allocatable.cpuMillis);
    }
    if (req.memoryBytes > 0 && req.memoryBytes > allocatable.memoryBytes - used.memoryBytes) {
      return insufficient('memory', req.memoryBytes, used.memoryBytes, allocatable.memoryBytes);
    }
    return { admit: true };
  } catch (err) {
    return { admit: false, reason: 'UnexpectedAdmissionError', message: `Unexpected error while attempting to admit the pod: ${messageOf(err)}` };
  }
}

function insufficient(resource: 'cpu' | 'memory' | 'pods', requested: number, used: number, capacity: number): AdmitResult {
  return {
    admit: false,
    reason: `OutOf${resource}`,
    message: `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`,
  };
}
