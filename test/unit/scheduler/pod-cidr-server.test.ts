import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Message, Node, PeerNode, RegisterMessage } from '../../../src/api/index.js';
import type { Pki, TokenRecord } from '../../../src/scheduler/auth/index.js';
import { markStaleNodes, podCidrConfig, startSchedulerServer, type PodCidrConfig, type SchedulerServer } from '../../../src/scheduler/server/index.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { tempDir } from './store-helpers.js';
import { FakeAgent, makePki, makeTokens, registerMessage } from './server-helpers.js';

/** A server that allocates pod CIDRs; closed when the test ends (closing it earlier is fine). */
async function startCidrServer(t: TestContext, store: Store, pki: Pki, lookup: (id: string) => TokenRecord | undefined, podCidrs: PodCidrConfig = podCidrConfig()): Promise<SchedulerServer> {
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: lookup, podCidrs });
  t.after(() => server.close());
  return server;
}

/** A register message from node name at address, optionally asking for a pod CIDR. */
function register(name: string, address: string, podCIDR?: string): RegisterMessage {
  return { ...registerMessage(name), addresses: [{ type: 'InternalIP', address }], ...(podCIDR ? { podCIDR } : {}) };
}

/** Connects an agent, registers it and returns it with the CIDR of its `registered` and its first `peers` (then `assignDone`). */
async function join_(t: TestContext, server: SchedulerServer, pki: Pki, token: string, msg: RegisterMessage, moreIps: string[] = []): Promise<{ agent: FakeAgent; podCIDR?: string; peers: PeerNode[] }> {
  // A node may report only the addresses in its certificate.
  const agent = await FakeAgent.connect(t, server, pki, token, msg.nodeName, { ips: [...msg.addresses.map((a) => a.address), ...moreIps] });
  agent.send(msg);
  const registered = await agent.next();
  assert.equal(registered.type, 'registered', JSON.stringify(registered));
  const peers = await agent.next();
  assert.equal(peers.type, 'peers', 'peers follows registered');
  const done = await agent.next();
  assert.equal(done.type, 'assignDone', 'the re-send of the bound pods (none) ends with assignDone');
  return { agent, podCIDR: registered.type === 'registered' ? registered.podCIDR : undefined, peers: peers.type === 'peers' ? peers.nodes : [] };
}

/** Reads peers messages until one lists `count` nodes (coalescing may merge or split changes). */
async function peersUntil(agent: FakeAgent, count: number): Promise<string[]> {
  for (;;) {
    const nodes = await nextPeers(agent);
    assert.ok(nodes.length <= count, `more peers than expected: ${nodes.join(', ')}`);
    if (nodes.length === count) return nodes;
  }
}

/** The next message, which must be peers: its nodes as "name cidr address". */
async function nextPeers(agent: FakeAgent): Promise<string[]> {
  const m = await agent.next();
  assert.equal(m.type, 'peers', `expected peers, got ${JSON.stringify(m)}`);
  return m.type === 'peers' ? m.nodes.map(show) : [];
}

function show(p: PeerNode): string {
  return `${p.name} ${p.podCIDR} ${p.address}`;
}

/**
 * Proves the agent got no message before now: the NotFound reply to a status of an unknown pod must be the very next
 * message (the socket keeps order).
 */
async function assertNothingPending(agent: FakeAgent): Promise<void> {
  agent.send({ v: 1, type: 'podStatus', id: 'probe', uid: 'no-such-pod', status: { phase: 'Running' }, events: [] });
  const m: Message = await agent.next();
  assert.equal(m.type === 'error' && m.replyTo, 'probe', `expected nothing before the probe's error, got ${JSON.stringify(m)}`);
}

