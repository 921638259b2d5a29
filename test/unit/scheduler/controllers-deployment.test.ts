import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/lib/index.js';
import type { Deployment } from '../../../src/api/index.js';
import {
  reconcileDeployment,
  rolloutUndo,
  isPodReady,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  type StoredReplicaSet,
} from '../../../src/scheduler/controllers/index.js';
import type { StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment, pods, readyImages, runAll, setImage } from './controllers-helpers.js';

const now = new Date('2026-01-01T00:10:00Z');

function replicaSets(store: import('../../../src/scheduler/store/index.js').Store): StoredReplicaSet[] {
  return store.list<StoredReplicaSet>('ReplicaSet', { namespace: 'default' });
}

function deployment(store: import('../../../src/scheduler/store/index.js').Store, name: string): Deployment & StoredObject {
  return store.get<Deployment & StoredObject>('Deployment', 'default', name)!;
}

test('a new deployment gets a revision-1 ReplicaSet and unbound pods named after it', (t) => {
  const { store } = tempStore(t);
  const d = createDeployment(store, 'web', { replicas: 3 });
  const r = reconcileDeployment(store, 'default', 'web', now)!;
  const [rs] = replicaSets(store);
  assert.ok(rs);
  assert.equal(replicaSets(store).length, 1);
  assert.equal(r.newReplicaSet, rs.metadata.name);
  assert.match(rs.metadata.name, /^web-[a-z0-9]{10}$/);
  assert.equal(rs.metadata.annotations[REVISION_ANNOTATION], '1');
  assert.deepEqual(rs.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true }]);
  assert.equal(rs.spec.replicas, 3);
  const ps = pods(store);
  assert.equal(ps.length, 3);
  for (const p of ps) {
    assert.match(p.metadata.name, new RegExp(`^${rs.metadata.name}-[a-z0-9]{5}$`));
    assert.equal(p.spec.nodeName ?? '', '', 'pods are created unbound');
    assert.equal(p.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid);
    assert.equal(p.metadata.labels[POD_TEMPLATE_HASH_LABEL], rs.metadata.name.slice('web-'.length));
    assert.equal(p.metadata.labels.app, 'web');
  }
  const st = deployment(store, 'web').status!;
  assert.equal(st.replicas, 3);
  assert.equal(st.updatedReplicas, 3);
  assert.equal(st.readyReplicas, 0);
  assert.equal(st.observedGeneration, 1);
  assert.equal(st.conditions.find((c) => c.type === 'Available')?.status, 'False');

  runAll(store);
  const done = reconcileDeployment(store, 'default', 'web', now)!;
  assert.equal(done.complete, true);
  const st2 = deployment(store, 'web').status!;
  assert.equal(st2.readyReplicas, 3);
  assert.equal(st2.availableReplicas, 3);
  assert.deepEqual(
    st2.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ],
  );
  const reasons = store.listEvents({ kind: 'Deployment', name: 'web' }).map((e) => e.reason);
  assert.ok(reasons.includes('ScalingReplicaSet'));
  assert.equal(reconcileDeployment(store, 'default', 'missing', now), undefined);
});

test('scaling 2 → 6 → 2 creates and deletes pods of the same ReplicaSet', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 2 });
  reconcileDeployment(store, 'default', 'web', now);
  runAll(store);
  const firstTwo = pods(store).map((p) => p.metadata.name);
  store.mutate<Deployment>('Deployment', 'default', 'web', (d) => {
    d.spec.replicas = 6;
  });
  reconcileDeployment(store, 'default', 'web', now);
  assert.equal(pods(store).length, 6);
  assert.equal(replicaSets(store).length, 1);
  assert.equal(replicaSets(store)[0]!.spec.replicas, 6);
  runAll(store);
  reconcileDeployment(store, 'default', 'web', now);
  assert.equal(deployment(store, 'web').status!.availableReplicas, 6);

  // Make two of the new pods unready: a scale-down removes those before ready ones.
  const extra = pods(store).filter((p) => !firstTwo.includes(p.metadata.name));
  store.mutate<StoredObject>('Pod', 'default', extra[0]!.metadata.name, (p) => {
    p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], initContainerStatuses: [], containerStatuses: [] };
  });
  store.mutate<Deployment>('Deployment', 'default', 'web', (d) => {
    d.spec.replicas = 2;
  });
  const r = reconcileDeployment(store, 'default', 'web', now)!;
  const left = pods(store);
  assert.equal(left.length, 2);
  assert.ok(left.every(isPodReady), 'the unready pod went first');
  assert.equal(r.status.replicas, 2);
  assert.equal(r.complete, true);
  const messages = store.listEvents({ kind: 'Deployment', name: 'web' }).map((e) => e.message);
  assert.ok(messages.some((m) => /Scaled up replica set web-\w+ from 2 to 6/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /Scaled down replica set web-\w+ from 6 to 2/.test(m)), messages.join('\n'));
});

