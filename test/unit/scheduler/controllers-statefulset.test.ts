import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Pod, type StatefulSet } from '../../../src/api/index.js';
import {
  claimNode,
  releaseClaim,
  bindClaim,
  reconcileAll,
  reconcileStatefulSet,
  CONTROLLER_REVISION_HASH_LABEL,
  STATEFULSET_POD_NAME_LABEL,
  deletePod,
} from '../../../src/scheduler/controllers/index.js';
import { NodeSessions, scheduleOnce } from '../../../src/scheduler/server/index.js';
import { Store, type StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { addNode, pods, readyAllBound, reportPod, setNodeReady, confirmTerminations } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function createStatefulSet(store: Store, name: string, o: { replicas?: number; policy?: string; partition?: number; cpu?: string } = {}): StoredObject {
  const yaml = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${o.replicas ?? 1}
  serviceName: ${name}-svc
  ${o.policy ? `podManagementPolicy: ${o.policy}` : ''}
  ${o.partition !== undefined ? `updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: ${o.partition}}}` : ''}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: c
        image: "busybox:1"
        resources: {requests: {cpu: ${o.cpu ?? '100m'}}}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
  const { objects } = decodeObjects(yaml, 'test.yaml');
  return store.create('StatefulSet', objects[0] as never);
}

function set(store: Store, name = 'web'): StatefulSet & StoredObject {
  return store.get<StatefulSet & StoredObject>('StatefulSet', 'default', name)!;
}

function scale(store: Store, replicas: number, name = 'web'): void {
  store.mutate<StatefulSet>('StatefulSet', 'default', name, (s) => {
    s.spec.replicas = replicas;
  });
}

/** One control-loop pass, as the scheduler daemon runs it: controllers, then placement. */
function round(store: Store, now: Date) {
  reconcileAll(store, now);
  confirmTerminations(store); // the agents stop the deleted pods and confirm
  return scheduleOnce(store, new NodeSessions(), now);
}

function names(store: Store): string[] {
  return pods(store).map((p) => p.metadata.name);
}

function pod(store: Store, name: string): Pod & StoredObject {
  return store.get<Pod & StoredObject>('Pod', 'default', name)!;
}

function events(store: Store, reason: string, kind = 'StatefulSet'): string[] {
  return store
    .listEvents({ kind })
    .filter((e) => e.reason === reason)
    .map((e) => e.message);
}

test('OrderedReady starts web-N only once web-0..N-1 are Running and Ready, with stable identities and claims', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  addNode(store, 'node-b');
  const s = createStatefulSet(store, 'web', { replicas: 2 });

  round(store, at(1));
  assert.deepEqual(names(store), ['web-0'], 'only the first ordinal starts');
  const p0 = pod(store, 'web-0');
  assert.ok(p0.spec.nodeName, 'the scheduler bound it');
  assert.equal(p0.spec.hostname, 'web-0');
  assert.equal(p0.spec.subdomain, 'web-svc');
  assert.equal(p0.metadata.labels[STATEFULSET_POD_NAME_LABEL], 'web-0');
  assert.equal(p0.metadata.labels.app, 'web');
  assert.deepEqual(p0.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: s.metadata.uid, controller: true }]);
  assert.deepEqual(
    p0.spec.volumes.find((v) => v.name === 'data'),
    { name: 'data', persistentLocal: { claimName: 'data-web-0' } },
  );
  assert.equal(claimNode(store, 'default', 'data-web-0'), p0.spec.nodeName, 'the claim is bound where its first pod went');

  reportPod(store, 'web-0', false);
  round(store, at(2));
  assert.deepEqual(names(store), ['web-0'], 'web-1 waits while web-0 is Running but not Ready');

  reportPod(store, 'web-0');
  round(store, at(3));
  assert.deepEqual(names(store), ['web-0', 'web-1']);
  assert.equal(pod(store, 'web-1').spec.volumes.find((v) => v.name === 'data')?.persistentLocal?.claimName, 'data-web-1');
  readyAllBound(store);
  round(store, at(4));

  // Scale 2 → 3 while web-1 is not Ready: web-2 waits for it.
  reportPod(store, 'web-1', false);
  scale(store, 3);
  round(store, at(5));
  assert.deepEqual(names(store), ['web-0', 'web-1']);
  reportPod(store, 'web-1');
  round(store, at(6));
  assert.deepEqual(names(store), ['web-0', 'web-1', 'web-2']);
  readyAllBound(store);
  round(store, at(7));

  const st = set(store).status!;
  assert.equal(st.replicas, 3);
  assert.equal(st.readyReplicas, 3);
  assert.equal(st.availableReplicas, 3);
  assert.equal(st.currentReplicas, 3);
  assert.equal(st.updatedReplicas, 3);
  assert.equal(st.currentRevision, st.updateRevision);
  assert.equal(st.observedGeneration, set(store).metadata.generation);
  assert.deepEqual(events(store, 'SuccessfulCreate').filter((m) => m.startsWith('create Pod')), [
    'create Pod web-0 in StatefulSet web successful',
    'create Pod web-1 in StatefulSet web successful',
    'create Pod web-2 in StatefulSet web successful',
  ]);
  assert.ok(events(store, 'SuccessfulCreate').includes('create Claim data-web-2 Pod web-2 in StatefulSet web success'));

  const rv = store.resourceVersion();
  round(store, at(8));
  assert.equal(store.resourceVersion(), rv, 'a pass with nothing changed writes nothing');
});

