import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Job, type Pod } from '../../../src/api/index.js';
import { reconcileJob } from '../../../src/scheduler/controllers/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { pods } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function createJob(store: Store, name: string, spec: string): StoredObject {
  const yaml = `
apiVersion: batch/v1
kind: Job
metadata: {name: ${name}, namespace: default}
spec:
  ${spec}
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
`;
  return store.create('Job', decodeObjects(yaml, 'job.yaml').objects[0] as never);
}

function finish(store: Store, podName: string, phase: 'Succeeded' | 'Failed'): void {
  store.mutate<Pod>('Pod', 'default', podName, (p) => {
    p.status = { phase, conditions: [], initContainerStatuses: [], containerStatuses: [] };
  });
}

const active = (store: Store) => pods(store).filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
const job = (store: Store, name: string) => store.get<Job & StoredObject>('Job', 'default', name)!;
const conditionTypes = (store: Store, name: string) => job(store, name).status!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);

test('a Job runs parallelism pods at a time until completions succeed', (t) => {
  const { store } = tempStore(t);
  const created = createJob(store, 'pi', 'completions: 3\n  parallelism: 2');
  const r = reconcileJob(store, 'default', 'pi', t0)!;
  assert.equal(r.status.active, 2);
  const first = pods(store);
  assert.equal(first.length, 2);
  for (const p of first) {
    assert.match(p.metadata.name, /^pi-[a-z0-9]{5}$/);
    assert.equal(p.spec.nodeName ?? '', '');
    assert.equal(p.metadata.ownerReferences?.[0]?.uid, created.metadata.uid);
    assert.equal(p.metadata.labels['batch.kubernetes.io/controller-uid'], created.metadata.uid);
    assert.equal(p.metadata.labels['job-name'], 'pi');
  }
  assert.deepEqual(job(store, 'pi').spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': created.metadata.uid } });
  assert.equal(job(store, 'pi').status!.startTime, '2026-01-01T00:00:00Z');

  finish(store, first[0]!.metadata.name, 'Succeeded');
  reconcileJob(store, 'default', 'pi', at(5));
  assert.equal(active(store).length, 2, 'a replacement keeps two running');
  assert.equal(pods(store).length, 3, 'the succeeded pod is kept');
  for (const p of active(store)) finish(store, p.metadata.name, 'Succeeded');
  const done = reconcileJob(store, 'default', 'pi', at(10))!;
  assert.equal(done.finished, 'Complete');
  assert.equal(done.status.succeeded, 3);
  assert.equal(done.status.active, 0);
  assert.equal(done.status.completionTime, '2026-01-01T00:00:10Z');
  assert.deepEqual(conditionTypes(store, 'pi'), ['Complete=True/CompletionsReached']);
  reconcileJob(store, 'default', 'pi', at(20));
  assert.equal(pods(store).length, 3, 'a complete Job starts nothing more');
  assert.ok(store.listEvents({ kind: 'Job', name: 'pi' }).some((e) => e.reason === 'Completed'));
  assert.equal(reconcileJob(store, 'default', 'absent', t0), undefined);
});

test('failed pods are retried up to backoffLimit, then the Job fails and stops its pods', (t) => {
  const { store } = tempStore(t);
  createJob(store, 'flaky', 'completions: 2\n  parallelism: 2\n  backoffLimit: 1');
  reconcileJob(store, 'default', 'flaky', t0);
  finish(store, active(store)[0]!.metadata.name, 'Failed');
  const r1 = reconcileJob(store, 'default', 'flaky', at(1))!;
  assert.equal(r1.status.failed, 1);
  assert.equal(r1.finished, undefined);
  assert.equal(active(store).length, 2, 'the failed pod is replaced');
  finish(store, active(store)[0]!.metadata.name, 'Failed');
  const r2 = reconcileJob(store, 'default', 'flaky', at(2))!;
  assert.equal(r2.finished, 'Failed');
  assert.equal(r2.status.failed, 2);
  assert.equal(active(store).length, 0, 'still-running pods are deleted');
  assert.deepEqual(conditionTypes(store, 'flaky'), ['Failed=True/BackoffLimitExceeded']);
  assert.ok(store.listEvents({ kind: 'Job', name: 'flaky' }).some((e) => e.reason === 'BackoffLimitExceeded' && e.type === 'Warning'));
});

test('a work-queue Job (no completions) completes when one pod succeeded and none run', (t) => {
  const { store } = tempStore(t);
  createJob(store, 'queue', 'parallelism: 2');
  reconcileJob(store, 'default', 'queue', t0);
  const [a, b] = active(store);
  finish(store, a!.metadata.name, 'Succeeded');
  const r = reconcileJob(store, 'default', 'queue', at(1))!;
  assert.equal(r.finished, undefined);
  assert.equal(active(store).length, 1, 'no new pod once the queue reported done');
  finish(store, b!.metadata.name, 'Succeeded');
  assert.equal(reconcileJob(store, 'default', 'queue', at(2))!.finished, 'Complete');
});

test('suspend stops pods, activeDeadlineSeconds fails the Job, ttlSecondsAfterFinished deletes it', (t) => {
  const { store } = tempStore(t);
  createJob(store, 'slow', 'completions: 1\n  activeDeadlineSeconds: 30\n  ttlSecondsAfterFinished: 100');
  reconcileJob(store, 'default', 'slow', t0);
  assert.equal(active(store).length, 1);
  store.mutate<Job>('Job', 'default', 'slow', (j) => {
    j.spec.suspend = true;
  });
  reconcileJob(store, 'default', 'slow', at(1));
  assert.equal(active(store).length, 0);
  assert.deepEqual(conditionTypes(store, 'slow'), ['Suspended=True/JobSuspended']);
  store.mutate<Job>('Job', 'default', 'slow', (j) => {
    j.spec.suspend = false;
  });
  reconcileJob(store, 'default', 'slow', at(2));
  assert.equal(active(store).length, 1);
  assert.deepEqual(conditionTypes(store, 'slow'), []);

  const failed = reconcileJob(store, 'default', 'slow', at(31))!;
  assert.equal(failed.finished, 'Failed');
  assert.deepEqual(conditionTypes(store, 'slow'), ['Failed=True/DeadlineExceeded']);
  assert.equal(active(store).length, 0);
  assert.equal(reconcileJob(store, 'default', 'slow', at(100))!.deleted, false);
  assert.equal(reconcileJob(store, 'default', 'slow', at(131))!.deleted, true);
  assert.equal(store.get('Job', 'default', 'slow'), undefined);
  assert.equal(pods(store).length, 0);
});
