import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, parseMessage, type Node } from '../../../src/api/index.js';
import {
  allocatePodCidr,
  PeerTable,
  podCidrCapacity,
  podCidrConfig,
  podCidrProblem,
} from '../../../src/scheduler/server/index.js';

function node(name: string, podCIDR?: string, address?: string): Pick<Node, 'metadata' | 'spec' | 'status'> {
  return {
    metadata: { name } as Node['metadata'],
    spec: { taints: [], unschedulable: false, ...(podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {}) },
    status: {
      capacity: {},
      allocatable: {},
      conditions: [],
      addresses: address ? [{ type: 'Hostname', address: name }, { type: 'InternalIP', address }] : [{ type: 'Hostname', address: name }],
      nodeInfo: { kernelVersion: '', osImage: '', operatingSystem: 'linux', architecture: '', containerRuntimeVersion: '', kubeletVersion: '' },
    },
  };
}

describe('pod CIDR settings', () => {
  it('defaults to 10.244.0.0/16 cut into /24s', () => {
    const config = podCidrConfig();
    assert.deepEqual(config, { clusterCidr: '10.244.0.0/16', nodeMaskSize: 24 });
    assert.equal(podCidrCapacity(config), 256);
    assert.equal(podCidrCapacity(podCidrConfig('10.0.0.0/8', 24)), 65536);
  });

  it('refuses settings that cannot work, saying what to use instead', () => {
    assert.throws(() => podCidrConfig('10.244.1.0/16'), /host bits set; did you mean 10\.244\.0\.0\/16\?/);
    assert.throws(() => podCidrConfig('fd00::/48'), /only IPv4 cluster CIDRs are supported/);
    assert.throws(() => podCidrConfig('10.244.0.0'), /expected an IPv4 CIDR, such as 10\.244\.0\.0\/16/);
    assert.throws(() => podCidrConfig('10.244.0.0/33'), /expected an IPv4 CIDR/);
    assert.throws(() => podCidrConfig('10.244.0.0/16', 8), /--node-cidr-mask-size 8: must be a whole number from the cluster CIDR's prefix length \(16\) to 30/);
    assert.throws(() => podCidrConfig('10.244.0.0/16', 31), /to 30/);
    assert.throws(() => podCidrConfig('10.0.0.0/8', 28), /more than 65536 node blocks; use a mask size of at most 24/);
    assert.throws(() => podCidrConfig('10.244.0.0/16', 24.5), /whole number/);
  });

  it('says why a CIDR cannot be a node block of the cluster', () => {
    const config = podCidrConfig('10.244.0.0/16', 24);
    assert.equal(podCidrProblem(config, '10.244.7.0/24'), undefined);
    assert.match(podCidrProblem(config, '10.245.7.0/24')!, /outside the cluster CIDR 10\.244\.0\.0\/16/);
    assert.match(podCidrProblem(config, '10.244.7.0/25')!, /not a \/24/);
    assert.match(podCidrProblem(config, '10.244.7.1/24')!, /host bits set \(the block is 10\.244\.7\.0\/24\)/);
    assert.match(podCidrProblem(config, 'fd00::/64')!, /not an IPv4 CIDR/);
  });
});

describe('pod CIDR allocation', () => {
  const config = podCidrConfig('10.244.0.0/16', 24);

  it('hands out the lowest free block, filling gaps left by deleted nodes', () => {
    assert.equal(allocatePodCidr(config, []), '10.244.0.0/24');
    assert.equal(allocatePodCidr(config, ['10.244.0.0/24', undefined, '10.244.1.0/24']), '10.244.2.0/24');
    assert.equal(allocatePodCidr(config, ['10.244.0.0/24', '10.244.2.0/24']), '10.244.1.0/24');
  });

  it('honours the block a node asks for when it is free and of this cluster, else picks the lowest free one', () => {
    assert.equal(allocatePodCidr(config, ['10.244.0.0/24'], '10.244.9.0/24'), '10.244.9.0/24');
    assert.equal(allocatePodCidr(config, ['10.244.0.0/24', '10.244.9.0/24'], '10.244.9.0/24'), '10.244.1.0/24', 'taken by another node');
    assert.equal(allocatePodCidr(config, [], '10.99.9.0/24'), '10.244.0.0/24', 'outside the cluster CIDR');
    assert.equal(allocatePodCidr(config, [], '10.244.9.0/23'), '10.244.0.0/24', 'wrong size');
    assert.equal(allocatePodCidr(config, [], '10.244.9.5/24'), '10.244.0.0/24', 'host bits set');
  });

  it('treats blocks of other sizes as taking every node block they overlap', () => {
    // Nodes that kept blocks from an earlier --node-cidr-mask-size.
    assert.equal(allocatePodCidr(config, ['10.244.0.0/23']), '10.244.2.0/24');
    assert.equal(allocatePodCidr(config, ['10.244.0.0/25', '10.244.1.128/25']), '10.244.2.0/24');
    assert.equal(allocatePodCidr(config, ['10.0.0.0/8']), undefined, 'a block holding the whole cluster CIDR');
    assert.equal(allocatePodCidr(config, ['10.243.0.0/16', '10.245.0.0/16', 'garbage', '']), '10.244.0.0/24', 'neighbours do not count');
  });

  it('returns undefined when the cluster CIDR is full', () => {
    const small = podCidrConfig('10.244.0.0/23', 24);
    assert.equal(allocatePodCidr(small, ['10.244.0.0/24']), '10.244.1.0/24');
    assert.equal(allocatePodCidr(small, ['10.244.0.0/24', '10.244.1.0/24']), undefined);
    assert.equal(allocatePodCidr(small, ['10.244.0.0/24', '10.244.1.0/24'], '10.244.1.0/24'), undefined);
  });
});

describe('peer table', () => {
  it('lists routable nodes by name and reports only real changes', () => {
    const table = new PeerTable([node('b', '10.244.1.0/24', '192.168.56.12'), node('a', '10.244.0.0/24', '192.168.56.11'), node('c')]);
    assert.deepEqual(table.list(), [
      { name: 'a', podCIDR: '10.244.0.0/24', address: '192.168.56.11' },
      { name: 'b', podCIDR: '10.244.1.0/24', address: '192.168.56.12' },
    ]);
    // A heartbeat changes the Node but not what peers route to.
    assert.equal(table.apply('MODIFIED', node('a', '10.244.0.0/24', '192.168.56.11')), false);
    assert.equal(table.apply('MODIFIED', node('a', '10.244.0.0/24', '192.168.56.21')), true, 'a new address');
    assert.equal(table.apply('MODIFIED', node('c', '10.244.2.0/24', '192.168.56.13')), true, 'c got a CIDR');
    assert.equal(table.apply('DELETED', node('b', '10.244.1.0/24', '192.168.56.12')), true);
    assert.equal(table.apply('DELETED', node('zz')), false, 'never a peer');
    assert.deepEqual(table.list().map((p) => `${p.name} ${p.podCIDR} ${p.address}`), ['a 10.244.0.0/24 192.168.56.21', 'c 10.244.2.0/24 192.168.56.13']);
  });

  it('travels as a strict peers message', () => {
    const text = encodeMessage({ v: 1, type: 'peers', nodes: [{ name: 'a', podCIDR: '10.244.0.0/24', address: '192.168.56.11' }] });
    assert.deepEqual(parseMessage(text, { receiver: 'agent' }), { v: 1, type: 'peers', nodes: [{ name: 'a', podCIDR: '10.244.0.0/24', address: '192.168.56.11' }] });
    assert.throws(() => parseMessage(text, { receiver: 'scheduler' }), /peers goes from scheduler to agent/);
    assert.throws(
      () => parseMessage({ v: 1, type: 'peers', nodes: [{ name: 'A_', podCIDR: '10.244.0.0', address: 'nope', extra: 1 }] }),
      (err: Error) => {
        assert.match(err.message, /message\.peers\.nodes\[0\]\.name: invalid value "A_"/);
        assert.match(err.message, /message\.peers\.nodes\[0\]\.podCIDR: invalid value "10\.244\.0\.0": must be a CIDR/);
        assert.match(err.message, /message\.peers\.nodes\[0\]\.address: invalid value "nope"/);
        assert.match(err.message, /extra/);
        return true;
      },
    );
    assert.throws(() => parseMessage({ v: 1, type: 'peers' }), /message\.peers\.nodes: required value/);
  });
});