/** Reconciles and lets agents run pods until the rollout completes, checking availability at every step. */
function rollOut(store: import('../../../src/scheduler/store/index.js').Store, name: string, minReady: number, maxPods: number): number {
  for (let step = 1; step <= 50; step++) {
    const r = reconcileDeployment(store, 'default', name, now)!;
    const ready = pods(store).filter(isPodReady).length;
    assert.ok(ready >= minReady, `step ${step}: ${ready} ready pods, fewer than ${minReady}`);
    assert.ok(pods(store).length <= maxPods, `step ${step}: ${pods(store).length} pods, more than ${maxPods}`);
    if (r.complete) return step;
    // Agents start only one pod per step, so the controller sees partial progress.
    const pending = pods(store).find((p) => !isPodReady(p));
    if (pending) {
      if (!pending.spec.nodeName) store.bindPod('default', pending.metadata.name, 'node-a');
      store.mutate<StoredObject>('Pod', 'default', pending.metadata.name, (p) => {
        p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], initContainerStatuses: [], containerStatuses: [] };
      });
    }
  }
  assert.fail('rollout did not complete in 50 steps');
}

test('an image change rolls pods, never dropping below replicas − maxUnavailable ready', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 4, strategy: '{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}' });
  reconcileDeployment(store, 'default', 'web', now);
  runAll(store);
  reconcileDeployment(store, 'default', 'web', now);
  assert.deepEqual(readyImages(store), ['busybox:1', 'busybox:1', 'busybox:1', 'busybox:1']);

  setImage(store, 'web', 'busybox:2');
  const steps = rollOut(store, 'web', 3, 5);
  assert.ok(steps > 2, 'the roll took several steps');
  assert.deepEqual(readyImages(store), ['busybox:2', 'busybox:2', 'busybox:2', 'busybox:2']);
  const rss = replicaSets(store);
  assert.equal(rss.length, 2);
  const byRev = Object.fromEntries(rss.map((rs) => [rs.metadata.annotations[REVISION_ANNOTATION], rs]));
  assert.equal(byRev['1']!.spec.replicas, 0);
  assert.equal(byRev['2']!.spec.replicas, 4);
  assert.equal(byRev['2']!.spec.template.spec.containers[0]!.image, 'busybox:2');
  const d = deployment(store, 'web');
  assert.equal(d.status!.updatedReplicas, 4);
  assert.equal(d.status!.observedGeneration, 2);
  assert.equal(d.metadata.annotations[REVISION_ANNOTATION], '2');
});

test('maxUnavailable 0 surges first and keeps every replica ready', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 3, strategy: '{type: RollingUpdate, rollingUpdate: {maxSurge: "34%", maxUnavailable: 0}}' });
  reconcileDeployment(store, 'default', 'web', now);
  runAll(store);
  reconcileDeployment(store, 'default', 'web', now);
  setImage(store, 'web', 'busybox:2');
  rollOut(store, 'web', 3, 5);
  assert.deepEqual(readyImages(store), ['busybox:2', 'busybox:2', 'busybox:2']);
});

test('Recreate removes every old pod before starting new ones', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 3, strategy: '{type: Recreate}' });
  reconcileDeployment(store, 'default', 'web', now);
  runAll(store);
  reconcileDeployment(store, 'default', 'web', now);
  setImage(store, 'web', 'busybox:2');
  reconcileDeployment(store, 'default', 'web', now);
  assert.equal(pods(store).length, 0, 'old pods are gone and no new ones yet');
  reconcileDeployment(store, 'default', 'web', now);
  assert.deepEqual(
    pods(store).map((p) => p.spec.containers[0]!.image),
    ['busybox:2', 'busybox:2', 'busybox:2'],
  );
});

