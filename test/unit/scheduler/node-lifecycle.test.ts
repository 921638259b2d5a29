import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLifecycleController, reconcileDeployment, computeZoneState, ZONE_LABEL } from '../../../src/scheduler/controllers/index.js';
import type { Node } from '../../../src/api/index.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment, pods, runAll } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

/** A node that heartbeated at `beat` (Ready), in zone when given. */
function addNode(store: Store, name: string, beat: Date, zone?: string): void {
  store.create('Node', {
    metadata: { name, ...(zone ? { labels: { [ZONE_LABEL]: zone } } : {}) },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: beat.toISOString(), lastTransitionTime: t0.toISOString() }] },
  });
}

/** What a heartbeat does to the stored node. */
function heartbeat(store: Store, name: string, now: Date): void {
  store.mutate<Node>('Node', '', name, (n) => {
    n.status.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: now.toISOString(), lastTransitionTime: now.toISOString() }];
  });
}

function readyOf(store: Store, name: string): string | undefined {
  const c = store.get<Node>('Node', '', name)!.status.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True' ? 'True' : c?.reason;
}

/** A Deployment with n Ready pods spread over nodes. */
function deploy(store: Store, nodes: string[], n: number): void {
  createDeployment(store, 'web', { replicas: n });
  reconcileDeployment(store, 'default', 'web', t0);
  pods(store).forEach((p, i) => store.bindPod('default', p.metadata.name, nodes[i % nodes.length]!));
  runAll(store);
}

const terminating = (store: Store) => pods(store).filter((p) => p.metadata.deletionTimestamp !== undefined).map((p) => p.metadata.name);

test('a scheduler restarted after a 60 s outage deletes no pod: every node gets a full grace period from its start', (t) => {
  const { store } = tempStore(t);
  for (const n of ['a', 'b', 'c']) addNode(store, n, t0);
  deploy(store, ['a', 'b', 'c'], 6);
  const before = pods(store).map((p) => p.metadata.uid).sort();
  // Down from t0 to t0+60: the stored heartbeats are 60 s old when it starts.
  const start = at(60);
  const c = new NodeLifecycleController(start, { podEvictionTimeoutMs: 10_000 });
  for (let s = 60; s <= 100; s++) {
    // The agents back off up to 30 s before they reconnect.
    if (s === 90) for (const n of ['a', 'b', 'c']) heartbeat(store, n, at(s));
    const r = c.pass(store, at(s));
    assert.deepEqual(r.markedNotReady, [], `no node is marked NotReady at +${s - 60}s`);
    reconcileDeployment(store, 'default', 'web', at(s));
  }
  assert.deepEqual(pods(store).map((p) => p.metadata.uid).sort(), before, 'the same pods, none deleted or replaced');
  assert.deepEqual(terminating(store), []);
  for (const n of ['a', 'b', 'c']) assert.equal(readyOf(store, n), 'True');
});

test('a silent node is marked NotReady only after 40 s from the scheduler start, and its pods go Terminating 300 s after', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'a', t0);
  addNode(store, 'b', t0);
  deploy(store, ['a', 'b'], 2);
  const c = new NodeLifecycleController(at(1000));
  for (let s = 1000; s <= 1040; s++) {
    heartbeat(store, 'b', at(s));
    assert.deepEqual(c.pass(store, at(s)).markedNotReady, []);
  }
  heartbeat(store, 'b', at(1041));
  const r = c.pass(store, at(1041));
  assert.deepEqual(r.markedNotReady, ['a']);
  assert.deepEqual(r.tainted, ['a'], 'a healthy zone taints at once (one token)');
  assert.equal(readyOf(store, 'a'), 'NodeStatusUnknown');
  const ev = store.listEvents({ kind: 'Node', name: 'a' }).map((e) => e.reason);
  assert.ok(ev.includes('NodeNotReady') && ev.includes('NodeTainted'), ev.join(','));
  for (let s = 1042; s <= 1341; s += 10) {
    heartbeat(store, 'b', at(s));
    assert.deepEqual(c.pass(store, at(s)).evicted, [], `nothing evicted at +${s - 1041}s`);
  }
  heartbeat(store, 'b', at(1342));
  const evicted = c.pass(store, at(1342)).evicted;
  assert.equal(evicted.length, 1);
  // Graceful: the pod stays Terminating (its node may still run it); the Deployment replaces it.
  assert.deepEqual(terminating(store), [evicted[0]!.name]);
  const msg = store.listEvents({ kind: 'Pod', name: evicted[0]!.name }).find((e) => e.reason === 'NodeLost')?.message ?? '';
  assert.match(msg, /Terminating until the node confirms/);
  reconcileDeployment(store, 'default', 'web', at(1342));
  assert.equal(pods(store).length, 3, 'a replacement is created while the old pod is Terminating');
});

