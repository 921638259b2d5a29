import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type DaemonSet, type Node } from '../../../src/api/index.js';
import { reconcileAll, reconcileDaemonSet, CONTROLLER_REVISION_HASH_LABEL } from '../../../src/scheduler/controllers/index.js';
import { NodeSessions, scheduleOnce } from '../../../src/scheduler/server/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { PINNED_NODE_ANNOTATION } from '../../../src/scheduler/placement/index.js';
import { tempStore } from './store-helpers.js';
import { addNode, createDeployment, pods, readyAllBound, reportPod, setNodeReady, confirmTerminations } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function createDaemonSet(store: Store, name: string, o: { cpu?: string; nodeSelector?: string; strategy?: string } = {}): StoredObject {
  const yaml = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  ${o.strategy ? `updateStrategy: ${o.strategy}` : ''}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      ${o.nodeSelector ? `nodeSelector: ${o.nodeSelector}` : ''}
      containers:
      - name: c
        image: "agent:1"
        resources: {requests: {cpu: ${o.cpu ?? '100m'}}}
`;
  const { objects } = decodeObjects(yaml, 'test.yaml');
  return store.create('DaemonSet', objects[0] as never);
}

function round(store: Store, now: Date) {
  reconcileAll(store, now);
  confirmTerminations(store); // the agents stop the deleted pods and confirm
  return scheduleOnce(store, new NodeSessions(), now);
}

function ds(store: Store, name = 'agent'): DaemonSet & StoredObject {
  return store.get<DaemonSet & StoredObject>('DaemonSet', 'default', name)!;
}

/** Node → images of the daemon pods bound there. */
function placement(store: Store, prefix = 'agent-'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of pods(store)) {
    if (!p.metadata.name.startsWith(prefix)) continue;
    const node = p.spec.nodeName ?? `(pending for ${p.metadata.annotations[PINNED_NODE_ANNOTATION]})`;
    (out[node] ??= []).push(p.spec.containers[0]!.image);
  }
  return out;
}

test('one pod per eligible node, cordoned nodes included; a joining node gets one, a removed node loses its pod', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a', { labels: { role: 'worker' } });
  addNode(store, 'node-b', { labels: { role: 'worker' }, unschedulable: true });
  addNode(store, 'node-c', { labels: { role: 'edge' } });
  addNode(store, 'node-d', { labels: { role: 'worker' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
  addNode(store, 'node-e', { labels: { role: 'worker' }, ready: false });
  createDaemonSet(store, 'agent', { nodeSelector: '{role: worker}' });

  round(store, at(1));
  assert.deepEqual(placement(store), { 'node-a': ['agent:1'], 'node-b': ['agent:1'] });
  const onB = pods(store).find((p) => p.spec.nodeName === 'node-b')!;
  assert.ok(
    onB.spec.tolerations.some((x) => x.key === 'node.kubernetes.io/unschedulable' && x.operator === 'Exists' && x.effect === 'NoSchedule'),
    'daemon pods tolerate the cordon',
  );
  assert.ok(onB.spec.tolerations.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute' && x.tolerationSeconds === undefined));
  assert.equal(onB.metadata.ownerReferences?.[0]?.kind, 'DaemonSet');
  round(store, at(1)); // the status counts what the scheduler bound since
  let st = ds(store).status!;
  assert.equal(st.desiredNumberScheduled, 2);
  assert.equal(st.currentNumberScheduled, 2);
  assert.equal(st.numberReady, 0);

  // A cordoned node takes no other pods.
  store.create('Pod', { metadata: { name: 'plain', namespace: 'default' }, spec: { initContainers: [], containers: [{ name: 'c', image: 'x', resources: { requests: {}, limits: {} } }], nodeSelector: { 'kubernetes.io/hostname': 'node-b' } } });
  const r = round(store, at(2));
  assert.match(r.unschedulable['default/plain']!, /1 node\(s\) were unschedulable/);

  readyAllBound(store);
  round(store, at(3));
  st = ds(store).status!;
  assert.equal(st.numberReady, 2);
  assert.equal(st.numberAvailable, 2);
  assert.equal(st.numberUnavailable, 0);
  assert.equal(st.updatedNumberScheduled, 2);
  assert.equal(st.observedGeneration, 1);

  addNode(store, 'node-f', { labels: { role: 'worker' } });
  setNodeReady(store, 'node-e', true, at(4));
  round(store, at(5));
  assert.deepEqual(Object.keys(placement(store)).sort(), ['node-a', 'node-b', 'node-e', 'node-f']);

  store.delete('Node', '', 'node-a');
  round(store, at(6));
  assert.deepEqual(Object.keys(placement(store)).sort(), ['node-b', 'node-e', 'node-f']);
  const created = store.listEvents({ kind: 'DaemonSet' }).filter((e) => e.reason === 'SuccessfulCreate');
  assert.equal(created.length, 4);
  assert.match(created[0]!.message, /^Created pod: agent-[a-z0-9]{5}$/);
  assert.equal(store.listEvents({ kind: 'DaemonSet' }).filter((e) => e.reason === 'SuccessfulDelete').length, 1);

  const rv = store.resourceVersion();
  round(store, at(7));
  assert.equal(store.resourceVersion(), rv, 'a pass with nothing changed writes nothing');
});

test('a daemon pod that does not fit its node stays Pending with FailedScheduling and FailedPlacement', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'small', { cpu: '1' });
  addNode(store, 'big', { cpu: '8' });
  createDaemonSet(store, 'agent', { cpu: '2' });
  const r = round(store, at(1));
  assert.deepEqual(placement(store), { big: ['agent:1'], '(pending for small)': ['agent:1'] });
  const key = Object.keys(r.unschedulable)[0]!;
  assert.equal(r.unschedulable[key], "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector.");
  const placementEvents = store.listEvents({ kind: 'DaemonSet', name: 'agent' }).filter((e) => e.reason === 'FailedPlacement');
  assert.equal(placementEvents.length, 1);
  assert.equal(placementEvents[0]!.message, `failed to place pod ${key.slice('default/'.length)} on node small: Insufficient cpu`);
  assert.equal(placementEvents[0]!.type, 'Warning');
  round(store, at(1));
  assert.equal(ds(store).status!.desiredNumberScheduled, 2);
  assert.equal(ds(store).status!.currentNumberScheduled, 1);

  // More room on the node: the waiting pod is placed on the next pass.
  store.mutate<Node>('Node', '', 'small', (n) => {
    n.status.allocatable.cpu = '4';
  });
  round(store, at(2));
  assert.deepEqual(placement(store), { big: ['agent:1'], small: ['agent:1'] });
});

test('a template change rolls node by node with maxUnavailable 1; maxSurge starts the new pod first', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  for (const n of ['node-a', 'node-b', 'node-c']) addNode(store, n);
  createDaemonSet(store, 'agent');
  round(store, at(1));
  readyAllBound(store);
  round(store, at(2));
  const setImage = (image: string) =>
    store.mutate<DaemonSet>('DaemonSet', 'default', 'agent', (d) => {
      d.spec.template.spec.containers[0]!.image = image;
    });
  setImage('agent:2');

  const images = () => Object.values(placement(store)).flat().sort();
  round(store, at(3));
  assert.deepEqual(images(), ['agent:1', 'agent:1', 'agent:2'], 'one node at a time');
  round(store, at(4));
  assert.deepEqual(images(), ['agent:1', 'agent:1', 'agent:2'], 'the next waits until the new pod is Ready');
  assert.equal(ds(store).status!.numberUnavailable, 1);
  for (let i = 0; i < 6; i++) {
    readyAllBound(store);
    round(store, at(5 + i));
    const notReady = pods(store).filter((p) => p.status?.phase !== 'Running').length;
    assert.ok(notReady <= 1, 'never more than maxUnavailable nodes without a Ready pod');
  }
  assert.deepEqual(images(), ['agent:2', 'agent:2', 'agent:2']);
  readyAllBound(store);
  round(store, at(20));
  assert.equal(ds(store).status!.updatedNumberScheduled, 3);
  assert.equal(ds(store).status!.observedGeneration, 2);
  const hash = pods(store)[0]!.metadata.labels[CONTROLLER_REVISION_HASH_LABEL];
  assert.ok(pods(store).every((p) => p.metadata.labels[CONTROLLER_REVISION_HASH_LABEL] === hash));

  // maxSurge 1 (maxUnavailable 0): the new pod starts beside the old one, which goes once it is Ready.
  store.mutate<DaemonSet>('DaemonSet', 'default', 'agent', (d) => {
    d.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
    d.spec.template.spec.containers[0]!.image = 'agent:3';
  });
  round(store, at(30));
  const surged = Object.entries(placement(store)).find(([, imgs]) => imgs.length === 2);
  assert.ok(surged, 'one node runs old and new side by side');
  assert.deepEqual([...surged[1]].sort(), ['agent:2', 'agent:3']);
  assert.equal(Object.values(placement(store)).flat().length, 4);
  const fresh = pods(store).find((p) => p.spec.containers[0]!.image === 'agent:3')!;
  reportPod(store, fresh.metadata.name);
  round(store, at(31));
  assert.deepEqual(placement(store)[surged[0]], ['agent:3'], 'the old pod went once the new one was Ready');
  for (let i = 0; i < 6; i++) {
    readyAllBound(store);
    round(store, at(32 + i));
  }
  assert.deepEqual(Object.values(placement(store)).flat().sort(), ['agent:3', 'agent:3', 'agent:3']);
});

test('node loss keeps daemon pods (they tolerate it) and evicts the others; deleting the DaemonSet deletes its pods', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createDaemonSet(store, 'agent');
  createDeployment(store, 'web', { replicas: 1 });
  round(store, at(1));
  readyAllBound(store);
  setNodeReady(store, 'node-a', false, at(2));
  const r = reconcileAll(store, at(400));
  assert.deepEqual(r.evicted.map((e) => e.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')), ['web']);
  assert.deepEqual(Object.keys(placement(store)), ['node-a'], 'the daemon pod stays on its node');
  assert.equal(ds(store).status!.desiredNumberScheduled, 0, 'a NotReady node gets no new daemon pod');
  assert.equal(ds(store).status!.numberMisscheduled, 1);

  store.delete('DaemonSet', 'default', 'agent');
  round(store, at(401));
  assert.deepEqual(placement(store), {});
  assert.equal(reconcileDaemonSet(store, 'default', 'agent', at(402)), undefined);
});
