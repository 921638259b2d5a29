/**
 * The watch-driven endpoints controller: a change to a pod (an agent's status report, a graceful
 * deletion, a removal), to a node's readiness or to a Service is followed by one pass (a timer the
 * test runs by hand, no clock), which reconciles only the Services the change concerns; a status
 * report that changes nothing an endpoint is made of, and the controller's own writes, cause none.
 * The index's lookups (selector pairs, namespaces). Then the same through the running scheduler, with
 * a fake agent's podStatus and heartbeat messages.
 */
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeObjects, type EndpointSlice, type Message, type Pod, type Service } from '../../../src/api/index.js';
import { desiredEndpointSlices, EndpointsController, EndpointsIndex, type EndpointsPassResult, type EndpointsTimer } from '../../../src/scheduler/controllers/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { initScheduler, startScheduler, type RunningScheduler } from '../../../src/scheduler/daemon.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { addNode, setNodeReady } from './controllers-helpers.js';
import { api, FakeAgent, registerMessage } from './server-helpers.js';

type Json = Record<string, any>;

/** Timers run by the test: what is pending, and run() fires them in order. */
class ManualTimers {
  pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  readonly set = (fn: () => void, ms: number): EndpointsTimer => {
    const timer = { fn, ms, cancelled: false };
    this.pending.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  };

  /** Pending timers (not cancelled). */
  count(): number {
    return this.pending.filter((t) => !t.cancelled).length;
  }

  /** Fires the timers pending now (not those they start); returns how many fired. */
  runPending(): number {
    const due = this.pending.filter((t) => !t.cancelled);
    this.pending = [];
    for (const t of due) t.fn();
    return due.length;
  }
}

function setup(t: TestContext): { store: Store; timers: ManualTimers; passes: EndpointsPassResult[]; controller: EndpointsController } {
  const { store } = tempStore(t);
  store.create('Namespace', { metadata: { name: 'default', namespace: '' } } as never);
  addNode(store, 'n1');
  addNode(store, 'n2');
  const timers = new ManualTimers();
  const passes: EndpointsPassResult[] = [];
  const controller = new EndpointsController(store, { setTimer: timers.set, onPass: (r) => passes.push(r) });
  t.after(() => controller.close());
  return { store, timers, passes, controller };
}

function addService(store: Store, name: string, app: string): void {
  const [obj] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } }), 'svc.yaml').objects;
  store.create('Service', obj as never);
}

function addPod(store: Store, name: string, app: string, ip: string, node = 'n1'): void {
  store.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app } },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'web' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }] },
  } as never);
}

/** What an agent's podStatus report does to the store. */
function report(store: Store, name: string, change: (status: NonNullable<Pod['status']>) => void): void {
  store.mutate<Pod>('Pod', 'default', name, (p) => change(p.status!));
}

/** Endpoint conditions of a Service's slices, by pod name. */
function endpoints(store: Store, service: string): Record<string, Json> {
  const slices = store.list<StoredObject & EndpointSlice>('EndpointSlice', { namespace: 'default' }).filter((s) => s.metadata.labels['kubernetes.io/service-name'] === service);
  return Object.fromEntries(slices.flatMap((s) => s.endpoints.map((e) => [e.targetRef.name, e.conditions])));
}

const READY = { ready: true, serving: true, terminating: false };