test('scale down removes the highest ordinal first, one per pass; Parallel creates and deletes at once', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 3 });
  for (let i = 0; i < 4; i++) {
    round(store, at(i));
    readyAllBound(store);
  }
  assert.deepEqual(names(store), ['web-0', 'web-1', 'web-2']);

  scale(store, 1);
  reportPod(store, 'web-0', false);
  round(store, at(10));
  assert.equal(names(store).length, 3, 'OrderedReady scales down only while the remaining pods are healthy');
  reportPod(store, 'web-0');
  round(store, at(11));
  assert.deepEqual(names(store), ['web-0', 'web-1']);
  round(store, at(12));
  assert.deepEqual(names(store), ['web-0']);
  assert.deepEqual(events(store, 'SuccessfulDelete'), ['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful']);
  assert.equal(set(store).status!.replicas, 1);
  assert.equal(claimNode(store, 'default', 'data-web-2'), 'node-a', 'claims outlive the scale-down');

  createStatefulSet(store, 'db', { replicas: 3, policy: 'Parallel' });
  round(store, at(13));
  const db = () => names(store).filter((n) => n.startsWith('db-'));
  assert.deepEqual(db(), ['db-0', 'db-1', 'db-2'], 'Parallel starts every ordinal at once');
  scale(store, 0, 'db');
  round(store, at(14));
  assert.deepEqual(db(), [], 'and removes them at once');
});

test('a deleted pod comes back with the same name on the node holding its claim, also after a store reopen', (t) => {
  let clock = t0;
  const { store, path } = tempStore(t, { now: () => clock });
  addNode(store, 'node-a');
  addNode(store, 'node-b');
  createStatefulSet(store, 'web', { replicas: 2 });
  for (let i = 0; i < 3; i++) {
    round(store, at(i));
    readyAllBound(store);
  }
  const home = pod(store, 'web-0').spec.nodeName!;
  const other = home === 'node-a' ? 'node-b' : 'node-a';
  assert.equal(claimNode(store, 'default', 'data-web-0'), home);
  // Fill web-0's node so that, without its claim, placement would clearly prefer the other node.
  store.create('Pod', { metadata: { name: 'filler', namespace: 'default' }, spec: { nodeName: home, initContainers: [], containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '3' }, limits: {} } }] } });
  store.delete('Pod', 'default', 'web-1'); // and free the other one

  const oldUid = pod(store, 'web-0').metadata.uid;
  store.delete('Pod', 'default', 'web-0');
  clock = at(10);
  const r = round(store, at(10));
  assert.equal(r.bound['default/web-0'], home, 'back on the node with its data');
  assert.notEqual(pod(store, 'web-0').metadata.uid, oldUid, 'a new pod of the same name');
  reportPod(store, 'web-0');
  round(store, at(11));
  assert.equal(pod(store, 'web-1').spec.nodeName, other, 'web-1 went back to its own claim');

  // A scheduler killed and restarted keeps the bindings (they are in the store's file).
  store.close();
  const reopened = Store.open(path, { now: () => clock });
  t.after(() => reopened.close());
  assert.equal(claimNode(reopened, 'default', 'data-web-0'), home);
  reopened.delete('Pod', 'default', 'web-0');
  assert.equal(round(reopened, at(20)).bound['default/web-0'], home);
});

