/**
 * The Job controller: runs pods until enough succeed (completions) with at most `parallelism` at
 * once, fails the Job after backoffLimit failed pods or past activeDeadlineSeconds, honours suspend
 * and ttlSecondsAfterFinished.
 */
import { deletePod } from './pod-deletion.js';
import { podFinished, withJobSelector, type Job, type JobStatus, type Pod } from '../../api/index.js';
import type { Store, Stored, StoredObject } from '../store/index.js';
import { createPodFromTemplate, isPodReady, podDeletionOrder, recordEvent, rfc3339 } from './common.js';

const COMPONENT = 'job-controller';

/** A stored Job. */
export type StoredJob = Stored<Job>;

type JobCondition = JobStatus['conditions'][number];

/** What one Job reconcile saw and did. */
export interface JobReconcileResult {
  status: JobStatus;
  /** 'Complete' or 'Failed' once the Job has finished. */
  finished?: 'Complete' | 'Failed';
  /** True when ttlSecondsAfterFinished expired and the Job and its pods were deleted. */
  deleted: boolean;
}

function finishedAs(status: JobStatus | undefined): 'Complete' | 'Failed' | undefined {
  const c = status?.conditions.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return c?.type as 'Complete' | 'Failed' | undefined;
}

function deletePods(store: Store, job: StoredObject, victims: Pod[], now: Date): void {
  for (const p of victims) {
    deletePod(store, p.metadata.namespace, p.metadata.name, now);
    recordEvent(store, job, 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, COMPONENT, now);
  }
}

/**
 * Reconciles Job ns/name at `now`: gives it its generated selector, creates pods up to what
 * parallelism and the remaining completions allow (unbound, named "<job>-<5 chars>"), counts
 * succeeded and failed pods (finished pods are kept, as in Kubernetes), sets Complete or Failed
 * (BackoffLimitExceeded, DeadlineExceeded) and then deletes the still-active pods, handles suspend,
 * and deletes the finished Job with its pods once ttlSecondsAfterFinished has passed. Returns
 * undefined when the Job does not exist.
 */
export function reconcileJob(store: Store, ns: string, name: string, now: Date): JobReconcileResult | undefined {
  return store.transaction(() => {
    let job = store.get<StoredJob>('Job', ns, name);
    if (!job || job.metadata.deletionTimestamp) return undefined;
    if (!job.spec.selector) {
      job = store.mutate<Job>('Job', ns, name, (cur) => withJobSelector(cur as unknown as Job, cur.metadata.uid) as unknown as StoredJob);
    }
    const ts = rfc3339(now);
    const owned = store.list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: job.metadata.uid });
    const succeeded = owned.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = owned.filter((p) => p.status?.phase === 'Failed').length;
    let active = owned.filter((p) => !podFinished(p) && !p.metadata.deletionTimestamp);
    const prev = job.status;
    const conditions: JobCondition[] = (prev?.conditions ?? []).filter((c) => c.type !== 'Suspended');
    let finished = finishedAs(prev);
    let startTime = prev?.startTime;
    let completionTime = prev?.completionTime;
    const spec = job.spec;

    const finish = (type: 'Complete' | 'Failed', reason: string, message: string) => {
      finished = type;
      conditions.push({ type, status: 'True', reason, message, lastProbeTime: ts, lastTransitionTime: ts });
      if (type === 'Complete') completionTime = ts;
      recordEvent(store, job!, type === 'Complete' ? 'Completed' : reason, message, COMPONENT, now, type === 'Complete' ? 'Normal' : 'Warning');
    };

    if (!finished) {
      const completions = spec.completions;
      const deadlinePassed =
        spec.activeDeadlineSeconds !== undefined && startTime !== undefined && Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 <= now.getTime();
      if (failed > spec.backoffLimit) {
        finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      } else if (deadlinePassed) {
        finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      } else if (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0) {
        finish('Complete', 'CompletionsReached', 'Job completed');
      }
    }

    let want: number;
    if (finished === 'Failed' || spec.suspend) want = 0;
    else if (finished === 'Complete') want = active.length; // A work queue's last pods finish on their own.
    else if (spec.completions !== undefined) want = Math.max(0, Math.min(spec.parallelism, spec.completions - succeeded));
    // A work queue: once one pod has succeeded the work is done, so no new pods start.
    else want = succeeded > 0 ? Math.min(active.length, spec.parallelism) : spec.parallelism;

    if (active.length > want) {
      deletePods(store, job, [...active].sort(podDeletionOrder).slice(0, active.length - want), now);
    } else if (active.length < want) {
      startTime ??= ts;
      for (let i = active.length; i < want; i++) {
        const labels = { 'job-name': name, 'batch.kubernetes.io/job-name': name };
        if (!createPodFromTemplate(store, job, spec.template, { labels }, COMPONENT, now)) break;
      }
    }
    if (spec.suspend && !finished) {
      const old = prev?.conditions.find((c) => c.type === 'Suspended');
      conditions.push(old ?? { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended', lastProbeTime: ts, lastTransitionTime: ts });
      if (!old) recordEvent(store, job, 'Suspended', 'Job suspended', COMPONENT, now);
    }
    active = store
      .list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: job.metadata.uid })
      .filter((p) => !podFinished(p));

    const status: JobStatus = {
      active: active.length,
      succeeded,
      failed,
      ready: active.filter(isPodReady).length,
      ...(startTime ? { startTime } : {}),
      ...(completionTime ? { completionTime } : {}),
      conditions,
    };
    store.mutate<Job>('Job', ns, name, (cur) => {
      cur.status = status;
    });

    // Finished Jobs with a TTL go away with their pods once it expires.
    if (finished && spec.ttlSecondsAfterFinished !== undefined) {
      const at = finished === 'Complete' ? completionTime : conditions.find((c) => c.type === 'Failed')?.lastTransitionTime;
      if (at && Date.parse(at) + spec.ttlSecondsAfterFinished * 1000 <= now.getTime()) {
        for (const p of store.list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: job.metadata.uid })) store.delete('Pod', ns, p.metadata.name);
        store.delete('Job', ns, name);
        return { status, finished, deleted: true };
      }
    }
    return { status, finished, deleted: false };
  });
}
