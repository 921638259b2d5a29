import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileAll, reconcileDeployment, reconcileNodeLoss, nodeLostSince, isPodReady } from '../../../src/scheduler/controllers/index.js';
import type { Node } from '../../../src/api/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { confirmTerminations, createDeployment, pods, runAll } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function addNode(store: Store, name: string, ready: 'True' | 'False' | 'Unknown', since: Date): void {
  store.create('Node', {
    metadata: { name },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: since.toISOString() }] },
  });
}

function setReady(store: Store, name: string, ready: 'True' | 'False' | 'Unknown', since: Date): void {
  store.mutate<Node>('Node', '', name, (n) => {
    n.status.conditions = [{ type: 'Ready', status: ready, lastTransitionTime: since.toISOString() }];
  });
}

test('pods on a node NotReady past the timeout are deleted and the deployment replaces them', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'node-a', 'True', t0);
  addNode(store, 'node-b', 'True', t0);
  createDeployment(store, 'web', { replicas: 4 });
  reconcileDeployment(store, 'default', 'web', t0);
  // Two pods on each node.
  pods(store).forEach((p, i) => store.bindPod('default', p.metadata.name, i % 2 ? 'node-b' : 'node-a'));
  runAll(store);
  reconcileDeployment(store, 'default', 'web', t0);
  const onA = pods(store).filter((p) => p.spec.nodeName === 'node-a').map((p) => p.metadata.name);
  assert.equal(onA.length, 2);

  setReady(store, 'node-a', 'Unknown', at(10));
  assert.deepEqual(reconcileNodeLoss(store, at(40), 60_000), [], 'within the timeout nothing happens');
  assert.equal(pods(store).length, 4);

  const evicted = reconcileNodeLoss(store, at(71), 60_000);
  assert.deepEqual(evicted.map((e) => e.name).sort(), [...onA].sort());
  assert.ok(evicted.every((e) => e.nodeName === 'node-a'));
  // Graceful: the lost node's pods stay Terminating (they may still run there) until it confirms.
  assert.deepEqual(pods(store).filter((p) => p.metadata.deletionTimestamp !== undefined).map((p) => p.metadata.name).sort(), [...onA].sort());
  assert.deepEqual(confirmTerminations(store).sort(), [...onA].sort(), 'the node comes back, stops them and confirms');
  assert.equal(pods(store).length, 2);
  const events = store.listEvents({ kind: 'Pod' }).filter((e) => e.reason === 'NodeLost');
  assert.equal(events.length, 2);
  assert.equal(events[0]!.type, 'Warning');

  const r = reconcileDeployment(store, 'default', 'web', at(71))!;
  assert.equal(r.status.availableReplicas, 2);
  const fresh = pods(store).filter((p) => !p.spec.nodeName);
  assert.equal(fresh.length, 2, 'two unbound replacements wait for the scheduler');
  for (const p of fresh) store.bindPod('default', p.metadata.name, 'node-b');
  runAll(store, 'node-b');
  assert.equal(reconcileDeployment(store, 'default', 'web', at(72))!.complete, true);
  assert.ok(pods(store).every((p) => p.spec.nodeName === 'node-b' && isPodReady(p)));
  assert.deepEqual(reconcileNodeLoss(store, at(200), 60_000), [], 'nothing is left on the lost node');
});

test('nodeLostSince counts from the Ready transition and ignores Ready nodes', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'ok', 'True', t0);
  addNode(store, 'down', 'False', t0);
  const get = (n: string) => store.get<Node & StoredObject>('Node', '', n)!;
  assert.equal(nodeLostSince(get('ok'), at(1000), 1000), undefined);
  assert.equal(nodeLostSince(get('down'), at(1), 1000), undefined);
  assert.equal(nodeLostSince(get('down'), at(2), 1000), t0.getTime());
  // A node that never reported Ready counts from its creation.
  store.create('Node', { metadata: { name: 'silent' }, spec: {}, status: { conditions: [] } });
  const created = Date.parse(get('silent').metadata.creationTimestamp);
  assert.equal(nodeLostSince(get('silent'), new Date(created + 5000), 1000), created);
});

test('reconcileAll evicts from lost nodes and replaces the pods in one pass, then changes nothing', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'node-a', 'True', t0);
  createDeployment(store, 'web', { replicas: 2 });
  reconcileAll(store, t0);
  for (const p of pods(store)) store.bindPod('default', p.metadata.name, 'node-a');
  runAll(store);
  setReady(store, 'node-a', 'False', at(1));
  const r = reconcileAll(store, at(400));
  assert.equal(r.deployments, 1);
  assert.equal(r.evicted.length, 2);
  assert.equal(pods(store).length, 4, 'two Terminating pods on the lost node and their two replacements');
  confirmTerminations(store);
  assert.equal(pods(store).length, 2);
  assert.ok(pods(store).every((p) => !p.spec.nodeName), 'replacements are unbound');
  const rv = store.resourceVersion();
  reconcileAll(store, at(401));
  assert.equal(store.resourceVersion(), rv, 'a second pass with nothing changed writes nothing');
});

test('pods tolerating the lost node stay for their tolerationSeconds, or for ever without one', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'node-a', 'True', t0);
  const tolerating = (name: string, tolerationSeconds?: number) =>
    store.create('Pod', {
      metadata: { name, namespace: 'default' },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'c', image: 'busybox' }],
        tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(tolerationSeconds === undefined ? {} : { tolerationSeconds }) }],
      },
    });
  tolerating('quick', 30);
  tolerating('forever');
  store.create('Pod', { metadata: { name: 'plain', namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] } });
  // The scheduler marks a silent agent's node Ready=False, reason NodeStatusUnknown: unreachable.
  store.mutate<Node>('Node', '', 'node-a', (n) => {
    n.status.conditions = [{ type: 'Ready', status: 'False', reason: 'NodeStatusUnknown', lastTransitionTime: t0.toISOString() }];
  });
  assert.deepEqual(reconcileNodeLoss(store, at(20), 60_000), []);
  assert.deepEqual(reconcileNodeLoss(store, at(31), 60_000).map((e) => e.name), ['quick']);
  assert.deepEqual(reconcileNodeLoss(store, at(61), 60_000).map((e) => e.name), ['plain']);
  assert.deepEqual(reconcileNodeLoss(store, at(100_000), 60_000), []);
  assert.deepEqual(confirmTerminations(store).sort(), ['plain', 'quick']);
  assert.deepEqual(pods(store).map((p) => p.metadata.name), ['forever']);
  const quick = store.listEvents({ kind: 'Pod', name: 'quick' }).find((e) => e.reason === 'NodeLost');
  assert.equal(quick?.message, 'Deleting pod: node node-a has not been Ready for over 30s; the pod stays Terminating until the node confirms it stopped (or it is deleted with --force)');
});