test('a pod whose claim node is NotReady stays Pending with a FailedScheduling event, and is not evicted by node loss', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  addNode(store, 'node-b');
  createStatefulSet(store, 'web', { replicas: 2 });
  for (let i = 0; i < 3; i++) {
    round(store, at(i));
    readyAllBound(store);
  }
  const home = pod(store, 'web-0').spec.nodeName!;

  setNodeReady(store, home, false, at(5));
  store.delete('Pod', 'default', 'web-0');
  const r = round(store, at(6));
  assert.equal(pod(store, 'web-0').spec.nodeName ?? '', '', 'not moved to the Ready node');
  const message = r.unschedulable['default/web-0']!;
  assert.equal(
    message,
    `0/2 nodes are available: 1 node(s) didn't have the pod's local volume, 1 node(s) were not ready. ` +
      `The pod's data (claim data-web-0) is on node ${home}, so it waits for that node.`,
  );
  const failed = store.listEvents({ kind: 'Pod', name: 'web-0' }).filter((e) => e.reason === 'FailedScheduling');
  assert.equal(failed.at(-1)?.message, message);
  assert.equal(failed.at(-1)?.type, 'Warning');

  // Long past the node-loss timeout it still waits for its node.
  round(store, at(5 + 400));
  assert.equal(pod(store, 'web-0').spec.nodeName ?? '', '');

  setNodeReady(store, home, true, at(500));
  assert.equal(round(store, at(501)).bound['default/web-0'], home, 'placed once its node is back');
});

test('node loss keeps a bound StatefulSet pod on its lost node and says why once', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 1 });
  round(store, at(1));
  readyAllBound(store);
  setNodeReady(store, 'node-a', false, at(2));
  const r1 = reconcileAll(store, at(400));
  const r2 = reconcileAll(store, at(401));
  assert.deepEqual([...r1.evicted, ...r2.evicted], []);
  assert.equal(pod(store, 'web-0').spec.nodeName, 'node-a');
  const kept = store.listEvents({ kind: 'Pod', name: 'web-0' }).filter((e) => e.reason === 'NodeLost');
  assert.equal(kept.length, 1);
  assert.equal(kept[0]!.count, 1);
  assert.match(kept[0]!.message, /^Kept pod: node node-a has not been Ready for over 300s, but the pod's data \(claim data-web-0\) is on that node/);
});

test('RollingUpdate replaces pods from the highest ordinal down, each after the previous is Ready; partition holds the rest', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 3 });
  for (let i = 0; i < 4; i++) {
    round(store, at(i));
    readyAllBound(store);
  }
  const oldRevision = set(store).status!.currentRevision!;
  const image = (n: string) => pod(store, n).spec.containers[0]!.image;
  store.mutate<StatefulSet>('StatefulSet', 'default', 'web', (s) => {
    s.spec.template.spec.containers[0]!.image = 'busybox:2';
  });

  // Step by step for the first pod: deleted, recreated at the new template, and web-1 waits for it.
  const web1 = pod(store, 'web-1').metadata.uid;
  round(store, at(10));
  assert.deepEqual(names(store), ['web-0', 'web-1']);
  round(store, at(11));
  assert.equal(image('web-2'), 'busybox:2');
  round(store, at(12));
  assert.equal(pod(store, 'web-1').metadata.uid, web1, 'web-1 waits while the new web-2 is not Ready');
  reportPod(store, 'web-2');

  const replaced: string[] = ['web-2'];
  for (let i = 0; i < 12 && replaced.length < 3; i++) {
    const before = new Map(pods(store).map((p) => [p.metadata.name, p.metadata.uid]));
    round(store, at(13 + i));
    for (const [n, uid] of before) if (store.get<Pod & StoredObject>('Pod', 'default', n)?.metadata.uid !== uid) replaced.push(n);
    // Never more than one pod down at a time.
    assert.ok(pods(store).filter((p) => p.status?.phase !== 'Running').length <= 1);
    readyAllBound(store);
  }
  assert.deepEqual(replaced, ['web-2', 'web-1', 'web-0']);
  round(store, at(25)); // web-0 comes back at the new template
  readyAllBound(store);
  assert.deepEqual(['web-0', 'web-1', 'web-2'].map(image), ['busybox:2', 'busybox:2', 'busybox:2']);
  round(store, at(30));
  const st = set(store).status!;
  assert.notEqual(st.updateRevision, oldRevision);
  assert.equal(st.currentRevision, st.updateRevision);
  assert.equal(st.updatedReplicas, 3);
  assert.ok(pods(store).every((p) => p.metadata.labels[CONTROLLER_REVISION_HASH_LABEL] === st.updateRevision));

  // partition 2: only web-2 moves to busybox:3; a deleted web-0 comes back at the current revision.
  store.mutate<StatefulSet>('StatefulSet', 'default', 'web', (s) => {
    s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    s.spec.template.spec.containers[0]!.image = 'busybox:3';
  });
  for (let i = 0; i < 6; i++) {
    round(store, at(40 + i));
    readyAllBound(store);
  }
  assert.deepEqual(['web-0', 'web-1', 'web-2'].map(image), ['busybox:2', 'busybox:2', 'busybox:3']);
  store.delete('Pod', 'default', 'web-0');
  round(store, at(50));
  assert.equal(image('web-0'), 'busybox:2');
  readyAllBound(store);
  const r = reconcileStatefulSet(store, 'default', 'web', at(51))!;
  assert.equal(r.status.currentReplicas, 2);
  assert.equal(r.status.updatedReplicas, 1);
  assert.notEqual(r.status.currentRevision, r.status.updateRevision);
});

