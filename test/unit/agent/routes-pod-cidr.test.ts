/**
 * The agent's side of pod CIDRs, against a real scheduler server: the link asks for its old CIDR,
 * applies the assigned one before handing over the scheduler's pods (retrying when it fails), and
 * passes the peers on for routing.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerNode, Pod } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { podCidrConfig } from '../../../src/scheduler/server/index.js';
import { bootstrapNode, makePki } from '../scheduler/server-helpers.js';
import { linkTo, serverWithBoundPod } from './link-helpers.js';

describe('scheduler link and the pod CIDR', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('applies the assigned pod CIDR before starting the scheduler\'s pods, and reports peers', async (t) => {
    // A pod already bound to the node: the scheduler sends it right after `registered`.
    const { store, tokens, server } = await serverWithBoundPod(t, pki, { pod: 'web', node: 'node-a' }, { podCidrs: podCidrConfig() });

    const log: string[] = [];
    let attempts = 0;
    let peers: PeerNode[] | undefined;
    let handedOver!: () => void;
    const podsHandedOver = new Promise<void>((resolve) => (handedOver = resolve));
    // Its certificate holds the address it reports (a node reports only those).
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a', { ips: ['192.168.56.11'] });
    const link = linkTo(server, creds, { name: 'node-a', ip: '192.168.56.11' }, {
      setPods: (list: Pod[]) => {
        log.push(`setPods ${list.map((p) => p.metadata.name).join(',')}`);
        handedOver();
      },
      podCIDR: '10.244.5.0/24', // what this node had before
      onPodCidr: async (cidr) => {
        attempts++;
        if (attempts === 1) {
          // The runtime is slow and then fails: without the gate the pods would be handed over
          // meanwhile (the resync wait is shorter than this).
          await new Promise((r) => setTimeout(r, 2000));
          log.push(`podCidr ${cidr} failed`);
          throw new Error('runtime not ready');
        }
        log.push(`podCidr ${cidr} applied`);
      },
      onPeers: (nodes) => {
        peers = nodes;
      },
    });
    t.after(() => link.close());
    await link.start();
    await podsHandedOver;

    assert.deepEqual(log, ['podCidr 10.244.5.0/24 failed', 'podCidr 10.244.5.0/24 applied', 'setPods web']);
    assert.equal(store.get<{ spec: { podCIDR?: string } }>('Node', '', 'node-a')?.spec.podCIDR, '10.244.5.0/24', 'the asked-for block was free');
    assert.deepEqual(peers, [{ name: 'node-a', podCIDR: '10.244.5.0/24', address: '192.168.56.11' }]);
  });
});
