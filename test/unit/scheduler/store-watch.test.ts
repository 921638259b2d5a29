import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/lib/index.js';
import type { WatchChange } from '../../../src/scheduler/store/index.js';
import { tempStore, pod } from './store-helpers.js';

const describe = (c: WatchChange) =>
  c.kind === 'Event' ? `${c.type} Event ${c.object.reason}` : `${c.type} ${c.kind} ${c.object.metadata.name} ${c.object.metadata.resourceVersion}`;

test('listeners see every change in commit order with its resourceVersion', (t) => {
  const { store } = tempStore(t);
  const seen: string[] = [];
  const stop = store.watch((c) => seen.push(describe(c)));
  store.create('Pod', pod('web'));
  store.create('Node', { metadata: { name: 'node-a' } });
  store.bindPod('default', 'web', 'node-a');
  store.mutate('Pod', 'default', 'web', (p) => {
    p.status = { phase: 'Running' };
  });
  store.delete('Pod', 'default', 'web');
  stop();
  store.create('Pod', pod('after'));
  assert.deepEqual(seen, ['ADDED Pod web 1', 'ADDED Node node-a 2', 'MODIFIED Pod web 3', 'MODIFIED Pod web 4', 'DELETED Pod web 5']);
});

test('changes of a transaction arrive after it commits, and never if it rolls back', (t) => {
  const { store } = tempStore(t);
  const seen: string[] = [];
  store.watch((c) => seen.push(describe(c)));
  store.transaction(() => {
    store.create('Pod', pod('a'));
    store.create('Pod', pod('b'));
    assert.deepEqual(seen, [], 'nothing delivered before commit');
  });
  assert.deepEqual(seen, ['ADDED Pod a 1', 'ADDED Pod b 2']);

  seen.length = 0;
  assert.throws(() =>
    store.transaction(() => {
      store.create('Pod', pod('c'));
      throw new Error('abort');
    }),
  /abort/);
  assert.deepEqual(seen, []);

  // A nested transaction that fails rolls back alone; the outer one's changes still arrive.
  store.transaction(() => {
    store.create('Pod', pod('d'));
    assert.throws(() => store.create('Pod', pod('a')), (e) => isKind(e, 'AlreadyExists'));
    assert.throws(() =>
      store.transaction(() => {
        store.create('Pod', pod('e'));
        throw new Error('inner');
      }),
    );
    store.create('Pod', pod('f'));
  });
  assert.deepEqual(seen, ['ADDED Pod d 3', 'ADDED Pod f 4']);
  assert.deepEqual(store.list('Pod').map((p) => p.metadata.name), ['a', 'b', 'd', 'f']);
});

test('a listener that writes does not reorder changes; a throwing listener does not stop others', (t) => {
  const { store } = tempStore(t);
  const seen: string[] = [];
  store.watch(() => {
    throw new Error('listener bug');
  });
  store.watch((c) => {
    // React to a new pod by binding it, like a scheduler loop would.
    if (c.type === 'ADDED' && c.kind === 'Pod') store.bindPod(c.object.metadata.namespace, c.object.metadata.name, 'node-a');
  });
  store.watch((c) => seen.push(describe(c)));
  store.transaction(() => {
    store.create('Pod', pod('a'));
    store.create('Pod', pod('b'));
  });
  assert.deepEqual(seen, ['ADDED Pod a 1', 'ADDED Pod b 2', 'MODIFIED Pod a 3', 'MODIFIED Pod b 4']);
});

test('watched objects are frozen copies', (t) => {
  const { store } = tempStore(t);
  let object: WatchChange['object'] | undefined;
  store.watch((c) => (object = c.object));
  const created = store.create('Pod', pod('a', 'default', { app: 'x' }));
  assert.ok(object && 'metadata' in object);
  assert.throws(() => {
    (object as { metadata: { labels: Record<string, string> } }).metadata.labels.app = 'y';
  }, TypeError);
  created.metadata.labels.app = 'changed by caller';
  assert.equal(store.get('Pod', 'default', 'a')?.metadata.labels.app, 'x');
});