test('rolloutUndo returns to the previous template and reuses its ReplicaSet', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 2, strategy: '{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}' });
  rollOut(store, 'web', 0, 3);
  const rev1 = replicaSets(store)[0]!.metadata.name;
  setImage(store, 'web', 'busybox:2');
  rollOut(store, 'web', 2, 3);
  assert.deepEqual(readyImages(store), ['busybox:2', 'busybox:2']);

  rolloutUndo(store, 'default', 'web');
  assert.equal(deployment(store, 'web').spec.template.spec.containers[0]!.image, 'busybox:1');
  assert.equal(deployment(store, 'web').spec.template.metadata.labels[POD_TEMPLATE_HASH_LABEL], undefined);
  rollOut(store, 'web', 2, 3);
  assert.deepEqual(readyImages(store), ['busybox:1', 'busybox:1']);
  const rss = replicaSets(store);
  assert.equal(rss.length, 2, 'no third ReplicaSet: the old revision is reused');
  const back = rss.find((rs) => rs.metadata.name === rev1)!;
  assert.equal(back.metadata.annotations[REVISION_ANNOTATION], '3', 'the reused revision becomes the newest');
  assert.ok(pods(store).every((p) => p.metadata.name.startsWith(`${rev1}-`)));
  assert.ok(store.listEvents({ kind: 'Deployment', name: 'web' }).some((e) => e.reason === 'DeploymentRollback'));

  // An explicit revision, and the errors.
  rolloutUndo(store, 'default', 'web', 2);
  assert.equal(deployment(store, 'web').spec.template.spec.containers[0]!.image, 'busybox:2');
  assert.throws(() => rolloutUndo(store, 'default', 'web', 9), (e) => isKind(e, 'NotFound') && /no revision 9/.test(String(e)));
  assert.throws(() => rolloutUndo(store, 'default', 'nope'), (e) => isKind(e, 'NotFound'));
});

test('old revisions beyond revisionHistoryLimit are deleted, oldest first', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 1, extraSpec: 'revisionHistoryLimit: 2' });
  rollOut(store, 'web', 0, 2);
  for (const v of ['2', '3', '4', '5']) {
    setImage(store, 'web', `busybox:${v}`);
    rollOut(store, 'web', 0, 2);
  }
  const revs = replicaSets(store)
    .map((rs) => Number(rs.metadata.annotations[REVISION_ANNOTATION]))
    .sort();
  assert.deepEqual(revs, [3, 4, 5]);
});

test('a stalled rollout reports ProgressDeadlineExceeded after progressDeadlineSeconds', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 1, extraSpec: 'progressDeadlineSeconds: 60' });
  reconcileDeployment(store, 'default', 'web', now);
  reconcileDeployment(store, 'default', 'web', new Date(now.getTime() + 30_000));
  const progressing = () => deployment(store, 'web').status!.conditions.find((c) => c.type === 'Progressing')!;
  assert.equal(progressing().status, 'True');
  reconcileDeployment(store, 'default', 'web', new Date(now.getTime() + 61_000));
  assert.equal(progressing().status, 'False');
  assert.equal(progressing().reason, 'ProgressDeadlineExceeded');
  assert.ok(store.listEvents({ kind: 'Deployment', name: 'web' }).some((e) => e.reason === 'ProgressDeadlineExceeded' && e.type === 'Warning'));
});

test('deleting a deployment removes its ReplicaSets and pods on the next reconcile', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 2 });
  createDeployment(store, 'other', { replicas: 1 });
  reconcileDeployment(store, 'default', 'web', now);
  reconcileDeployment(store, 'default', 'other', now);
  store.delete('Deployment', 'default', 'web');
  assert.equal(reconcileDeployment(store, 'default', 'web', now), undefined);
  assert.deepEqual(replicaSets(store).map((rs) => rs.metadata.name.split('-')[0]), ['other']);
  assert.equal(pods(store).length, 1);
});

test('each revision keeps the change-cause the Deployment had, and a reused revision its earlier numbers', (t) => {
  const { store } = tempStore(t);
  createDeployment(store, 'web', { replicas: 1 });
  const annotate = (cause: string) =>
    store.mutate<Deployment>('Deployment', 'default', 'web', (d) => {
      d.metadata.annotations = { ...d.metadata.annotations, 'kubernetes.io/change-cause': cause, 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    });
  annotate('first');
  rollOut(store, 'web', 0, 3);
  setImage(store, 'web', 'busybox:2');
  annotate('second');
  rollOut(store, 'web', 0, 3);
  const byRevision = () => Object.fromEntries(replicaSets(store).map((rs) => [rs.metadata.annotations[REVISION_ANNOTATION], rs.metadata.annotations]));
  assert.deepEqual(byRevision(), {
    '1': { [REVISION_ANNOTATION]: '1', 'kubernetes.io/change-cause': 'first' },
    '2': { [REVISION_ANNOTATION]: '2', 'kubernetes.io/change-cause': 'second' },
  });
  rolloutUndo(store, 'default', 'web');
  rollOut(store, 'web', 0, 3);
  // The Deployment gets revision 1's change-cause back (as kubectl rollout undo's patch does), revision 3 carries it.
  assert.equal(deployment(store, 'web').metadata.annotations['kubernetes.io/change-cause'], 'first');
  assert.deepEqual(byRevision()['3'], { [REVISION_ANNOTATION]: '3', [REVISION_HISTORY_ANNOTATION]: '1', 'kubernetes.io/change-cause': 'first' });
});
