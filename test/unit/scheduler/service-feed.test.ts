/**
 * The `services` messages agents get: a snapshot at registration, then coalesced deltas of Services
 * and EndpointSlices; every message passes the agent's parseMessage; big batches are split with `more`.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, encodeMessage, parseMessage, type Message, type ServicesMessage } from '../../../src/api/index.js';
import { reconcileAll } from '../../../src/scheduler/controllers/index.js';
import { ServiceFeed, servicesMessages, serviceOnWire } from '../../../src/scheduler/server/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { addNode } from './controllers-helpers.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { FakeAgent, api, makePki, makeTokens, registerMessage, startServer } from './server-helpers.js';

/** A node sessions stand-in recording what each node got, through the wire encoding and the agent's parser. */
function recorder() {
  const got: { to: string; m: ServicesMessage }[] = [];
  const take = (to: string, m: Message) => {
    got.push({ to, m: parseMessage(encodeMessage(m), { receiver: 'agent' }) as ServicesMessage });
    return true;
  };
  return { got, sessions: { send: (node: string, m: Message) => take(node, m), broadcast: (m: Message) => void take('*', m) } };
}

function addService(store: Store, name: string, spec: Record<string, unknown>): StoredObject {
  const [obj] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } }), 's').objects;
  return store.create('Service', obj as never);
}

function addReadyPod(store: Store, name: string, app: string, ip: string): void {
  store.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }], initContainerStatuses: [], containerStatuses: [] },
  } as never);
}

