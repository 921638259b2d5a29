import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/lib/index.js';
import type { Pod } from '../../../src/api/index.js';
import { parseLabelSelector } from '../../../src/api/index.js';
import { tempStore, pod } from './store-helpers.js';

test('bindPod sets spec.nodeName once; a second bind fails and changes nothing', (t) => {
  const { store } = tempStore(t);
  const created = store.create('Pod', pod('web'));
  const bound = store.bindPod<Pod>('default', 'web', 'node-a', created.metadata.uid);
  assert.equal(bound.spec.nodeName, 'node-a');
  assert.equal(bound.metadata.resourceVersion, '2');
  assert.deepEqual(store.get('Pod', 'default', 'web'), bound);

  assert.throws(
    () => store.bindPod('default', 'web', 'node-b'),
    (e) => isKind(e, 'FailedPrecondition') && /Pod default\/web is already bound to node node-a/.test(String(e)),
  );
  assert.throws(() => store.bindPod('default', 'web', 'node-a'), (e) => isKind(e, 'FailedPrecondition'), 'even to the same node');
  assert.deepEqual(store.get('Pod', 'default', 'web'), bound);
  assert.deepEqual(store.list('Pod', { nodeName: 'node-b' }), []);
});

test('bindPod refuses missing, recreated and terminating pods and bad node names', (t) => {
  const { store } = tempStore(t);
  assert.throws(() => store.bindPod('default', 'nope', 'node-a'), (e) => isKind(e, 'NotFound'));
  store.create('Pod', pod('web'));
  assert.throws(
    () => store.bindPod('default', 'web', 'node-a', 'old-uid'),
    (e) => isKind(e, 'FailedPrecondition') && /not old-uid \(recreated/.test(String(e)),
  );
  assert.throws(() => store.bindPod('default', 'web', 'Node A'), (e) => isKind(e, 'InvalidArgument'));
  store.mutate('Pod', 'default', 'web', (p) => {
    p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  });
  assert.throws(() => store.bindPod('default', 'web', 'node-a'), (e) => isKind(e, 'FailedPrecondition') && /being deleted/.test(String(e)));
  assert.equal(podNode(store.get<Pod>('Pod', 'default', 'web')), undefined);
});

test('spec.nodeName changes only through bindPod', (t) => {
  const { store } = tempStore(t);
  const p = store.create('Pod', pod('web'));
  assert.throws(
    () => store.update('Pod', { ...p, spec: { ...(p.spec as object), nodeName: 'node-a' } }),
    (e) => isKind(e, 'InvalidArgument') && /spec.nodeName cannot be changed by an update/.test(String(e)),
  );
  const bound = store.bindPod<Pod>('default', 'web', 'node-a');
  assert.throws(() => store.update('Pod', { ...bound, spec: { ...bound.spec, nodeName: 'node-b' } }), (e) => isKind(e, 'InvalidArgument'));
  // Other changes to a bound pod keep it bound (and listed on its node).
  store.update('Pod', { ...bound, status: { phase: 'Running' } });
  assert.deepEqual(store.list('Pod', { nodeName: 'node-a' }).map((x) => x.metadata.name), ['web']);
  // A pod created already bound (as for DaemonSets) is listed on its node.
  store.create('Pod', { ...pod('ds-1'), spec: { containers: [], nodeName: 'node-b' } });
  assert.deepEqual(store.list('Pod', { nodeName: 'node-b' }).map((x) => x.metadata.name), ['ds-1']);
});

test('list filters by namespace, labels, node, owner; sorted by namespace then name', (t) => {
  const { store } = tempStore(t);
  store.create('Pod', pod('b', 'default', { app: 'web', 'app.kubernetes.io/part-of': 'shop' }));
  store.create('Pod', pod('a', 'default', { app: 'web' }));
  store.create('Pod', pod('c', 'prod', { app: 'web', 'app.kubernetes.io/part-of': 'shop' }));
  store.create('Pod', { metadata: { name: 'owned', namespace: 'prod', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true }] } });
  store.create('Node', { metadata: { name: 'node-a', labels: { zone: 'z1' } } });
  store.bindPod('default', 'b', 'node-a');
  store.bindPod('prod', 'c', 'node-a');

  const names = (xs: { metadata: { namespace: string; name: string } }[]) => xs.map((x) => `${x.metadata.namespace}/${x.metadata.name}`);
  assert.deepEqual(names(store.list('Pod')), ['default/a', 'default/b', 'prod/c', 'prod/owned']);
  assert.deepEqual(names(store.list('Pod', { namespace: 'prod' })), ['prod/c', 'prod/owned']);
  assert.deepEqual(names(store.list('Pod', { labelSelector: parseLabelSelector('app=web') })), ['default/a', 'default/b', 'prod/c']);
  assert.deepEqual(names(store.list('Pod', { labelSelector: parseLabelSelector('app=web,app.kubernetes.io/part-of=shop') })), ['default/b', 'prod/c']);
  assert.deepEqual(names(store.list('Pod', { labelSelector: parseLabelSelector('app=db') })), []);
  assert.deepEqual(names(store.list('Pod', { labelSelector: parseLabelSelector('app!=web') })), ['prod/owned'], 'an absent key is not equal');
  assert.deepEqual(names(store.list('Pod', { nodeName: 'node-a' })), ['default/b', 'prod/c']);
  assert.deepEqual(names(store.list('Pod', { nodeName: '' })), ['default/a', 'prod/owned'], "'' lists unbound pods");
  assert.deepEqual(names(store.list('Pod', { nodeName: 'node-a', namespace: 'default' })), ['default/b']);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-uid' })), ['prod/owned']);
  assert.deepEqual(names(store.list('Node', { labelSelector: parseLabelSelector('zone=z1') })), ['/node-a']);
  assert.throws(() => store.list('Node', { nodeName: 'node-a' }), (e) => isKind(e, 'InvalidArgument') && /Pods only/.test(String(e)));
  assert.throws(() => store.list('Node', { namespace: 'default' }), (e) => isKind(e, 'InvalidArgument'));
});

function podNode(p: Pod | undefined): string | undefined {
  return p?.spec.nodeName;
}
