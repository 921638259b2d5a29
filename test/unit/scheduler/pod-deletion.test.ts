import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePod, confirmPodTerminated, collectOrphanedTerminatingPods } from '../../../src/scheduler/controllers/index.js';
import type { Pod } from '../../../src/api/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');

function addPod(store: Store, name: string, o: { node?: string; grace?: number; phase?: string } = {}): Pod & StoredObject {
  return store.create('Pod', {
    metadata: { name, namespace: 'default' },
    spec: { ...(o.node ? { nodeName: o.node } : {}), ...(o.grace === undefined ? {} : { terminationGracePeriodSeconds: o.grace }), containers: [{ name: 'c', image: 'busybox' }] },
    ...(o.phase ? { status: { phase: o.phase, conditions: [], containerStatuses: [], initContainerStatuses: [] } } : {}),
  }) as unknown as Pod & StoredObject;
}

test('a pod on an existing node is marked Terminating with its grace period; others go at once', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'node-a' }, spec: {}, status: {} });
  addPod(store, 'running', { node: 'node-a', grace: 20 });
  addPod(store, 'default-grace', { node: 'node-a' });
  addPod(store, 'unbound');
  addPod(store, 'done', { node: 'node-a', phase: 'Succeeded' });
  addPod(store, 'nodeless', { node: 'gone' });
  addPod(store, 'forced', { node: 'node-a' });

  const r = deletePod(store, 'default', 'running', t0)!;
  assert.equal(r.removed, false);
  assert.equal(r.pod.metadata.deletionGracePeriodSeconds, 20);
  assert.equal(r.pod.metadata.deletionTimestamp, '2026-01-01T00:00:20Z', 'now + grace, as the API server sets it');
  assert.equal(deletePod(store, 'default', 'default-grace', t0)!.gracePeriodSeconds, 30);
  for (const name of ['unbound', 'done', 'nodeless']) {
    assert.equal(deletePod(store, 'default', name, t0)!.removed, true, name);
    assert.equal(store.get('Pod', 'default', name), undefined, name);
  }
  assert.equal(deletePod(store, 'default', 'forced', t0, 0)!.removed, true);
  assert.equal(deletePod(store, 'default', 'nothing', t0), undefined);

  // A second delete shortens the grace period, never lengthens it.
  assert.equal(deletePod(store, 'default', 'running', t0, 60)!.gracePeriodSeconds, 20);
  assert.equal(deletePod(store, 'default', 'running', t0, 5)!.pod.metadata.deletionTimestamp, '2026-01-01T00:00:05Z');

  // An update (an apply of the old manifest, a status report) cannot undo the deletion.
  store.mutate<Pod>('Pod', 'default', 'running', (p) => {
    delete (p.metadata as { deletionTimestamp?: string }).deletionTimestamp;
    p.metadata.labels = { touched: 'yes' };
  });
  const still = store.get<Pod>('Pod', 'default', 'running')!;
  assert.equal(still.metadata.deletionTimestamp, '2026-01-01T00:00:05Z');
  assert.equal(still.metadata.labels.touched, 'yes');
});

test('only the pod\'s own node confirms its termination, and only of a terminating pod', (t) => {
  const { store } = tempStore(t);
  for (const n of ['node-a', 'node-b']) store.create('Node', { metadata: { name: n }, spec: {}, status: {} });
  const p = addPod(store, 'p', { node: 'node-a' });
  const live = addPod(store, 'live', { node: 'node-a' });
  deletePod(store, 'default', 'p', t0);
  assert.equal(confirmPodTerminated(store, 'node-b', p.metadata.uid), undefined, 'another node cannot remove it');
  assert.equal(confirmPodTerminated(store, 'node-a', live.metadata.uid), undefined, 'a pod not being deleted stays');
  assert.equal(confirmPodTerminated(store, 'node-a', p.metadata.uid)?.metadata.name, 'p');
  assert.equal(store.get('Pod', 'default', 'p'), undefined);
  assert.ok(store.get('Pod', 'default', 'live'));
});

test('terminating pods of a node that was deleted are removed (nobody can confirm them)', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'node-a' }, spec: {}, status: {} });
  addPod(store, 'p', { node: 'node-a' });
  addPod(store, 'q', { node: 'node-a' });
  deletePod(store, 'default', 'p', t0);
  assert.deepEqual(collectOrphanedTerminatingPods(store, new Set(['node-a']), t0), []);
  store.delete('Node', '', 'node-a');
  assert.deepEqual(collectOrphanedTerminatingPods(store, new Set(), t0), ['default/p']);
  assert.ok(store.get('Pod', 'default', 'q'), 'a pod not being deleted is left to its controller');
});

test('a grace period too large for a date is capped, not thrown (one pod must not stop every pass)', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'node-a' }, spec: {}, status: {} });
  addPod(store, 'forever', { node: 'node-a' });
  const r = deletePod(store, 'default', 'forever', t0, Number.MAX_SAFE_INTEGER)!;
  assert.equal(r.removed, false);
  assert.equal(r.gracePeriodSeconds, 9223372036, 'the largest grace period accepted anywhere');
  assert.equal(r.pod.metadata.deletionGracePeriodSeconds, 9223372036);
  assert.equal(r.pod.metadata.deletionTimestamp, '2318-04-12T23:47:16Z');
  // Even at a clock near the end of what RFC 3339 can say, the date stays one it can say.
  addPod(store, 'late', { node: 'node-a' });
  assert.equal(deletePod(store, 'default', 'late', new Date('9990-01-01T00:00:00Z'), 9223372036)!.pod.metadata.deletionTimestamp, '9999-12-31T23:59:59Z');
});