describe('pod CIDR allocation through the scheduler server', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('gives each node a distinct /24, tells every agent its peers, and keeps CIDRs across re-registration and restart', async (t) => {
    const path = join(tempDir(t), 'state.db');
    let store = Store.open(path);
    t.after(() => store.close());
    const tokens = makeTokens();
    let server = await startCidrServer(t, store, pki, tokens.lookup);

    const a = await join_(t, server, pki, tokens.bootstrap, register('node-a', '192.168.56.11'), ['192.168.56.21']);
    assert.equal(a.podCIDR, '10.244.0.0/24');
    assert.deepEqual(a.peers.map(show), ['node-a 10.244.0.0/24 192.168.56.11']);
    const b = await join_(t, server, pki, tokens.bootstrap, register('node-b', '192.168.56.12'));
    assert.equal(b.podCIDR, '10.244.1.0/24');
    assert.deepEqual(b.peers.map(show), ['node-a 10.244.0.0/24 192.168.56.11', 'node-b 10.244.1.0/24 192.168.56.12']);
    // (joining takes a key pair and a CSR now: node-a's own change may reach it first, alone)
    assert.deepEqual(await peersUntil(a.agent, 2), ['node-a 10.244.0.0/24 192.168.56.11', 'node-b 10.244.1.0/24 192.168.56.12']);
    const stored = store.get<Node>('Node', '', 'node-b')!;
    assert.equal(stored.spec.podCIDR, '10.244.1.0/24');
    assert.deepEqual(stored.spec.podCIDRs, ['10.244.1.0/24']);

    // A node asking for a free block of the cluster gets it; one asking for a taken block does not.
    const c = await join_(t, server, pki, tokens.bootstrap, register('node-c', '192.168.56.13', '10.244.9.0/24'));
    assert.equal(c.podCIDR, '10.244.9.0/24');
    const d = await join_(t, server, pki, tokens.bootstrap, register('node-d', '192.168.56.14', '10.244.1.0/24'));
    assert.equal(d.podCIDR, '10.244.2.0/24');
    // changes close together reach the agents as one list (or a few): the last one has all four
    for (const agent of [a.agent, b.agent, c.agent]) await peersUntil(agent, 4);

    // Heartbeats and a node going NotReady change nothing peers route to: no peers message.
    a.agent.send({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True' }] });
    assert.deepEqual(markStaleNodes(store, new Date(Date.now() + 3_600_000)).sort(), ['node-a', 'node-b', 'node-c', 'node-d']);
    await assertNothingPending(a.agent); // the heartbeat has been handled
    await assertNothingPending(b.agent);

    // Re-registering (a new connection, asking for another block) keeps the stored CIDR.
    a.agent.ws.close();
    const a2 = await join_(t, server, pki, tokens.bootstrap, register('node-a', '192.168.56.11', '10.244.200.0/24'));
    assert.equal(a2.podCIDR, '10.244.0.0/24');
    assert.equal(a2.peers.length, 4);
    await assertNothingPending(b.agent);

    // A changed address reaches every agent; a deleted node leaves the list and frees its block.
    a2.agent.send({ v: 1, type: 'nodeStatus', capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [], addresses: [{ type: 'InternalIP', address: '192.168.56.21' }] });
    assert.ok((await nextPeers(b.agent)).includes('node-a 10.244.0.0/24 192.168.56.21'));
    assert.ok((await nextPeers(c.agent)).includes('node-a 10.244.0.0/24 192.168.56.21'));
    store.delete('Node', '', 'node-b');
    assert.deepEqual(await nextPeers(c.agent), ['node-a 10.244.0.0/24 192.168.56.21', 'node-c 10.244.9.0/24 192.168.56.13', 'node-d 10.244.2.0/24 192.168.56.14']);
    const e = await join_(t, server, pki, tokens.bootstrap, register('node-e', '192.168.56.15'));
    assert.equal(e.podCIDR, '10.244.1.0/24', "node-b's block, free again and the lowest");

    // A scheduler restart on the same store: nodes get their blocks back without asking.
    await server.close();
    store.close();
    store = Store.open(path);
    server = await startCidrServer(t, store, pki, tokens.lookup);
    const after = await Promise.all([
      join_(t, server, pki, tokens.bootstrap, register('node-c', '192.168.56.13')),
      join_(t, server, pki, tokens.bootstrap, register('node-a', '192.168.56.21')),
    ]);
    assert.deepEqual(after.map((x) => x.podCIDR), ['10.244.9.0/24', '10.244.0.0/24']);
    const f = await join_(t, server, pki, tokens.bootstrap, register('node-f', '192.168.56.16'));
    assert.equal(f.podCIDR, '10.244.3.0/24');
    assert.deepEqual(f.peers.map((p) => p.name), ['node-a', 'node-c', 'node-d', 'node-e', 'node-f'], 'offline nodes keep their routes');
  });

  it('registers a node without a pod CIDR when the cluster CIDR is full, and says so in an event', async (t) => {
    const store = Store.open(join(tempDir(t), 'state.db'));
    t.after(() => store.close());
    const tokens = makeTokens();
    const server = await startCidrServer(t, store, pki, tokens.lookup, podCidrConfig('10.244.0.0/23', 24));
    assert.equal((await join_(t, server, pki, tokens.bootstrap, register('n1', '192.168.56.11'))).podCIDR, '10.244.0.0/24');
    assert.equal((await join_(t, server, pki, tokens.bootstrap, register('n2', '192.168.56.12'))).podCIDR, '10.244.1.0/24');
    const n3 = await join_(t, server, pki, tokens.bootstrap, register('n3', '192.168.56.13', '10.244.5.0/24'));
    assert.equal(n3.podCIDR, undefined);
    assert.deepEqual(n3.peers.map((p) => p.name), ['n1', 'n2'], 'a node without a CIDR is no peer');
    assert.equal(store.get<Node>('Node', '', 'n3')?.spec.podCIDR, undefined, 'the block it asked for is outside the cluster CIDR');
    const events = store.listEvents().filter((ev) => ev.reason === 'CIDRNotAvailable');
    assert.equal(events.length, 1);
    assert.match(events[0].message, /all 2 \/24 blocks of 10\.244\.0\.0\/23 are taken; delete nodes that are gone or restart the scheduler with a larger --cluster-cidr/);
    assert.equal(events[0].involvedObject.name, 'n3');
  });
});
