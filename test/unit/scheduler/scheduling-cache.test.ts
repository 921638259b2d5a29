import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from '../../../src/api/index.js';
import { ClusterSnapshot } from '../../../src/scheduler/placement/index.js';
import { NodeSessions, scheduleOnce, SchedulingCache } from '../../../src/scheduler/server/index.js';
import { Store } from '../../../src/scheduler/store/index.js';

function node(name: string, cpu = '4', ready = true) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { taints: [], unschedulable: false },
    status: { allocatable: { cpu, memory: '8Gi', pods: '10' }, capacity: { cpu, memory: '8Gi', pods: '10' }, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function pod(name: string, cpu = '500m', owner = 'web') {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: owner } },
    spec: { initContainers: [], containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu, memory: '64Mi' } } }] },
  };
}

/** What a snapshot built from scratch says about the store now. */
const fresh = (store: Store) => new ClusterSnapshot(store.list<Node>('Node'), store.list<Pod>('Pod')).summary();

test('the cached snapshot follows nodes and pods as a rebuilt one would, and places pods alike', (t) => {
  const store = Store.open(':memory:');
  const cache = new SchedulingCache(store);
  t.after(() => {
    cache.close();
    store.close();
  });
  const sessions = new NodeSessions();
  for (const n of ['node-a', 'node-b', 'node-c']) store.create('Node', node(n));
  for (let i = 0; i < 6; i++) store.create('Pod', pod(`web-${i}`));
  const first = scheduleOnce(store, sessions, new Date(), cache);
  assert.equal(Object.keys(first.bound).length, 6);
  assert.deepEqual(cache.current().summary(), fresh(store));

  // Nodes change (cordoned, resized, removed), pods finish, go away and come.
  store.mutate('Node', '', 'node-a', (n) => {
    (n.spec as { unschedulable: boolean }).unschedulable = true;
  });
  store.mutate('Node', '', 'node-b', (n) => {
    (n.status as { allocatable: Record<string, string> }).allocatable.cpu = '8';
  });
  store.delete('Node', '', 'node-c');
  const bound = store.list<Pod>('Pod', { nodeName: 'node-a' });
  store.mutate('Pod', 'default', bound[0]!.metadata.name, (p) => {
    p.status = { phase: 'Succeeded', conditions: [] };
  });
  store.delete('Pod', 'default', bound[1]!.metadata.name);
  store.create('Node', node('node-d', '2'));
  assert.deepEqual(cache.current().summary(), fresh(store));

  for (let i = 0; i < 5; i++) store.create('Pod', pod(`api-${i}`, '250m', 'api'));
  // The same pass, once over the cache and once over a copy of the store without it, binds alike.
  const twin = Store.open(':memory:');
  t.after(() => twin.close());
  for (const n of store.list<Node>('Node')) twin.create('Node', { ...n, metadata: { ...n.metadata, resourceVersion: undefined } });
  for (const p of store.list<Pod>('Pod')) twin.create('Pod', { ...p, metadata: { ...p.metadata, resourceVersion: undefined } });
  const withCache = scheduleOnce(store, sessions, new Date(), cache);
  const without = scheduleOnce(twin, new NodeSessions(), new Date());
  assert.deepEqual(withCache, without);
  assert.deepEqual(cache.current().summary(), fresh(store));
});

test('a pass that fails half-way leaves no phantom binds in the cache', (t) => {
  const store = Store.open(':memory:');
  const cache = new SchedulingCache(store);
  t.after(() => {
    cache.close();
    store.close();
  });
  store.create('Node', node('node-a'));
  for (let i = 0; i < 3; i++) store.create('Pod', pod(`web-${i}`));
  const sessions = new NodeSessions();
  cache.current();
  // The second bind fails for a reason the pass does not expect: the whole pass rolls back.
  const bindPod = store.bindPod.bind(store);
  let calls = 0;
  store.bindPod = ((...args: Parameters<typeof bindPod>) => {
    if (++calls === 2) throw new Error('disk on fire');
    return bindPod(...args);
  }) as typeof store.bindPod;
  assert.throws(() => scheduleOnce(store, sessions, new Date(), cache), /disk on fire/);
  assert.deepEqual(store.list('Pod', { nodeName: 'node-a' }), [], 'the first bind was rolled back with the pass');
  assert.deepEqual(cache.current().summary(), fresh(store));
  store.bindPod = bindPod;
  assert.equal(Object.keys(scheduleOnce(store, sessions, new Date(), cache).bound).length, 3);
  assert.deepEqual(cache.current().summary(), fresh(store));
});