test('a node that never posted Ready gets the 60 s startup grace period', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'new' }, spec: {}, status: { conditions: [] } });
  const c = new NodeLifecycleController(t0);
  assert.deepEqual(c.pass(store, at(0)).markedNotReady, []);
  assert.deepEqual(c.pass(store, at(50)).markedNotReady, []);
  assert.deepEqual(c.pass(store, at(61)).markedNotReady, ['new']);
});

test('evictions are rate limited per zone: 0.1 nodes/s', (t) => {
  const { store } = tempStore(t);
  const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
  for (const n of names) addNode(store, n, t0);
  const c = new NodeLifecycleController(t0);
  const alive = names.slice(3);
  const tainted: [number, string[]][] = [];
  for (let s = 0; s <= 70; s++) {
    for (const n of alive) heartbeat(store, n, at(s));
    const r = c.pass(store, at(s));
    if (r.tainted.length > 0) tainted.push([s, r.tainted]);
    assert.equal(r.zones[''], 'Normal', '3 of 10 NotReady is no disruption');
  }
  assert.deepEqual(tainted, [[41, ['n0']], [51, ['n1']], [61, ['n2']]]);
  assert.ok(store.listEvents({ kind: 'Node', name: 'n2' }).some((e) => e.reason === 'EvictionHeld' && /rate limited to 0.1/.test(e.message)));
});

test('a partially disrupted zone (> 2 and ≥ 55% NotReady) stops evicting; other zones go on', (t) => {
  const { store } = tempStore(t);
  for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) addNode(store, n, t0, 'zone-a');
  for (const n of ['b1', 'b2', 'b3']) addNode(store, n, t0, 'zone-b');
  const c = new NodeLifecycleController(t0, { podEvictionTimeoutMs: 1000 });
  const alive = ['a4', 'a5', 'b2', 'b3'];
  const tainted: string[] = [];
  let zones: Record<string, string> = {};
  for (let s = 0; s <= 200; s++) {
    for (const n of alive) heartbeat(store, n, at(s));
    const r = c.pass(store, at(s));
    tainted.push(...r.tainted);
    zones = r.zones;
  }
  assert.deepEqual(zones, { 'zone-a': 'PartialDisruption', 'zone-b': 'Normal' });
  assert.deepEqual(tainted, ['b1'], 'zone-a (3 of 5 NotReady) evicts nothing');
  const held = store.listEvents({ kind: 'Node', name: 'a1' }).filter((e) => e.reason === 'EvictionHeld');
  assert.equal(held.length, 1);
  assert.match(held[0]!.message, /zone "zone-a" is partially disrupted \(3 of 5 nodes NotReady, threshold 0.55\): evictions there stop/);
});

test('a large partially disrupted zone evicts at the secondary rate', (t) => {
  const { store } = tempStore(t);
  const names = Array.from({ length: 6 }, (_, i) => `n${i}`);
  for (const n of names) addNode(store, n, t0);
  const c = new NodeLifecycleController(t0, { largeClusterSizeThreshold: 5 });
  const tainted: [number, string][] = [];
  for (let s = 0; s <= 250; s++) {
    for (const n of names.slice(4)) heartbeat(store, n, at(s));
    for (const n of c.pass(store, at(s)).tainted) tainted.push([s, n]);
  }
  // 4 of 6 NotReady: 0.01 nodes/s, the first token at once.
  assert.deepEqual(tainted, [[41, 'n0'], [141, 'n1'], [241, 'n2']]);
});

test('when every zone is fully disrupted nothing is evicted; after recovery the eviction clocks start again', (t) => {
  const { store } = tempStore(t);
  for (const n of ['a', 'b']) addNode(store, n, t0);
  deploy(store, ['a', 'b'], 2);
  const c = new NodeLifecycleController(t0, { podEvictionTimeoutMs: 5000 });
  for (let s = 0; s <= 300; s++) {
    const r = c.pass(store, at(s));
    assert.deepEqual(r.evicted, []);
    assert.deepEqual(r.tainted, []);
  }
  assert.deepEqual(c.pass(store, at(301)).zones, { '': 'FullDisruption' });
  assert.ok(store.listEvents({ kind: 'Node', name: 'a' }).some((e) => e.reason === 'EvictionHeld' && /full disruption/.test(e.message)));
  // b comes back; a stays silent. Its eviction clock starts only now (the disruption's time does
  // not count): tainted at once, its pod goes Terminating a full timeout (5 s) after the recovery.
  const tainted: [number, string][] = [];
  let firstEviction: number | undefined;
  for (let s = 302; s <= 400; s++) {
    heartbeat(store, 'b', at(s));
    const r = c.pass(store, at(s));
    for (const n of r.tainted) tainted.push([s, n]);
    if (r.evicted.length > 0) firstEviction ??= s;
  }
  assert.deepEqual(tainted, [[302, 'a']]);
  assert.equal(firstEviction, 308);
  assert.equal(terminating(store).length, 1, "a's pod is Terminating, b's runs");
});

