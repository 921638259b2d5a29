/**
 * When an object counts as ready, for `apply --wait` and `rollout status` (pure): pods Running and
 * Ready, Deployments rolled out and available (kubectl rollout status' test), StatefulSets and
 * DaemonSets with every replica updated and ready, Jobs complete.
 */
import type { DaemonSet, Deployment, Job, Pod, StatefulSet } from '../api/index.js';
import { podStatus } from './printers.js';

/** Where an object stands. */
export interface Readiness {
  /** Nothing left to wait for. */
  done: boolean;
  /** What it is waiting for, or what was reached. */
  message: string;
  /** It will not get there by itself (a failed pod or Job, a stalled rollout). */
  failed?: boolean;
}

const ready = (message: string): Readiness => ({ done: true, message });
const waiting = (message: string): Readiness => ({ done: false, message });
const failed = (message: string): Readiness => ({ done: false, failed: true, message });

/** True when the controller has seen the latest spec (status.observedGeneration caught up). */
function observed(obj: { metadata?: { generation?: number }; status?: { observedGeneration?: number } }): boolean {
  const gen = obj.metadata?.generation;
  return gen === undefined || (obj.status?.observedGeneration ?? 0) >= gen;
}

/** A pod: done when Running and Ready (or Succeeded), failed when Failed. */
export function podReadiness(pod: Pod): Readiness {
  const phase = pod.status?.phase ?? 'Pending';
  const name = `pod "${pod.metadata.name}"`;
  if (phase === 'Succeeded') return ready(`${name} completed`);
  if (phase === 'Failed') return failed(`${name} failed: ${pod.status?.message || podStatus(pod)}`);
  const isReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  if (phase === 'Running' && isReady) return ready(`${name} is running and ready`);
  if (!pod.spec?.nodeName) {
    const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return waiting(`${name} is not scheduled yet${unschedulable?.message ? `: ${unschedulable.message}` : ''}`);
  }
  return waiting(`${name} is ${podStatus(pod)} on ${pod.spec.nodeName}`);
}

/** A Deployment, as kubectl rollout status judges it: every replica updated and available, no old ones left. */
export function deploymentReadiness(d: Deployment): Readiness {
  const name = `deployment "${d.metadata.name}"`;
  const s = d.status;
  if (!s || !observed(d)) return waiting(`waiting for the controller to see the latest spec of ${name}`);
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return failed(`${name} exceeded its progress deadline: ${progressing.message ?? ''}`.trim());
  const want = d.spec?.replicas ?? 1;
  if ((s.updatedReplicas ?? 0) < want) return waiting(`waiting for ${name} rollout to finish: ${s.updatedReplicas ?? 0} of ${want} new replicas updated`);
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) {
    return waiting(`waiting for ${name} rollout to finish: ${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas pending termination`);
  }
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) {
    return waiting(`waiting for ${name} rollout to finish: ${s.availableReplicas ?? 0} of ${s.updatedReplicas ?? 0} updated replicas available`);
  }
  return ready(`${name} successfully rolled out`);
}

/** A StatefulSet: every replica ready and on the update revision. */
export function statefulSetReadiness(s: StatefulSet): Readiness {
  const name = `statefulset "${s.metadata.name}"`;
  const st = s.status;
  if (!st || !observed(s)) return waiting(`waiting for the controller to see the latest spec of ${name}`);
  const want = s.spec?.replicas ?? 1;
  if ((st.readyReplicas ?? 0) < want) return waiting(`waiting for ${name}: ${st.readyReplicas ?? 0} of ${want} pods ready`);
  if (s.spec?.updateStrategy?.type !== 'OnDelete' && st.updateRevision && st.currentRevision !== st.updateRevision) {
    return waiting(`waiting for ${name} rolling update to finish: ${st.updatedReplicas ?? 0} of ${want} pods updated`);
  }
  return ready(`${name}: ${want} of ${want} pods ready`);
}

/** A DaemonSet: a pod updated and available on every node that should run one. */
export function daemonSetReadiness(ds: DaemonSet): Readiness {
  const name = `daemonset "${ds.metadata.name}"`;
  const st = ds.status;
  if (!st || !observed(ds)) return waiting(`waiting for the controller to see the latest spec of ${name}`);
  const want = st.desiredNumberScheduled ?? 0;
  if ((st.updatedNumberScheduled ?? 0) < want) return waiting(`waiting for ${name} rollout to finish: ${st.updatedNumberScheduled ?? 0} of ${want} updated pods scheduled`);
  if ((st.numberAvailable ?? 0) < want) return waiting(`waiting for ${name} rollout to finish: ${st.numberAvailable ?? 0} of ${want} updated pods available`);
  return ready(`${name} successfully rolled out (${want} nodes)`);
}

/** A Job: done when Complete, failed when Failed. */
export function jobReadiness(job: Job): Readiness {
  const name = `job "${job.metadata.name}"`;
  const conds = job.status?.conditions ?? [];
  const cond = (type: string) => conds.find((c) => c.type === type && c.status === 'True');
  if (cond('Complete')) return ready(`${name} completed`);
  const fail = cond('Failed');
  if (fail) return failed(`${name} failed: ${[fail.reason, fail.message].filter(Boolean).join(': ')}`);
  const want = job.spec?.completions ?? 1;
  return waiting(`waiting for ${name}: ${job.status?.succeeded ?? 0} of ${want} completions, ${job.status?.active ?? 0} running`);
}

/** The readiness of any object by its kind; kinds without a notion of ready count as ready. */
export function readiness(obj: any): Readiness {
  switch (obj?.kind) {
    case 'Pod':
      return podReadiness(obj);
    case 'Deployment':
      return deploymentReadiness(obj);
    case 'StatefulSet':
      return statefulSetReadiness(obj);
    case 'DaemonSet':
      return daemonSetReadiness(obj);
    case 'Job':
      return jobReadiness(obj);
    default:
      return ready(`${String(obj?.kind ?? 'object').toLowerCase()} "${obj?.metadata?.name}" exists`);
  }
}
