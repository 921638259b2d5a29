import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, type StoredObject } from '../../../src/scheduler/store/index.js';
import { MIGRATIONS } from '../../../src/scheduler/store/schema.js';
import { jsonEqual } from '../../../src/scheduler/store/validate.js';
import { tempDir, tempStore, pod } from './store-helpers.js';

const names = (objs: StoredObject[]) => objs.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
const owner = (uid: string, name = uid) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid, controller: true });

function ownedPod(name: string, namespace: string, ...uids: string[]) {
  const p = pod(name, namespace);
  return { ...p, metadata: { ...p.metadata, ownerReferences: uids.map((u, i) => ({ ...owner(u), controller: i === 0 })) } };
}

test('objects owned by a uid are listed in namespace/name order, through creates, updates and deletes', (t) => {
  const { store } = tempStore(t);
  store.create('Pod', ownedPod('b', 'prod', 'rs-1'));
  store.create('Pod', ownedPod('a', 'prod', 'rs-1', 'rs-2'));
  store.create('Pod', ownedPod('z', 'default', 'rs-1'));
  store.create('Pod', ownedPod('c', 'default', 'rs-2'));
  store.create('Pod', pod('free'));
  store.create('ReplicaSet', { metadata: { name: 'same-owner', namespace: 'prod', ownerReferences: [owner('rs-1')] }, spec: {} });

  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1' })), ['default/z', 'prod/a', 'prod/b']);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/c', 'prod/a'], 'any ownerReference counts, not only the controller');
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1', namespace: 'prod' })), ['prod/a', 'prod/b']);
  assert.deepEqual(names(store.list('ReplicaSet', { ownerUid: 'rs-1' })), ['prod/same-owner'], 'only the asked kind');
  assert.deepEqual(store.list('Pod', { ownerUid: 'nobody' }), []);

  store.bindPod('prod', 'b', 'node-a');
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1', nodeName: 'node-a' })), ['prod/b']);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1', nodeName: '' })), ['default/z', 'prod/a']);

  // Adopted by another owner, orphaned, then deleted: each change shows at once.
  store.mutate('Pod', 'default', 'z', (p) => {
    p.metadata.ownerReferences = [owner('rs-2')];
  });
  store.mutate('Pod', 'prod', 'a', (p) => {
    delete p.metadata.ownerReferences;
  });
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1' })), ['prod/b']);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/c', 'default/z']);
  store.delete('Pod', 'default', 'c');
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/z']);

  // A name reused after a delete does not inherit the old object's owners.
  store.create('Pod', pod('c'));
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/z']);
});

test('a failed transaction leaves no owner entries behind', (t) => {
  const { store } = tempStore(t);
  assert.throws(() =>
    store.transaction(() => {
      store.create('Pod', ownedPod('a', 'default', 'rs-1'));
      throw new Error('changed my mind');
    }),
  );
  assert.deepEqual(store.list('Pod', { ownerUid: 'rs-1' }), []);
  store.create('Pod', ownedPod('a', 'default', 'rs-1'));
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1' })), ['default/a']);
});

test('a store written by the first schema is upgraded: owned objects are found, pods by node too', (t) => {
  const path = join(tempDir(t), 'v1.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(MIGRATIONS[0]);
  db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '1')").run();
  const insert = db.prepare('INSERT INTO objects (kind, namespace, name, uid, resource_version, node_name, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const body = (name: string, nodeName: string, owners: string[]) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: {}, annotations: {}, creationTimestamp: '2026-01-01T00:00:00Z', generation: 1, resourceVersion: '1', ...(owners.length ? { ownerReferences: owners.map((u) => owner(u)) } : {}) },
      spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
    });
  insert.run('Pod', 'default', 'a', 'uid-a', 1, 'node-a', body('a', 'node-a', ['rs-1']));
  insert.run('Pod', 'default', 'b', 'uid-b', 2, '', body('b', '', ['rs-1', 'rs-2']));
  insert.run('Pod', 'default', 'c', 'uid-c', 3, 'node-a', body('c', 'node-a', []));
  db.prepare("UPDATE meta SET value = '3' WHERE key = 'resource_version'").run();
  db.close();

  const store = Store.open(path);
  t.after(() => store.close());
  assert.equal(store.diagnostics().schemaVersion, 2);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-1' })), ['default/a', 'default/b']);
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/b']);
  assert.deepEqual(names(store.list('Pod', { nodeName: 'node-a' })), ['default/a', 'default/c']);
  assert.equal(store.create('Pod', ownedPod('d', 'default', 'rs-2')).metadata.resourceVersion, '4');
  assert.deepEqual(names(store.list('Pod', { ownerUid: 'rs-2' })), ['default/b', 'default/d']);
});

test('watchers read each change as a frozen copy of what was committed, however late they read it', (t) => {
  const { store } = tempStore(t);
  const changes: { type: string; object: StoredObject }[] = [];
  store.watch((c) => changes.push(c as { type: string; object: StoredObject }));
  const created = store.create('Pod', pod('web'));
  const bound = store.bindPod('default', 'web', 'node-a');
  created.metadata.labels = { changed: 'by the caller' }; // the caller's copy is its own
  assert.equal(changes.length, 2);
  assert.deepEqual(changes.map((c) => [c.type, c.object.metadata.resourceVersion]), [['ADDED', '1'], ['MODIFIED', '2']]);
  assert.deepEqual(changes[0]!.object.metadata.labels, {});
  assert.deepEqual(changes[1]!.object, bound);
  assert.ok(Object.isFrozen(changes[1]!.object) && Object.isFrozen(changes[1]!.object.metadata));
  assert.equal(changes[1]!.object, changes[1]!.object, 'read twice, the same object');
});

test('events beyond the limit go least recently recorded first, also when repeats reorder them', (t) => {
  const { store } = tempStore(t, { eventLimit: 3 });
  const event = (message: string) => ({
    type: 'Normal' as const,
    reason: 'Test',
    message,
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web' },
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:00Z',
    count: 1,
  });
  for (const m of ['a', 'b', 'c', 'a', 'd']) store.recordEvent(event(m));
  assert.deepEqual(store.listEvents().map((e) => `${e.message}${e.count}`), ['c1', 'a2', 'd1']);
});

test('jsonEqual compares as JSON: key order and undefined-valued keys do not matter', () => {
  const cases: [unknown, unknown][] = [
    [{ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }],
    [{ a: 1, b: undefined }, { a: 1 }],
    [{ a: [1, undefined] }, { a: [1, null] }],
    [{ a: [1, 2] }, { a: [2, 1] }],
    [{ a: '1' }, { a: 1 }],
    [{ a: {} }, { a: [] }],
    [{ a: null }, {}],
    [{ a: NaN }, { a: null }],
    [undefined, undefined],
    [undefined, null],
    [{ d: new Date(0) }, { d: '1970-01-01T00:00:00.000Z' }],
    [[{ x: 1, y: 2 }], [{ y: 2, x: 1 }]],
    [{ a: { b: 1 } }, { a: { b: 1, c: 2 } }],
  ];
  const canonical = (v: unknown) =>
    JSON.stringify(v, (_k, val: unknown) =>
      val !== null && typeof val === 'object' && !Array.isArray(val)
        ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, (val as Record<string, unknown>)[k]]))
        : val,
    );
  for (const [a, b] of cases) {
    assert.equal(jsonEqual(a, b), canonical(a) === canonical(b), `${canonical(a)} vs ${canonical(b)}`);
    assert.equal(jsonEqual(b, a), jsonEqual(a, b), 'symmetric');
  }
});
