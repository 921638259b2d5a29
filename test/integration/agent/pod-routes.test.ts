/**
 * Host-gw pod routes for real (root): two "nodes" are network namespaces joined by a veth pair, each
 * with a bridge holding its pod CIDR's gateway address (as the CNI bridge does), and node B has a
 * "pod" (a third netns on its bridge). The route adapter programs each node from the peers list; then
 * node A reaches B's pod by its IP, through B forwarding. All three namespaces (and with them every
 * link, address and route) are deleted afterwards, even when an assertion fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { PeerNode } from '../../../src/api/index.js';
import { IpRouteTable, parseIpRoutes, PodRoutes, ROUTE_PROTOCOL } from '../../../src/agent/routes.js';

const NODE_A = '192.168.77.1';
const NODE_B = '192.168.77.2';
const POD_B = '10.244.2.5';

/** Runs ip with args; throws with ip's stderr on failure. */
async function ip(...args: string[]): Promise<string> {
  return (await execa('ip', args)).stdout;
}

/** Three netns (node A, node B, a pod on B), deleted when the test ends. */
async function topology(t: TestContext): Promise<{ a: string; b: string; pod: string }> {
  const id = randomBytes(3).toString('hex');
  const ns = { a: `clrt-${id}-a`, b: `clrt-${id}-b`, pod: `clrt-${id}-pod` };
  t.after(async () => {
    for (const name of Object.values(ns)) await execa('ip', ['netns', 'del', name], { reject: false });
  });
  for (const name of Object.values(ns)) {
    await ip('netns', 'add', name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  }
  // The node link: created inside the namespaces, so nothing ever appears on the host.
  await ip('-n', ns.a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.b);
  for (const [name, addr, podGateway] of [[ns.a, NODE_A, '10.244.1.1/24'], [ns.b, NODE_B, '10.244.2.1/24']] as const) {
    await ip('-n', name, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    await ip('-n', name, 'link', 'set', 'eth0', 'up');
    // The dummy driver is not built into this kernel; a bridge like the CNI one holds the gateway.
    await ip('-n', name, 'link', 'add', 'pods', 'type', 'bridge');
    await ip('-n', name, 'addr', 'add', podGateway, 'dev', 'pods');
    await ip('-n', name, 'link', 'set', 'pods', 'up');
    // Forwarding off, so the test shows the adapter turning it on.
    await ip('netns', 'exec', name, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
  }
  // B's pod: a veth into B's bridge, default route via the bridge.
  await ip('-n', ns.pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vpod', 'netns', ns.b);
  await ip('-n', ns.b, 'link', 'set', 'vpod', 'master', 'pods', 'up');
  await ip('-n', ns.pod, 'addr', 'add', `${POD_B}/24`, 'dev', 'eth0');
  await ip('-n', ns.pod, 'link', 'set', 'eth0', 'up');
  await ip('-n', ns.pod, 'route', 'add', 'default', 'via', '10.244.2.1');
  return ns;
}

/** One ping from inside netns (from source, when given); true when it was answered. */
async function ping(netns: string, target: string, source?: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', ...(source ? ['-I', source] : []), target], { reject: false });
  return r.exitCode === 0;
}

async function forwarding(netns: string): Promise<string> {
  return (await ip('netns', 'exec', netns, 'cat', '/proc/sys/net/ipv4/ip_forward')).trim();
}

async function routesOf(netns: string): Promise<string[]> {
  const text = await ip('-n', netns, '-j', 'route', 'show', 'table', 'main');
  return parseIpRoutes(text)
    .filter((r) => r.via !== undefined)
    .map((r) => `${r.dst} via ${r.via}${r.ours ? ` proto ${ROUTE_PROTOCOL}` : ''}`)
    .sort();
}

test('routes programmed from the peers list let a node reach another node\'s pod by its IP', async (t) => {
  const ns = await topology(t);
  const peers: PeerNode[] = [
    { name: 'node-a', podCIDR: '10.244.1.0/24', address: NODE_A },
    { name: 'node-b', podCIDR: '10.244.2.0/24', address: NODE_B },
    { name: 'node-c', podCIDR: '10.244.3.0/24', address: '192.168.77.3' }, // offline: its route stays
  ];
  // Someone else's route on A for node-c's CIDR: ours must neither replace nor remove it.
  await ip('-n', ns.a, 'route', 'add', '10.244.3.0/24', 'via', NODE_B, 'proto', 'static');
  const a = new PodRoutes({ table: new IpRouteTable({ netns: ns.a }), nodeName: 'node-a', localAddresses: () => new Set([NODE_A]) });
  const b = new PodRoutes({ table: new IpRouteTable({ netns: ns.b }), nodeName: 'node-b', localAddresses: () => new Set([NODE_B]) });

  assert.equal(await ping(ns.a, POD_B, '10.244.1.1'), false, 'no route yet');

  const resultA = await a.sync(peers);
  const resultB = await b.sync(peers);
  assert.deepEqual(resultA.failed, []);
  assert.deepEqual(resultB.failed, []);
  assert.deepEqual(resultA.conflicts, [{ dst: '10.244.3.0/24', via: '192.168.77.3' }]);
  assert.deepEqual(await routesOf(ns.a), ['10.244.2.0/24 via 192.168.77.2 proto 199', '10.244.3.0/24 via 192.168.77.2']);
  assert.deepEqual(await routesOf(ns.b), ['10.244.1.0/24 via 192.168.77.1 proto 199', '10.244.3.0/24 via 192.168.77.3 proto 199']);
  assert.equal(await forwarding(ns.a), '1');
  assert.equal(await forwarding(ns.b), '1');

  // A's pod network reaches B's pod (B forwards between its link and its bridge), and back.
  assert.equal(await ping(ns.a, POD_B, '10.244.1.1'), true, `ping ${POD_B} from node A's pod CIDR`);
  assert.equal(await ping(ns.pod, '10.244.1.1'), true, "B's pod reaches A's pod CIDR");

  // node-b is deleted: A drops its route (and only that), and B's pod is out of reach again.
  const after = await a.sync(peers.filter((p) => p.name !== 'node-b'));
  assert.deepEqual(after.removed.map((r) => r.dst), ['10.244.2.0/24']);
  assert.deepEqual(await routesOf(ns.a), ['10.244.3.0/24 via 192.168.77.2']);
  assert.equal(await ping(ns.a, POD_B, '10.244.1.1'), false);
});