test('deleting a StatefulSet deletes its pods; its claims stay bound', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 1 });
  round(store, at(1));
  assert.deepEqual(names(store), ['web-0']);
  store.delete('StatefulSet', 'default', 'web');
  round(store, at(2));
  assert.deepEqual(names(store), []);
  assert.equal(claimNode(store, 'default', 'data-web-0'), 'node-a');
  assert.equal(reconcileStatefulSet(store, 'default', 'web', at(3)), undefined);
});

test('a claim whose node is gone for good can be released, and its pod then starts elsewhere', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 1 });
  round(store, at(1));
  assert.equal(claimNode(store, 'default', 'data-web-0'), 'node-a');
  store.delete('Node', '', 'node-a');
  store.delete('Pod', 'default', 'web-0');
  addNode(store, 'node-b');
  assert.match(round(store, at(2)).unschedulable['default/web-0']!, /is on node node-a, so it waits for that node/);
  assert.equal(releaseClaim(store, 'default', 'data-web-0'), 'node-a');
  assert.equal(round(store, at(3)).bound['default/web-0'], 'node-b');
  assert.equal(claimNode(store, 'default', 'data-web-0'), 'node-b');
});

test('a pod whose claims are bound to different nodes is not placed, and the event says why', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  addNode(store, 'node-b');
  bindClaim(store, 'default', 'one', 'node-a');
  assert.equal(bindClaim(store, 'default', 'one', 'node-b'), 'node-a', 'a bound claim stays where its data is');
  bindClaim(store, 'default', 'two', 'node-b');
  store.create('Pod', {
    metadata: { name: 'both', namespace: 'default' },
    spec: {
      initContainers: [],
      containers: [{ name: 'c', image: 'busybox', resources: { requests: {}, limits: {} } }],
      volumes: [
        { name: 'a', persistentLocal: { claimName: 'one' } },
        { name: 'b', persistentLocal: { claimName: 'two' } },
      ],
    },
  });
  assert.equal(
    scheduleOnce(store, new NodeSessions(), at(1)).unschedulable['default/both'],
    'cannot place pod: its claims one and two hold their data on different nodes (node-a, node-b), so no single node has all of it; ' +
      'give the pod claims bound to one node',
  );
});

test('an ordinal never runs twice: a deleted StatefulSet pod stays Terminating and is recreated only once its node confirms', (t) => {
  const { store } = tempStore(t, { now: () => t0 });
  addNode(store, 'node-a');
  createStatefulSet(store, 'web', { replicas: 2 });
  for (let i = 0; i < 3; i++) {
    round(store, at(i));
    readyAllBound(store);
  }
  const old = store.get<Pod & StoredObject>('Pod', 'default', 'web-1')!;
  // A user's delete (or node loss, a rolling update): graceful, the pod may still run on node-a.
  deletePod(store, 'default', 'web-1', at(5));
  for (let i = 6; i < 10; i++) {
    reconcileAll(store, at(i));
    scheduleOnce(store, new NodeSessions(), at(i));
    const now = pods(store).filter((p) => p.metadata.name === 'web-1');
    assert.equal(now.length, 1);
    assert.equal(now[0]!.metadata.uid, old.metadata.uid, 'the old web-1 is still the only one');
    assert.ok(now[0]!.metadata.deletionTimestamp);
  }
  assert.deepEqual(confirmTerminations(store), ['web-1'], 'its node stopped it and confirmed');
  reconcileAll(store, at(11));
  const fresh = store.get<Pod & StoredObject>('Pod', 'default', 'web-1')!;
  assert.notEqual(fresh.metadata.uid, old.metadata.uid, 'recreated once the old one is gone');
  assert.equal(fresh.metadata.deletionTimestamp, undefined);
});
