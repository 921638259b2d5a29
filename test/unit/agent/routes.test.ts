import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerNode } from '../../../src/api/index.js';
import {
  parseIpRoutes,
  planRoutes,
  PodRoutes,
  ROUTE_PROTOCOL,
  wantedRoutes,
  type HostRoute,
  type PodRoute,
  type RouteTable,
} from '../../../src/agent/routes.js';

const peers: PeerNode[] = [
  { name: 'node-b', podCIDR: '10.244.1.0/24', address: '192.168.56.12' },
  { name: 'node-a', podCIDR: '10.244.0.0/24', address: '192.168.56.11' },
  { name: 'node-c', podCIDR: '10.244.2.0/24', address: '192.168.56.13' },
];

describe('wanted routes', () => {
  it('routes every other node\'s pod CIDR via its address', () => {
    assert.deepEqual(wantedRoutes(peers, { nodeName: 'node-a', addresses: new Set(['192.168.56.11', '127.0.0.1']) }), [
      { dst: '10.244.1.0/24', via: '192.168.56.12' },
      { dst: '10.244.2.0/24', via: '192.168.56.13' },
    ]);
  });

  it('skips peers on this very host, mixed families and a CIDR claimed twice', () => {
    const odd: PeerNode[] = [
      ...peers,
      { name: 'node-d', podCIDR: '10.244.1.0/24', address: '192.168.56.14' }, // node-b's CIDR again: node-b wins by name
      { name: 'node-e', podCIDR: 'fd00:1::/64', address: '192.168.56.15' },
      { name: 'node-f', podCIDR: '10.244.6.7', address: '192.168.56.16' }, // a host route
    ];
    // node-c's agent runs on this machine too (a test cluster): its pods are local already.
    const wanted = wantedRoutes(odd, { nodeName: 'node-a', addresses: new Set(['192.168.56.11', '192.168.56.13']) });
    assert.deepEqual(wanted, [
      { dst: '10.244.1.0/24', via: '192.168.56.12' },
      { dst: '10.244.6.7/32', via: '192.168.56.16' },
    ]);
  });
});

describe('route plan', () => {
  const wanted: PodRoute[] = [
    { dst: '10.244.1.0/24', via: '192.168.56.12' },
    { dst: '10.244.2.0/24', via: '192.168.56.13' },
    { dst: '10.244.3.0/24', via: '192.168.56.14' },
  ];

  it('adds what is missing, repoints what moved, removes what is gone, and touches only its own routes', () => {
    const current: HostRoute[] = [
      { dst: 'default', via: '10.0.2.2', ours: false },
      { dst: '10.244.0.0/24', ours: false }, // this node's bridge
      { dst: '10.244.1.0/24', via: '192.168.56.12', ours: true }, // right already
      { dst: '10.244.2.0/24', via: '192.168.56.99', ours: true }, // node-c moved
      { dst: '10.244.9.0/24', via: '192.168.56.19', ours: true }, // a deleted node
      { dst: '10.96.0.0/12', via: '192.168.56.1', ours: false }, // someone else's
    ];
    const plan = planRoutes(wanted, current);
    assert.deepEqual(plan.replace, [
      { dst: '10.244.2.0/24', via: '192.168.56.13' },
      { dst: '10.244.3.0/24', via: '192.168.56.14' },
    ]);
    assert.deepEqual(plan.remove, [{ dst: '10.244.9.0/24', via: '192.168.56.19', ours: true }]);
    assert.deepEqual(plan.conflicts, []);
  });

  it('leaves a destination held by someone else\'s route alone and reports it', () => {
    const plan = planRoutes(wanted, [{ dst: '10.244.3.0/24', via: '172.16.0.1', ours: false }]);
    assert.deepEqual(plan.conflicts, [{ dst: '10.244.3.0/24', via: '192.168.56.14' }]);
    assert.deepEqual(plan.replace.map((r) => r.dst), ['10.244.1.0/24', '10.244.2.0/24']);
    assert.deepEqual(plan.remove, []);
  });

  it('removes all of its routes when no peer is left, and nothing else', () => {
    const plan = planRoutes([], [
      { dst: '10.244.1.0/24', via: '192.168.56.12', ours: true },
      { dst: '192.168.56.0/24', ours: false },
    ]);
    assert.deepEqual(plan, { replace: [], remove: [{ dst: '10.244.1.0/24', via: '192.168.56.12', ours: true }], conflicts: [] });
  });
});

