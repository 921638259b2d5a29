import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Node, type Pod } from '../../../src/api/index.js';
import type { ObjectInput, Store } from '../../../src/scheduler/store/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { markStaleNodes, scheduleOnce, NodeSessions, handleRegister } from '../../../src/scheduler/server/index.js';
import { tempStore } from './store-helpers.js';
import { FakeAgent, api, makePki, makeTokens, podYaml, registerMessage, startServer } from './server-helpers.js';

/** Creates a pod from YAML as the API does (decoded, defaults filled in). */
function createPod(store: Store, yaml: string): void {
  for (const obj of decodeObjects(yaml, 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
}

function readyOf(node: Node | undefined) {
  return node?.status.conditions.find((c) => c.type === 'Ready');
}

describe('scheduler node sessions', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('registers a pinned agent, takes heartbeats, assigns a scheduled pod and stores its status', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const agent = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-a');

    agent.send({ v: 1, type: 'heartbeat', id: 'early', time: new Date().toISOString(), conditions: [] });
    const notRegistered = await agent.next();
    assert.equal(notRegistered.type, 'error');
    assert.equal(notRegistered.type === 'error' && notRegistered.code, 'NotRegistered');

    agent.send(registerMessage('node-a'));
    const registered = await agent.next();
    assert.equal(registered.type, 'registered');
    assert.equal(registered.type === 'registered' && registered.nodeName, 'node-a');
    // No pod is bound here yet: the (empty) re-send of bound pods ends at once.
    assert.deepEqual(await agent.next(), { v: 1, type: 'assignDone', uids: [] });
    const node = store.get<Node>('Node', '', 'node-a');
    assert.equal(readyOf(node)?.status, 'True');
    assert.ok(readyOf(node)?.lastHeartbeatTime);
    assert.equal(node?.status.nodeInfo.containerRuntimeVersion, 'corelet://0.1.0');
    assert.deepEqual(server.sessions.names(), ['node-a']);

    // A heartbeat refreshes the Ready condition; a bad message gets an error reply, not a hang-up.
    const before = readyOf(node)?.lastHeartbeatTime;
    agent.send({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] });
    agent.send({ v: 1, type: 'heartbeat', id: 'bad' });
    const invalid = await agent.next();
    assert.equal(invalid.type === 'error' && invalid.code, 'InvalidMessage');
    assert.match(invalid.type === 'error' ? invalid.message : '', /message\.heartbeat\.time: required value/);
    const rv = store.get<Node>('Node', '', 'node-a')!.metadata.resourceVersion;
    assert.notEqual(rv, node?.metadata.resourceVersion, 'the heartbeat (sent before the bad message) was stored');
    assert.ok(readyOf(store.get<Node>('Node', '', 'node-a'))!.lastHeartbeatTime! >= before!);

    // A pod applied through the API is bound by scheduleOnce and assigned over the socket.
    const applied = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podYaml('web') });
    assert.equal(applied.status, 200);
    const result = scheduleOnce(store, server.sessions);
    assert.deepEqual(result.bound, { 'default/web': 'node-a' });
    const assign = await agent.next();
    assert.equal(assign.type, 'assign');
    const pod = assign.type === 'assign' ? assign.pod : undefined;
    assert.equal(pod?.metadata.name, 'web');
    assert.equal(pod?.spec.nodeName, 'node-a');
    assert.equal(store.get<Pod>('Pod', 'default', 'web')?.spec.nodeName, 'node-a');
    assert.deepEqual(scheduleOnce(store, server.sessions).bound, {}, 'a bound pod is not placed again');

    // podStatus updates the stored pod; its events are recorded.
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    agent.send({
      v: 1,
      type: 'podStatus',
      uid: pod!.metadata.uid,
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], podIP: '10.88.0.5' },
      events: [{ type: 'Normal', reason: 'Started', message: 'Started container c', involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: pod!.metadata.uid }, firstTimestamp: now, lastTimestamp: now, count: 1, source: { component: 'corelet-agent', host: 'node-a' } }],
    });
    agent.send({ v: 1, type: 'podStatus', id: 'ghost', uid: 'no-such-uid', status: { phase: 'Running' }, events: [] });
    const ghost = await agent.next();
    assert.equal(ghost.type === 'error' && ghost.code, 'NotFound');
    assert.equal(ghost.type === 'error' && ghost.replyTo, 'ghost');
    const stored = store.get<Pod>('Pod', 'default', 'web');
    assert.equal(stored?.status?.phase, 'Running');
    assert.equal(stored?.status?.podIP, '10.88.0.5');
    assert.deepEqual(store.listEvents({ name: 'web' }).map((e) => e.reason), ['Started']);

    // A pod IP the node cannot have (here IPv6, which no Service could route to) is left out; the rest stays.
    agent.send({ v: 1, type: 'podStatus', uid: pod!.metadata.uid, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], podIP: 'fd00::5' }, events: [] });
    while (store.get<Pod>('Pod', 'default', 'web')?.status?.podIP !== undefined) await new Promise((r) => setTimeout(r, 5));
    assert.equal(store.get<Pod>('Pod', 'default', 'web')?.status?.phase, 'Running');

    // Deleting the pod through the API tells its node to stop it.
    const deleted = await api(server, pki, 'DELETE', '/api/v1/namespaces/default/pods/web', { token: tokens.api });
    assert.equal(deleted.status, 200);
    const unassign = await agent.next();
    assert.equal(unassign.type, 'unassign');
    assert.equal(unassign.type === 'unassign' && unassign.uid, pod!.metadata.uid);

    // On close the session goes away but the Node stays until markStaleNodes.
    agent.ws.close();
    await agent.closed();
    while (server.sessions.has('node-a')) await new Promise((r) => setImmediate(r));
    assert.equal(readyOf(store.get<Node>('Node', '', 'node-a'))?.status, 'True');
  });

  it('hands a reconnecting node its bound pods and closes the connection it replaces', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const first = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-b');
    first.send(registerMessage('node-b'));
    assert.equal((await first.next()).type, 'registered');
    assert.equal((await first.next()).type, 'assignDone');
    createPod(store, podYaml('kept'));
    assert.deepEqual(scheduleOnce(store, server.sessions).bound, { 'default/kept': 'node-b' });
    assert.equal((await first.next()).type, 'assign');

    // The same node again, with its certificate (a second bootstrap for node-b is refused: 409).
    const second = await FakeAgent.connect(t, server, pki, first.credentials);
    second.send(registerMessage('node-b'));
    assert.equal((await second.next()).type, 'registered');
    const again = await second.next();
    assert.equal(again.type === 'assign' && again.pod.metadata.name, 'kept');
    // The end of the re-send names every pod bound to the node: the agent drops any other it had.
    assert.deepEqual(await second.next(), { v: 1, type: 'assignDone', uids: [again.type === 'assign' ? again.pod.metadata.uid : ''] });
    await first.closed();
    assert.equal(first.ws.readyState, first.ws.CLOSED);
    // The old connection's close must not remove the new session.
    assert.deepEqual(server.sessions.names(), ['node-b']);
    second.send({ v: 1, type: 'heartbeat', id: 'hb', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True' }] });
    second.send({ v: 2, type: 'heartbeat' });
    const skew = await second.next();
    assert.equal(skew.type === 'error' && skew.code, 'UnsupportedVersion');
    // Its certificate names node-b: registering as another node is refused and the socket closed.
    second.send(registerMessage('node-c', 'rename'));
    const conflict = await second.next();
    assert.equal(conflict.type === 'error' && conflict.code, 'NodeNameConflict');
    assert.match(conflict.type === 'error' ? conflict.message : '', /certificate is for node node-b; it cannot register as node-c/);
    await second.closed();
    assert.equal(store.get('Node', '', 'node-c'), undefined);
  });

  it('refuses a wrong, missing or API bootstrap token with 401 before any message', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const wrongSecret = `${tokens.bootstrap.slice(0, 7)}${'0'.repeat(16)}`;
    for (const [token, message] of [
      [wrongSecret, /wrong secret/],
      ['abcdef.0123456789abcdef', /not known to this scheduler/],
      [tokens.api, /is a api token and cannot be used for joining nodes/],
      ['', /Authorization: Bearer/],
    ] as const) {
      await assert.rejects(FakeAgent.connect(t, server, pki, token, 'node-x'), (err: Error) => {
        assert.match(err.message, /refused the node certificate \(401\)/);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(store.list('Node'), []);
    assert.deepEqual(server.sessions.names(), []);
  });

  it('records FailedScheduling with the reasons when no node fits', async (t) => {
    const { store } = tempStore(t);
    handleRegister(store, registerMessage('small'), new Date());
    const sessions = new NodeSessions();
    createPod(store, podYaml('huge', '64'));
    const result = scheduleOnce(store, sessions);
    assert.deepEqual(result.bound, {});
    assert.match(result.unschedulable['default/huge'], /Insufficient cpu/);
    const events = store.listEvents({ name: 'huge' });
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'FailedScheduling');
    assert.equal(events[0].type, 'Warning');
    assert.match(events[0].message, /0\/1 nodes are available: 1 Insufficient cpu/);
    assert.equal(store.get<Pod>('Pod', 'default', 'huge')?.spec.nodeName ?? '', '');
  });

  it('marks a node NotReady (NodeStatusUnknown) after 40 s without a heartbeat, once', (t) => {
    const { store } = tempStore(t);
    const registeredAt = new Date('2026-11-27T10:00:00.000Z');
    handleRegister(store, registerMessage('quiet'), registeredAt);
    handleRegister(store, registerMessage('chatty'), new Date(registeredAt.getTime() + 30_000));

    assert.deepEqual(markStaleNodes(store, new Date(registeredAt.getTime() + 40_000)), [], 'exactly 40 s is still within the grace period');
    const later = new Date(registeredAt.getTime() + 41_000);
    assert.deepEqual(markStaleNodes(store, later), ['quiet']);
    const ready = readyOf(store.get<Node>('Node', '', 'quiet'));
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'NodeStatusUnknown');
    assert.equal(ready?.lastHeartbeatTime, registeredAt.toISOString());
    assert.equal(readyOf(store.get<Node>('Node', '', 'chatty'))?.status, 'True');
    assert.deepEqual(markStaleNodes(store, new Date(later.getTime() + 1000)), [], 'already marked');

    // A NotReady node gets no pods; registering again makes it Ready.
    createPod(store, `${podYaml('p')}  nodeSelector: { kubernetes.io/hostname: quiet }\n`);
    assert.match(scheduleOnce(store, new NodeSessions(), later).unschedulable['default/p'], /not ready/);
    handleRegister(store, registerMessage('quiet'), later);
    assert.equal(readyOf(store.get<Node>('Node', '', 'quiet'))?.status, 'True');
    assert.deepEqual(scheduleOnce(store, new NodeSessions(), later).bound, { 'default/p': 'quiet' });
  });
});
