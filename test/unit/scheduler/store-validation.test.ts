import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKind } from '../../../src/lib/index.js';
import { Store, type StoreKind } from '../../../src/scheduler/store/index.js';
import { tempStore, tempDir, pod } from './store-helpers.js';

const invalid = (pattern: RegExp) => (e: unknown) => isKind(e, 'InvalidArgument') && pattern.test(String(e));

test('unknown kinds are refused everywhere with the list of known ones', (t) => {
  const { store } = tempStore(t);
  const bad = 'ConfigMap' as StoreKind;
  const msg = /unknown kind "ConfigMap": the store holds Pod, Node, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job/;
  assert.throws(() => store.create(bad, pod('a')), invalid(msg));
  assert.throws(() => store.get(bad, 'default', 'a'), invalid(msg));
  assert.throws(() => store.list(bad), invalid(msg));
  assert.throws(() => store.delete(bad, 'default', 'a'), invalid(msg));
});

test('names and namespaces are checked against the kind scope', (t) => {
  const { store } = tempStore(t);
  assert.throws(() => store.create('Pod', pod('Web_1')), invalid(/Pod "Web_1": invalid metadata.name: a lowercase RFC 1123 subdomain/));
  assert.throws(() => store.create('Pod', { metadata: { namespace: 'default' } }), invalid(/metadata.name or metadata.generateName is required/));
  assert.throws(() => store.create('Pod', pod('a', '')), invalid(/Pod is namespaced: namespace must not be empty/));
  assert.throws(() => store.create('Pod', pod('a', 'has.dot')), invalid(/invalid namespace "has.dot"/));
  assert.throws(() => store.create('Node', { metadata: { name: 'n1', namespace: 'default' } }), invalid(/Node is cluster-scoped/));
  assert.throws(() => store.get('Node', 'default', 'n1'), invalid(/Node is cluster-scoped/));
  assert.throws(() => store.create('Pod', { ...pod('a'), kind: 'Node' }), invalid(/kind field is "Node", expected "Pod"/));
  assert.throws(() => store.create('Pod', null as never), invalid(/needs metadata/));
  assert.equal(store.list('Pod').length + store.list('Node').length, 0);
});

test('labels, annotations and ownerReferences are checked', (t) => {
  const { store } = tempStore(t);
  assert.throws(() => store.create('Pod', pod('a', 'default', { 'bad key': 'x' })), invalid(/metadata.labels: invalid key "bad key"/));
  assert.throws(() => store.create('Pod', pod('a', 'default', { app: 'no spaces' })), invalid(/metadata.labels\["app"\]: invalid value/));
  assert.throws(
    () => store.create('Pod', { metadata: { name: 'a', namespace: 'default', annotations: { note: 5 as unknown as string } } }),
    invalid(/metadata.annotations\["note"\] must be a string/),
  );
  const owner = (controller: boolean) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller });
  assert.throws(
    () => store.create('Pod', { metadata: { name: 'a', namespace: 'default', ownerReferences: [owner(true), { ...owner(true), uid: 'u2' }] } }),
    invalid(/only one ownerReference may have controller: true/),
  );
  assert.throws(
    () => store.create('Pod', { metadata: { name: 'a', namespace: 'default', ownerReferences: [{ ...owner(false), uid: '' }] } }),
    invalid(/ownerReferences\[0\].uid must be a non-empty string/),
  );
  assert.throws(() => store.create('Pod', { ...pod('a'), spec: { nodeName: 'Bad Node' } }), invalid(/invalid node name "Bad Node"/));
});

test('objects over 1.5 MiB are refused', (t) => {
  const { store } = tempStore(t);
  const big = { metadata: { name: 'big', namespace: 'default', annotations: { blob: 'x'.repeat(1.6 * 1024 * 1024) } } };
  assert.throws(() => store.create('Pod', big), invalid(/Pod default\/big is too large/));
  assert.equal(store.resourceVersion(), '0');
});

test('a transaction function returning a promise is refused and rolled back', async (t) => {
  const { store } = tempStore(t);
  assert.throws(
    () =>
      store.transaction(async () => {
        store.create('Pod', pod('a'));
      }),
    invalid(/must be synchronous/),
  );
  assert.equal(store.get('Pod', 'default', 'a'), undefined);
});

test('a closed store says so', (t) => {
  const { store } = tempStore(t);
  store.close();
  assert.throws(() => store.list('Pod'), (e) => isKind(e, 'Unavailable') && /is closed/.test(String(e)));
  assert.throws(() => store.create('Pod', pod('a')), (e) => isKind(e, 'Unavailable'));
});

test('an unopenable path fails with the path in the message', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => Store.open(join(dir, 'file', 'scheduler.db')), (e) => isKind(e, 'Internal') && /opening store .*file\/scheduler.db/.test(String(e)));
  assert.throws(() => Store.open(join(dir, 'x.db'), { eventLimit: 0 }), invalid(/eventLimit must be a positive integer/));
});