describe('service feed', () => {
  it('sends a registering node every Service and EndpointSlice with reset, in a form the agent accepts', (t) => {
    const { store } = tempStore(t);
    store.create('Namespace', { metadata: { name: 'default', namespace: '' } } as never);
    addNode(store, 'n1');
    addService(store, 'web', { clusterIP: '10.96.0.20', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    addService(store, 'db', { clusterIP: 'None' });
    addReadyPod(store, 'web-1', 'web', '10.244.1.5');
    reconcileAll(store, new Date());
    const { got, sessions } = recorder();
    const feed = new ServiceFeed(store, sessions, 1_000_000);
    t.after(() => feed.close());
    feed.snapshot('n1');
    assert.equal(got.length, 1);
    const [{ to, m }] = got;
    assert.equal(to, 'n1');
    assert.equal(m.reset, true);
    assert.equal(m.more, undefined);
    assert.deepEqual(m.services.map((s) => [s.metadata.name, s.spec.clusterIP, s.spec.ports[0]!.nodePort]).sort(), [['db', 'None', undefined], ['web', '10.96.0.20', 30080]]);
    const web = m.services.find((s) => s.metadata.name === 'web')!;
    assert.deepEqual(Object.keys(web.metadata).sort(), ['annotations', 'labels', 'name', 'namespace', 'resourceVersion', 'uid']);
    const slice = m.endpointSlices.find((s) => s.metadata.labels['kubernetes.io/service-name'] === 'web')!;
    assert.deepEqual(slice.endpoints.map((e) => [e.addresses[0], e.conditions.ready]), [['10.244.1.5', true]]);
    assert.equal(m.endpointSlices.length, 2, 'web and the empty one of db');
  });

  it('broadcasts each change once, coalesced: upserts with the newest object, deletions by name', (t) => {
    const { store } = tempStore(t);
    store.create('Namespace', { metadata: { name: 'default', namespace: '' } } as never);
    addNode(store, 'n1');
    const { got, sessions } = recorder();
    const feed = new ServiceFeed(store, sessions, 1_000_000);
    t.after(() => feed.close());
    addService(store, 'web', { clusterIP: '10.96.0.21' });
    addService(store, 'unallocated', {});
    addReadyPod(store, 'web-1', 'web', '10.244.1.5');
    reconcileAll(store, new Date());
    addReadyPod(store, 'web-2', 'web', '10.244.1.6');
    reconcileAll(store, new Date());
    addService(store, 'gone', { clusterIP: '10.96.0.22' });
    store.delete('Service', 'default', 'gone');
    assert.equal(got.length, 0, 'nothing before the coalescing window ends');
    feed.flush();
    assert.equal(got.length, 1);
    const { to, m } = got[0]!;
    assert.equal(to, '*');
    assert.equal(m.reset, undefined);
    assert.deepEqual(m.services.map((s) => s.metadata.name), ['web'], 'a Service without its cluster IP is not sent as one');
    assert.equal(m.endpointSlices.length, 2);
    assert.deepEqual(m.endpointSlices.find((s) => s.endpoints.length > 0)!.endpoints.map((e) => e.addresses[0]), ['10.244.1.5', '10.244.1.6'], 'the newest slice only');
    assert.deepEqual(m.deleted, [{ kind: 'Service', namespace: 'default', name: 'unallocated' }, { kind: 'Service', namespace: 'default', name: 'gone' }], 'one the nodes cannot use goes as deleted');
    feed.flush();
    assert.equal(got.length, 1, 'nothing pending: nothing sent');
    // Deleting the Service: its slices go with it in the next pass.
    store.delete('Service', 'default', 'web');
    reconcileAll(store, new Date());
    feed.flush();
    assert.deepEqual(got[1]!.m.deleted.map((d) => d.kind).sort(), ['EndpointSlice', 'Service']);
  });

  it('splits a batch too big for one message, all but the last marked more, the reset on the first', (t) => {
    const { store } = tempStore(t);
    store.create('Namespace', { metadata: { name: 'default', namespace: '' } } as never);
    const services = Array.from({ length: 50 }, (_, i) => serviceOnWire(addService(store, `s${i}`, { clusterIP: `10.96.1.${i + 1}` })));
    const messages = servicesMessages({ reset: true, services, endpointSlices: [], deleted: [{ kind: 'Service', namespace: 'default', name: 'old' }] }, 4000);
    assert.ok(messages.length > 3, `${messages.length} messages`);
    assert.deepEqual(messages.map((m) => [m.reset, m.more]), messages.map((_, i) => [i === 0 ? true : undefined, i < messages.length - 1 ? true : undefined]));
    assert.deepEqual(messages.flatMap((m) => m.services.map((s) => s.metadata.name)), services.map((s) => s.metadata.name));
    assert.deepEqual(messages[0]!.deleted.map((d) => d.name), ['old']);
    for (const m of messages) assert.ok(encodeMessage(m).length < 5000);
    assert.deepEqual(servicesMessages({ reset: true, services: [], endpointSlices: [], deleted: [] }).map((m) => m.reset), [true], 'an empty cluster still resets');
  });

  it('costs the agent only the object it refuses: the others are kept, the refused one is named; unknown fields in an object are dropped', () => {
    const base = { v: 1, type: 'services', services: [], endpointSlices: [], deleted: [] };
    const svc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `u-${name}` }, spec: { ports: [{ port: 80 }], ...spec } });
    const slice = (name: string, port: unknown) => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'] }], ports: [{ name: 'http', port }] });
    const m = parseMessage({ ...base, reset: true, services: [svc('web', { clusterIP: '10.96.0.20' }), svc('noip', {}), svc('newer', { clusterIP: '10.96.0.21', aFieldOfTomorrow: 1 })], endpointSlices: [slice('web-1', 8080), slice('web-2', 0)] }, { receiver: 'agent' }) as ServicesMessage;
    assert.deepEqual(m.services.map((x) => x.metadata.name), ['web', 'newer']);
    assert.deepEqual(m.endpointSlices.map((x) => x.metadata.name), ['web-1']);
    assert.deepEqual(m.refused, ['message.services.services[1].spec.clusterIP: required value (an allocated address or None)', 'message.services.endpointSlices[1].ports[0].port: must be between 1 and 65535, inclusive']);
    assert.equal(m.reset, true);
  });

  it('sends an object the agents would refuse as deleted (a delta) or leaves it out (a snapshot), and says so', (t) => {
    const { store } = tempStore(t);
    const { got, sessions } = recorder();
    const unusable: string[][] = [];
    const feed = new ServiceFeed(store, sessions, 1_000_000, (problems) => unusable.push(problems));
    t.after(() => feed.close());
    addService(store, 'web', { clusterIP: '10.96.0.20' });
    // Written by code that skips the API's checks: a slice port of 0.
    store.create('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false } }], ports: [{ name: '', protocol: 'TCP', port: 0 }] } as never);
    feed.flush();
    assert.deepEqual(got[0]!.m.endpointSlices, []);
    assert.deepEqual(got[0]!.m.deleted, [{ kind: 'EndpointSlice', namespace: 'default', name: 'web-x' }]);
    assert.deepEqual(got[0]!.m.services.map((s) => s.metadata.name), ['web']);
    feed.snapshot('n1');
    assert.deepEqual([got[1]!.m.reset, got[1]!.m.endpointSlices.length, got[1]!.m.services.length], [true, 0, 1]);
    assert.equal(got[1]!.m.clusterCIDR, undefined, 'no cluster CIDR configured: none told');
    const told = new ServiceFeed(store, sessions, 1_000_000, () => {}, '10.50.0.0/16');
    t.after(() => told.close());
    told.snapshot('n1');
    assert.equal(got[2]!.m.clusterCIDR, '10.50.0.0/16', "the snapshot tells the node the cluster's pod CIDR");
    assert.equal(unusable.length, 2);
    assert.match(unusable[0]!.join('\n'), /EndpointSlice default\/web-x\.ports\[0\]\.port: must be between 1 and 65535/);
  });

  it('is refused whole by the agent only when the message itself is bad', () => {
    const base = { v: 1, type: 'services', services: [], endpointSlices: [], deleted: [] };
    assert.throws(() => parseMessage({ ...base, deleted: [{ kind: 'Pod', namespace: 'default', name: 'x' }] }, { receiver: 'agent' }), /message\.services\.deleted\[0\]\.kind: unsupported value "Pod"/);
    assert.throws(() => parseMessage({ ...base, extra: 1 }, { receiver: 'agent' }), /message\.services\.extra: unknown field/);
    assert.throws(() => parseMessage(base, { receiver: 'scheduler' }), /services goes from scheduler to agent/);
  });
});

describe('service feed through the scheduler server', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('gives a registering agent the snapshot (reset, even when empty), then a Service applied through the API with its cluster IP', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const agent = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-a');
    agent.send(registerMessage('node-a'));
    assert.equal((await agent.next()).type, 'registered');
    assert.equal((await agent.next()).type, 'assignDone');
    assert.deepEqual(agent.services, [{ v: 1, type: 'services', reset: true, services: [], endpointSlices: [], deleted: [] }]);
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    assert.equal((await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body })).status, 200);
    while (agent.services.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const delta = agent.services[1]!;
    assert.equal(delta.reset, undefined);
    assert.deepEqual(delta.services.map((s) => [s.metadata.name, s.spec.clusterIP === store.get<StoredObject & { spec: { clusterIP: string } }>('Service', 'default', 'web')!.spec.clusterIP]), [['web', true]]);
  });
});