test('computeZoneState follows kube: FullDisruption with no Ready node, PartialDisruption needs more than 2 NotReady', () => {
  assert.equal(computeZoneState(0, 1, 0.55), 'FullDisruption');
  assert.equal(computeZoneState(1, 2, 0.55), 'Normal');
  assert.equal(computeZoneState(2, 3, 0.55), 'PartialDisruption');
  assert.equal(computeZoneState(3, 3, 0.55), 'Normal');
  assert.equal(computeZoneState(0, 0, 0.55), 'Normal');
});

test('a node that comes back Ready loses its taint: its pods are not evicted', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'a', t0);
  addNode(store, 'b', t0);
  deploy(store, ['a', 'b'], 2);
  const c = new NodeLifecycleController(t0, { podEvictionTimeoutMs: 60_000 });
  for (let s = 0; s <= 60; s++) {
    heartbeat(store, 'b', at(s));
    c.pass(store, at(s));
  }
  assert.equal(readyOf(store, 'a'), 'NodeStatusUnknown');
  heartbeat(store, 'a', at(61));
  for (let s = 61; s <= 200; s++) {
    heartbeat(store, 'a', at(s));
    heartbeat(store, 'b', at(s));
    assert.deepEqual(c.pass(store, at(s)).evicted, []);
  }
  assert.ok(store.listEvents({ kind: 'Node', name: 'a' }).some((e) => e.reason === 'NodeReady'));
});

test('nodes stored NodeStatusUnknown by a scheduler before its restart are not NotReady (nor tainted) during the new start\'s grace period', (t) => {
  const { store } = tempStore(t);
  for (const n of ['a', 'b', 'c']) addNode(store, n, t0);
  deploy(store, ['a', 'b'], 4);
  // The previous process marked a and b Unknown (c stayed Ready), then crashed.
  const old = new NodeLifecycleController(t0, { podEvictionTimeoutMs: 1000, nodeEvictionRate: 0 });
  for (let s = 0; s <= 41; s++) {
    heartbeat(store, 'c', at(s));
    old.pass(store, at(s));
  }
  for (const n of ['a', 'b']) assert.equal(readyOf(store, n), 'NodeStatusUnknown');
  const before = pods(store).map((p) => p.metadata.uid).sort();
  // Restarted at +100 s with a low eviction timeout; the agents reconnect at +130 s.
  const c = new NodeLifecycleController(at(100), { podEvictionTimeoutMs: 1000 });
  for (let s = 100; s <= 140; s++) {
    heartbeat(store, 'c', at(s));
    if (s >= 130) for (const n of ['a', 'b']) heartbeat(store, n, at(s));
    const r = c.pass(store, at(s));
    assert.deepEqual(r.tainted, [], `nothing tainted at +${s - 100}s after the restart`);
    assert.deepEqual(r.evicted, []);
  }
  assert.deepEqual(terminating(store), []);
  assert.deepEqual(pods(store).map((p) => p.metadata.uid).sort(), before);
});

test('a node stored Unknown that stays silent after a restart is NotReady once the grace period from the start has passed', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'a', t0);
  addNode(store, 'b', t0);
  const old = new NodeLifecycleController(t0);
  for (let s = 0; s <= 41; s++) {
    heartbeat(store, 'b', at(s));
    old.pass(store, at(s));
  }
  assert.equal(readyOf(store, 'a'), 'NodeStatusUnknown');
  const c = new NodeLifecycleController(at(100));
  const tainted: string[] = [];
  for (let s = 100; s <= 141; s++) {
    heartbeat(store, 'b', at(s));
    tainted.push(...c.pass(store, at(s)).tainted);
    if (s <= 140) assert.deepEqual(tainted, [], `not tainted at +${s - 100}s`);
  }
  assert.deepEqual(tainted, ['a']);
});
