/**
 * Pod-level resource arithmetic as the kubelet and scheduler do it: QoS class, effective requests
 * and limits. Sums and comparisons are exact (BigInt nano-units), rounding happens once at the end,
 * as Kubernetes does with resource.Quantity. Init containers run one at a time, so the pod needs the
 * larger of (sum of app containers, largest init container). corelet has no sidecar init containers
 * and no pod overhead, so those terms are absent.
 */
import type { Container, Pod } from './pod-types.js';
import { parseQuantityNanos } from './quantity.js';

/**
 * A pod that has finished (phase Succeeded or Failed): its containers are gone, so it holds nothing on
 * its node and no longer counts as one of its controller's live pods.
 */
export function podFinished(pod: Pick<Pod, 'status'>): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The pod's QoS class. */
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** CPU and memory of a whole pod; cpu rounded up to millicores, memory up to bytes. */
export interface PodResources {
  cpuMillis: number;
  memoryBytes: number;
}

type ComputeResource = 'cpu' | 'memory';
const COMPUTE: readonly ComputeResource[] = ['cpu', 'memory'];

function nanosOf(list: Record<string, string>, name: ComputeResource): bigint {
  const v = list[name];
  return v === undefined ? 0n : parseQuantityNanos(v);
}

/**
 * The QoS class the kubelet assigns (pkg/apis/core/v1/helper/qos): only cpu and memory count, over
 * init and app containers. BestEffort when no container has a non-zero request or limit; Guaranteed
 * when every container has non-zero cpu and memory limits and the pod's summed requests equal its
 * summed limits for both; Burstable otherwise.
 */
export function podQosClass(pod: Pod): QosClass {
  const requests = new Map<ComputeResource, bigint>();
  const limits = new Map<ComputeResource, bigint>();
  let guaranteed = true;
  for (const c of [...pod.spec.containers, ...pod.spec.initContainers]) {
    for (const name of COMPUTE) {
      const req = nanosOf(c.resources.requests, name);
      if (req > 0n) requests.set(name, (requests.get(name) ?? 0n) + req);
      const lim = nanosOf(c.resources.limits, name);
      if (lim > 0n) limits.set(name, (limits.get(name) ?? 0n) + lim);
      else guaranteed = false; // a container without both limits can never be Guaranteed
    }
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed && requests.size === limits.size && [...requests].every(([name, req]) => limits.get(name) === req)) {
    return 'Guaranteed';
  }
  return 'Burstable';
}

/** max(sum over app containers, max over init containers) of one resource, in nano-units. */
function effective(pod: Pod, name: ComputeResource, pick: (c: Container) => Record<string, string>): bigint {
  let sum = 0n;
  for (const c of pod.spec.containers) sum += nanosOf(pick(c), name);
  let init = 0n;
  for (const c of pod.spec.initContainers) {
    const v = nanosOf(pick(c), name);
    if (v > init) init = v;
  }
  return sum > init ? sum : init;
}

const toMillis = (nanos: bigint) => Number((nanos + 999_999n) / 1_000_000n);
const toUnits = (nanos: bigint) => Number((nanos + 999_999_999n) / 1_000_000_000n);

/**
 * What the pod requests, as the scheduler's fit check and the kubelet's admission count it:
 * max(sum of app containers, largest init container) per resource; a missing request counts as 0.
 */
export function podRequests(pod: Pod): PodResources {
  return {
    cpuMillis: toMillis(effective(pod, 'cpu', (c) => c.resources.requests)),
    memoryBytes: toUnits(effective(pod, 'memory', (c) => c.resources.requests)),
  };
}

/**
 * The pod-level limits the kubelet puts on the pod cgroup: computed like {@link podRequests}, but a
 * resource is unlimited (undefined) when any container, app or init, lacks a non-zero limit for it,
 * as the kubelet's ResourceConfigForPod decides.
 */
export function podLimits(pod: Pod): Partial<PodResources> {
  const all = [...pod.spec.containers, ...pod.spec.initContainers];
  const declared = (name: ComputeResource) => all.every((c) => nanosOf(c.resources.limits, name) > 0n);
  const out: Partial<PodResources> = {};
  if (declared('cpu')) out.cpuMillis = toMillis(effective(pod, 'cpu', (c) => c.resources.limits));
  if (declared('memory')) out.memoryBytes = toUnits(effective(pod, 'memory', (c) => c.resources.limits));
  return out;
}
