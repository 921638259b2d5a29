import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/lib/index.js';
import { tempStore, pod, deployment } from './store-helpers.js';

const fixedNow = () => new Date('2026-01-02T03:04:05.678Z');

test('create fills in metadata and get returns the stored object', (t) => {
  const { store } = tempStore(t, { now: fixedNow });
  const created = store.create('Pod', pod('web', 'default', { app: 'web' }));
  assert.equal(created.apiVersion, 'v1');
  assert.equal(created.kind, 'Pod');
  assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.equal(created.metadata.creationTimestamp, '2026-01-02T03:04:05Z');
  assert.equal(created.metadata.generation, 1);
  assert.equal(created.metadata.resourceVersion, '1');
  assert.deepEqual(created.metadata.annotations, {});
  assert.deepEqual(store.get('Pod', 'default', 'web'), created);
  assert.equal(store.get('Pod', 'other', 'web'), undefined);

  const node = store.create('Node', { metadata: { name: 'node-a', uid: '../../../..' } });
  assert.equal(node.metadata.namespace, '');
  assert.match(node.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a given uid is ignored: the store makes a UUID');
  assert.equal(node.metadata.resourceVersion, '2', 'resourceVersion is one counter across kinds');
  const d = store.create('Deployment', deployment('web'));
  assert.equal(d.apiVersion, 'apps/v1');
});

test('create refuses a taken name with AlreadyExists; a copied uid is replaced by a fresh one', (t) => {
  const { store } = tempStore(t);
  const first = store.create('Pod', pod('web'));
  assert.throws(() => store.create('Pod', pod('web')), (e) => isKind(e, 'AlreadyExists') && /Pod default\/web already exists/.test(String(e)));
  const sameUid = pod('other');
  (sameUid.metadata as { uid?: string }).uid = first.metadata.uid;
  assert.notEqual(store.create('Pod', sameUid).metadata.uid, first.metadata.uid);
  store.delete('Pod', 'default', 'other');
  // The same name in another namespace or of another kind is a different object.
  store.create('Pod', pod('web', 'prod'));
  store.create('Deployment', deployment('web'));
  assert.equal(store.list('Pod').length, 2);
});

test('generateName makes a unique name from the prefix', (t) => {
  const { store } = tempStore(t);
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const p = store.create('Pod', { metadata: { generateName: 'web-7d9f-', namespace: 'default' } });
    assert.match(p.metadata.name, /^web-7d9f-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    names.add(p.metadata.name);
  }
  assert.equal(names.size, 20);
});

test('update bumps resourceVersion, keeps uid and creationTimestamp, counts spec generations', (t) => {
  const { store } = tempStore(t);
  const d = store.create('Deployment', deployment('web', 1));
  const labelled = store.update('Deployment', { ...d, metadata: { ...d.metadata, labels: { app: 'web', tier: 'x' }, uid: undefined, creationTimestamp: 'bogus' } });
  assert.equal(labelled.metadata.resourceVersion, '2');
  assert.equal(labelled.metadata.generation, 1, 'metadata changes do not bump generation');
  assert.equal(labelled.metadata.uid, d.metadata.uid);
  assert.equal(labelled.metadata.creationTimestamp, d.metadata.creationTimestamp);
  // Same spec with keys in another order: still generation 1.
  const reordered = store.update('Deployment', { ...labelled, spec: { selector: { matchLabels: { app: 'web' } }, replicas: 1 }, status: { replicas: 0 } });
  assert.equal(reordered.metadata.generation, 1);
  const scaled = store.update('Deployment', { ...reordered, spec: { ...reordered.spec as object, replicas: 3 } });
  assert.equal(scaled.metadata.generation, 2);
  assert.deepEqual(store.get('Deployment', 'default', 'web'), scaled);
});

test('update with a stale resourceVersion fails with FailedPrecondition and changes nothing', (t) => {
  const { store } = tempStore(t);
  const v1 = store.create('Deployment', deployment('web', 1));
  const v2 = store.update('Deployment', { ...v1, spec: { replicas: 2 } });
  // The stale copy carries resourceVersion 1 in its metadata.
  assert.throws(
    () => store.update('Deployment', { ...v1, spec: { replicas: 5 } }),
    (e) => isKind(e, 'FailedPrecondition') && /Deployment default\/web has been modified \(resourceVersion 2, expected 1\)/.test(String(e)),
  );
  // An explicit expectation wins over the object's own.
  assert.throws(() => store.update('Deployment', { ...v2, spec: { replicas: 5 } }, '1'), (e) => isKind(e, 'FailedPrecondition'));
  assert.deepEqual(store.get('Deployment', 'default', 'web'), v2);
  // Without any resourceVersion the update is unconditional.
  const { resourceVersion: _rv, ...meta } = v1.metadata;
  assert.equal(store.update('Deployment', { ...v1, metadata: meta, spec: { replicas: 7 } }).metadata.resourceVersion, '3');
  assert.throws(() => store.update('Deployment', { ...v1, metadata: { ...meta, uid: 'someone-else' } }), (e) => isKind(e, 'FailedPrecondition'));
  assert.throws(() => store.update('Deployment', deployment('missing')), (e) => isKind(e, 'NotFound'));
});

test('an update that changes nothing writes nothing', (t) => {
  const { store } = tempStore(t);
  const v1 = store.create('Pod', pod('web'));
  const changes: string[] = [];
  store.watch((c) => changes.push(c.type));
  const same = store.update('Pod', structuredClone(v1));
  assert.equal(same.metadata.resourceVersion, '1');
  assert.equal(store.resourceVersion(), '1');
  assert.deepEqual(changes, []);
});

test('mutate reads, changes and writes in one step', (t) => {
  const { store } = tempStore(t);
  store.create('Pod', pod('web'));
  const updated = store.mutate('Pod', 'default', 'web', (p) => {
    p.status = { phase: 'Running' };
  });
  assert.deepEqual(updated.status, { phase: 'Running' });
  assert.equal(updated.metadata.resourceVersion, '2');
  assert.throws(() => store.mutate('Pod', 'default', 'nope', () => {}), (e) => isKind(e, 'NotFound'));
});

test('delete returns the object with the deletion resourceVersion, or undefined', (t) => {
  const { store } = tempStore(t);
  const v1 = store.create('Pod', pod('web'));
  store.create('Pod', pod('db'));
  assert.throws(() => store.delete('Pod', 'default', 'web', '7'), (e) => isKind(e, 'FailedPrecondition'));
  const gone = store.delete('Pod', 'default', 'web', v1.metadata.resourceVersion);
  assert.equal(gone?.metadata.uid, v1.metadata.uid);
  assert.equal(gone?.metadata.resourceVersion, '3');
  assert.equal(store.get('Pod', 'default', 'web'), undefined);
  assert.equal(store.delete('Pod', 'default', 'web'), undefined);
  assert.deepEqual(store.list('Pod').map((p) => p.metadata.name), ['db']);
  // The name (and a new uid) can be used again; resourceVersions never go back.
  assert.equal(store.create('Pod', pod('web')).metadata.resourceVersion, '4');
});

test('transaction commits all writes or none', (t) => {
  const { store } = tempStore(t);
  assert.throws(
    () =>
      store.transaction(() => {
        store.create('Pod', pod('a'));
        store.create('Pod', pod('a'));
      }),
    (e) => isKind(e, 'AlreadyExists'),
  );
  assert.equal(store.get('Pod', 'default', 'a'), undefined);
  assert.equal(store.resourceVersion(), '0');
  const n = store.transaction(() => {
    store.create('Pod', pod('a'));
    store.create('Pod', pod('b'));
    return store.list('Pod').length;
  });
  assert.equal(n, 2);
  assert.equal(store.resourceVersion(), '2');
});

test('meta settings round-trip; the store keeps its own keys', (t) => {
  const { store } = tempStore(t);
  assert.equal(store.getMeta('bootstrap_token_hash'), undefined);
  store.setMeta('bootstrap_token_hash', 'sha256:abc');
  assert.equal(store.getMeta('bootstrap_token_hash'), 'sha256:abc');
  store.setMeta('bootstrap_token_hash', undefined);
  assert.equal(store.getMeta('bootstrap_token_hash'), undefined);
  assert.throws(() => store.setMeta('resource_version', '99'), (e) => isKind(e, 'InvalidArgument'));
  assert.throws(() => store.setMeta('schema_version', '99'), (e) => isKind(e, 'InvalidArgument'));
  assert.equal(store.getMeta('schema_version'), '2');
});