describe('endpoints controller: one pass follows each change', () => {
  it('reconciles every Service once at start, then nothing until something changes', (t) => {
    const { store, timers, passes, controller } = setup(t);
    addService(store, 'web', 'web');
    addPod(store, 'web-1', 'web', '10.244.1.5');
    controller.start();
    assert.equal(timers.count(), 1, 'one pass scheduled at start');
    timers.runPending();
    assert.deepEqual(endpoints(store, 'web'), { 'web-1': READY });
    assert.deepEqual(passes.map((p) => [p.services, p.created]), [[1, 1]]);
    timers.runPending(); // the follow-up of the batch: nothing left
    assert.equal(timers.count(), 0, 'its own slice write schedules no pass');
    assert.equal(passes.at(-1)!.remaining, 0);
  });

  it('follows readiness, graceful deletion, removal and node readiness, each with one pass of only the Service concerned', (t) => {
    const { store, timers, passes, controller } = setup(t);
    addService(store, 'web', 'web');
    addService(store, 'other', 'other');
    addPod(store, 'web-1', 'web', '10.244.1.5');
    addPod(store, 'web-2', 'web', '10.244.2.5', 'n2');
    addPod(store, 'other-1', 'other', '10.244.1.9');
    controller.start();
    while (timers.runPending() > 0);
    const step = (what: string, change: () => void, want: Record<string, Json>, services = 1) => {
      passes.length = 0;
      change();
      assert.equal(timers.count(), 1, `${what}: one pass scheduled`);
      assert.notDeepEqual(endpoints(store, 'web'), want, `${what}: not before the pass`);
      timers.runPending();
      assert.deepEqual(endpoints(store, 'web'), want, what);
      assert.equal(passes[0]!.services, services, `${what}: only the Services selecting the pods concerned`);
      timers.runPending();
      assert.equal(timers.count(), 0);
    };
    step('readiness fails', () => report(store, 'web-1', (s) => void (s.conditions = [{ type: 'Ready', status: 'False' }])), {
      'web-1': { ready: false, serving: false, terminating: false },
      'web-2': READY,
    });
    step('Ready again', () => report(store, 'web-1', (s) => void (s.conditions = [{ type: 'Ready', status: 'True' }])), { 'web-1': READY, 'web-2': READY });
    step('graceful deletion', () => store.mutate<Pod>('Pod', 'default', 'web-2', (p) => void (p.metadata.deletionTimestamp = '2026-01-01T00:00:30Z')), {
      'web-1': READY,
      'web-2': { ready: false, serving: true, terminating: true },
    });
    step('removed', () => store.delete('Pod', 'default', 'web-2'), { 'web-1': READY });
    step('node NotReady', () => setNodeReady(store, 'n1', false, new Date()), { 'web-1': { ready: false, serving: false, terminating: false } }, 2);
    assert.deepEqual(endpoints(store, 'other'), { 'other-1': { ready: false, serving: false, terminating: false } }, 'the pass of the node reconciled the other Service with a pod there');
  });

  it('schedules no pass for a status report that changes nothing an endpoint is made of, or a heartbeat', (t) => {
    const { store, timers, controller } = setup(t);
    addService(store, 'web', 'web');
    addPod(store, 'web-1', 'web', '10.244.1.5');
    controller.start();
    while (timers.runPending() > 0);
    report(store, 'web-1', (s) => void (s.containerStatuses = [{ name: 'c', ready: true, restartCount: 3 } as never]));
    setNodeReady(store, 'n1', true, new Date()); // a heartbeat: Ready stays True
    assert.equal(timers.count(), 0);
  });

  it('coalesces changes into one pass, and follows label and Service changes', (t) => {
    const { store, timers, passes, controller } = setup(t);
    addService(store, 'web', 'web');
    controller.start();
    while (timers.runPending() > 0);
    addPod(store, 'a', 'web', '10.244.1.1');
    addPod(store, 'b', 'web', '10.244.1.2');
    report(store, 'a', (s) => void (s.podIP = '10.244.1.3'));
    assert.equal(timers.count(), 1, 'one pass for three changes');
    passes.length = 0;
    timers.runPending();
    assert.deepEqual(Object.keys(endpoints(store, 'web')), ['a', 'b']);
    assert.equal(passes[0]!.services, 1);
    // A label change moves the pod out (the old labels' Services are reconciled too).
    store.mutate<Pod>('Pod', 'default', 'a', (p) => void (p.metadata.labels = { app: 'elsewhere' }));
    assert.equal(timers.count(), 1);
    timers.runPending();
    assert.deepEqual(Object.keys(endpoints(store, 'web')), ['b']);
    // A new Service selecting the pods gets its slice in one pass; a deleted one loses it.
    addService(store, 'web2', 'web');
    timers.runPending();
    assert.deepEqual(Object.keys(endpoints(store, 'web2')), ['b']);
    store.delete('Service', 'default', 'web2');
    timers.runPending();
    assert.deepEqual(endpoints(store, 'web2'), {});
  });

  it('puts back a managed slice someone else deleted', (t) => {
    const { store, timers, controller } = setup(t);
    addService(store, 'web', 'web');
    addPod(store, 'a', 'web', '10.244.1.1');
    controller.start();
    while (timers.runPending() > 0);
    const [slice] = store.list<StoredObject>('EndpointSlice', { namespace: 'default' });
    store.delete('EndpointSlice', 'default', slice!.metadata.name);
    assert.equal(timers.count(), 1);
    timers.runPending();
    assert.deepEqual(endpoints(store, 'web'), { a: READY });
  });

  it('retries a Service whose reconcile failed, retryMs later, and the others still get theirs', (t) => {
    const { store, timers, passes, controller } = setup(t);
    addService(store, 'web', 'web');
    addService(store, 'other', 'other');
    addPod(store, 'a', 'web', '10.244.1.1');
    addPod(store, 'o', 'other', '10.244.1.2');
    // Someone else's slice under the name the controller wants: its create fails (AlreadyExists).
    const [want] = desiredEndpointSlices(store.get<StoredObject & Service>('Service', 'default', 'web')!, store.list<StoredObject & Pod>('Pod', { namespace: 'default' }).filter((p) => p.metadata.name === 'a'), () => true);
    const [squatter] = decodeObjects(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: want!.metadata.name }, addressType: 'IPv4', endpoints: [], ports: [] }), 'x').objects;
    store.create('EndpointSlice', squatter as never);
    controller.start();
    timers.runPending();
    assert.deepEqual(passes[0]!.failures.map((f) => f.object), ['Service default/web']);
    assert.deepEqual(endpoints(store, 'other'), { o: READY }, 'the other Service is reconciled');
    assert.ok(timers.pending.some((p) => !p.cancelled && p.ms === 1000), 'a retry 1 s later');
    store.delete('EndpointSlice', 'default', want!.metadata.name);
    while (timers.runPending() > 0);
    assert.deepEqual(endpoints(store, 'web'), { a: READY });
  });

  it('keeps its index equal to a fresh one after the changes', (t) => {
    const { store, timers, controller } = setup(t);
    addService(store, 'web', 'web');
    addPod(store, 'a', 'web', '10.244.1.1');
    addPod(store, 'b', 'web', '10.244.1.2', 'n2');
    controller.start();
    while (timers.runPending() > 0);
    store.delete('Pod', 'default', 'a');
    setNodeReady(store, 'n2', false, new Date());
    while (timers.runPending() > 0);
    const fresh = EndpointsIndex.load(store);
    assert.deepEqual(
      fresh.selectedPods('default', { app: 'web' }).map((p) => p.metadata.name),
      ['b'],
    );
    assert.deepEqual(endpoints(store, 'web'), { b: { ready: false, serving: false, terminating: false } });
  });
});