describe('ip route listing', () => {
  it('reads ip -j output, marking routes with our protocol as ours', () => {
    const text = JSON.stringify([
      { dst: 'default', gateway: '10.0.2.2', dev: 'eth0', flags: [] },
      { dst: '10.244.0.0/24', dev: 'cni0', protocol: 'kernel', scope: '253', prefsrc: '10.244.0.1', flags: [] },
      { dst: '10.244.1.0/24', gateway: '192.168.56.12', dev: 'eth1', protocol: String(ROUTE_PROTOCOL), flags: [] },
      { dst: '10.9.9.9', gateway: '192.168.56.12', dev: 'eth1', protocol: '4', flags: [] },
      { type: 'unreachable' },
    ]);
    assert.deepEqual(parseIpRoutes(text), [
      { dst: 'default', via: '10.0.2.2', ours: false },
      { dst: '10.244.0.0/24', ours: false },
      { dst: '10.244.1.0/24', via: '192.168.56.12', ours: true },
      { dst: '10.9.9.9/32', via: '192.168.56.12', ours: false },
    ]);
    assert.deepEqual(parseIpRoutes(''), []);
    assert.throws(() => parseIpRoutes('Error: argument "x" is wrong'), /cannot read the output of "ip -j route show"/);
    assert.throws(() => parseIpRoutes('{}'), /expected a JSON list/);
  });
});

/** An in-memory routing table that can be told to refuse a destination. */
class FakeTable implements RouteTable {
  routes: HostRoute[] = [{ dst: '192.168.56.0/24', ours: false }];
  forwarding = false;
  refuse = new Set<string>();

  async list(): Promise<HostRoute[]> {
    return this.routes.map((r) => ({ ...r }));
  }
  async replace(route: PodRoute): Promise<void> {
    if (this.refuse.has(route.dst)) throw new Error(`cannot route ${route.dst} via ${route.via}: Nexthop has invalid gateway`);
    this.routes = [...this.routes.filter((r) => !(r.ours && r.dst === route.dst)), { ...route, ours: true }];
  }
  async remove(route: HostRoute): Promise<void> {
    this.routes = this.routes.filter((r) => !(r.ours && r.dst === route.dst));
  }
  async enableForwarding(): Promise<void> {
    this.forwarding = true;
  }
}

describe('pod routes', () => {
  it('programs the peers\' routes, follows changes, and retries what failed on the next sync', async () => {
    const table = new FakeTable();
    const routes = new PodRoutes({ table, nodeName: 'node-a', localAddresses: () => new Set(['192.168.56.11']) });
    table.refuse.add('10.244.2.0/24');
    const first = await routes.sync(peers);
    assert.equal(table.forwarding, true);
    assert.deepEqual(first.added, [{ dst: '10.244.1.0/24', via: '192.168.56.12' }]);
    assert.equal(first.failed.length, 1);
    assert.match(first.failed[0].error, /cannot route 10\.244\.2\.0\/24 via 192\.168\.56\.13: Nexthop has invalid gateway/);

    table.refuse.clear();
    // Two syncs in a row run in order: the last list wins.
    const moved = routes.sync([...peers.slice(0, 2), { name: 'node-c', podCIDR: '10.244.2.0/24', address: '192.168.56.23' }]);
    const gone = routes.sync(peers.filter((p) => p.name !== 'node-b'));
    assert.deepEqual((await moved).added, [{ dst: '10.244.2.0/24', via: '192.168.56.23' }]);
    const last = await gone;
    assert.deepEqual(last.removed.map((r) => r.dst), ['10.244.1.0/24']);
    assert.deepEqual(last.added, [{ dst: '10.244.2.0/24', via: '192.168.56.13' }]);
    assert.deepEqual(table.routes, [
      { dst: '192.168.56.0/24', ours: false },
      { dst: '10.244.2.0/24', via: '192.168.56.13', ours: true },
    ]);
    const again = await routes.sync(peers.filter((p) => p.name !== 'node-b'));
    assert.deepEqual({ added: again.added, removed: again.removed }, { added: [], removed: [] }, 'nothing to do');
  });
});
