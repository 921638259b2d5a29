/**
 * The pod IPs a node may report: every node DNATs Service traffic to them, so a node claims only
 * addresses of its own (its pod CIDR; a hostNetwork pod its own addresses).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { podIpProblem } from '../../../src/scheduler/server/index.js';
import type { Node, Pod } from '../../../src/api/index.js';

const pod = (hostNetwork = false) => ({ spec: { hostNetwork, containers: [] } }) as unknown as Pick<Pod, 'spec'>;
const node = (podCIDR?: string) =>
  ({ spec: { ...(podCIDR ? { podCIDR } : {}) }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.11' }, { type: 'Hostname', address: 'n1' }] } }) as unknown as Pick<Node, 'spec' | 'status'>;

describe('pod IPs reported by a node', () => {
  const table: [string, string, ReturnType<typeof pod>, ReturnType<typeof node> | undefined, string | undefined][] = [
    ['an address in its pod CIDR', '10.244.1.7', pod(), node('10.244.1.0/24'), undefined],
    ["another node's pod address", '10.244.2.7', pod(), node('10.244.1.0/24'), "outside the node's pod CIDR 10.244.1.0/24"],
    ['a node address for a pod network pod', '192.168.1.11', pod(), node('10.244.1.0/24'), "outside the node's pod CIDR 10.244.1.0/24"],
    ['IPv6', 'fd00::5', pod(), node('10.244.1.0/24'), 'not an IPv4 address'],
    ['no pod CIDR: any unicast address', '10.88.0.5', pod(), node(), undefined],
    ['no pod CIDR: loopback', '127.0.0.1', pod(), node(), 'in the special range 127.0.0.0/8'],
    ['no pod CIDR: link-local (cloud metadata)', '169.254.169.254', pod(), node(), 'in the special range 169.254.0.0/16'],
    ["hostNetwork: the node's address", '192.168.1.11', pod(true), node('10.244.1.0/24'), undefined],
    ['hostNetwork: another address', '192.168.1.12', pod(true), node('10.244.1.0/24'), "not one of the node's addresses (a hostNetwork pod has its node's)"],
  ];
  for (const [what, ip, p, n, want] of table) {
    it(`${what}: ${want ?? 'accepted'}`, () => assert.equal(podIpProblem(ip, p, n), want));
  }
});