describe('endpoints index: lookups', () => {
  it('selects by every selector pair, within the namespace, and names the Services a pod concerns', (t) => {
    const { store } = tempStore(t);
    for (const ns of ['default', 'other']) store.create('Namespace', { metadata: { name: ns, namespace: '' } } as never);
    const pod = (namespace: string, name: string, labels: Record<string, string>) =>
      store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', image: 'x' }] } } as never);
    const svc = (namespace: string, name: string, selector: Record<string, string>) => {
      const [obj] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports: [{ port: 80 }] } }), 'svc.yaml').objects;
      store.create('Service', obj as never);
    };
    pod('default', 'web-a', { app: 'web', tier: 'front' });
    pod('default', 'web-b', { app: 'web', tier: 'back' });
    pod('other', 'web-c', { app: 'web', tier: 'front' });
    svc('default', 'front', { app: 'web', tier: 'front' });
    svc('default', 'all', { app: 'web' });
    svc('other', 'front', { app: 'web', tier: 'front' });
    const index = EndpointsIndex.load(store);
    const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata.name).sort();
    assert.deepEqual(names(index.selectedPods('default', { app: 'web', tier: 'front' })), ['web-a']);
    assert.deepEqual(names(index.selectedPods('default', { app: 'web' })), ['web-a', 'web-b']);
    assert.deepEqual(names(index.selectedPods('other', { app: 'web' })), ['web-c']);
    assert.deepEqual(index.selectedPods('default', { app: 'none' }), []);
    // a change to web-b concerns the Services selecting it before or after
    let seen: Set<string> | undefined;
    const stop = store.watch((c) => {
      if (c.kind === 'Pod') seen = index.apply(c);
    });
    store.mutate<Pod>('Pod', 'default', 'web-b', (p) => void (p.metadata.labels = { app: 'web', tier: 'front' }));
    stop();
    assert.deepEqual([...seen!].sort(), ['default/all', 'default/front']);
    assert.deepEqual(names(index.selectedPods('default', { app: 'web', tier: 'front' })), ['web-a', 'web-b']);
  });
});

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child() { return silent; } };

async function nextOfType<T extends Message['type']>(agent: FakeAgent, type: T): Promise<Extract<Message, { type: T }>> {
  for (;;) {
    const m = await agent.next();
    if (m.type === type) return m as Extract<Message, { type: T }>;
  }
}

describe('endpoints on a running scheduler: an agent\'s reports reach the slices', () => {
  let dir: string;
  let s: RunningScheduler;
  let pki: Pki;
  let admin: string;
  let bootstrap: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sched-endpoints-'));
    const init = await initScheduler({ dir, hosts: ['127.0.0.1'], port: 0, configFile: join(dir, 'config') });
    admin = init.adminToken;
    bootstrap = init.bootstrapToken;
    pki = { ca: { certPem: init.caCert } } as Pki;
    s = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silent });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const req = (method: string, path: string, body?: unknown) =>
    api(s.server, pki, method, path, { token: admin, body: body === undefined ? undefined : JSON.stringify(body), contentType: body === undefined ? undefined : 'application/json' });

  /** Polls the Service's slices until want(conditions by pod) holds (no deadline: the test runner's). */
  async function until(service: string, want: (byPod: Record<string, Json>) => boolean): Promise<Record<string, Json>> {
    for (;;) {
      const list = await req('GET', `/api/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io/service-name%3D${service}`);
      assert.equal(list.status, 200, list.text);
      const byPod = Object.fromEntries((list.body.items as EndpointSlice[]).flatMap((sl) => sl.endpoints.map((e) => [e.targetRef.name, e.conditions])));
      if (want(byPod)) return byPod;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a podStatus Ready, a heartbeat NotReady and a DELETE change the endpoint', async (t) => {
    const agent = await FakeAgent.connect(t, s.server, pki, bootstrap, 'node-a');
    agent.send(registerMessage('node-a'));
    await nextOfType(agent, 'registered');
    assert.equal((await req('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } })).status, 201);
    const created = await req('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', labels: { app: 'web' } },
      spec: { nodeName: 'node-a', terminationGracePeriodSeconds: 30, containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.equal(created.status, 201, created.text);
    const uid = (await nextOfType(agent, 'assign')).pod.metadata.uid;
    const status = (ready: boolean) => ({ phase: 'Running', podIP: '10.244.0.7', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], initContainerStatuses: [], containerStatuses: [] });
    agent.send({ v: 1, type: 'podStatus', uid, status: status(true), events: [] });
    assert.deepEqual((await until('web', (e) => e['web-1']?.ready === true))['web-1'], READY);
    agent.send({ v: 1, type: 'podStatus', uid, status: status(false), events: [] });
    await until('web', (e) => e['web-1']?.ready === false);
    agent.send({ v: 1, type: 'podStatus', uid, status: status(true), events: [] });
    await until('web', (e) => e['web-1']?.ready === true);
    agent.send({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'False', reason: 'RuntimeDown', message: 'test' }] });
    assert.deepEqual((await until('web', (e) => e['web-1']?.serving === false))['web-1'], { ready: false, serving: false, terminating: false });
    agent.send({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test' }] });
    await until('web', (e) => e['web-1']?.ready === true);
    assert.equal((await req('DELETE', '/api/v1/namespaces/default/pods/web-1')).status, 200);
    assert.deepEqual((await until('web', (e) => e['web-1']?.terminating === true))['web-1'], { ready: false, serving: true, terminating: true });
  });
});
