/**
 * A node whose certificates have all expired (the scheduler was down, or the VM suspended, past the
 * renewal window: --node-cert-ttl 2m and a 55 s outage stranded both nodes of a cluster, found by
 * hand) can no longer renew: the scheduler forgets expired serials. As the kubelet does, it
 * bootstraps again with its token; the scheduler must then sign for the registered name, since no
 * live certificate holds it (NodeRestriction keeps refusing while one does), and the node keeps its
 * Node and its pods.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { startSchedulerServer, type SchedulerServer } from '../../../src/scheduler/server/index.js';
import type { ObjectInput, Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { bootstrapNode, FakeAgent, makePki, makeTokens, podYaml, registerMessage } from './server-helpers.js';

const HOUR = 3600_000;

async function startServer(t: TestContext, store: Store, pki: Pki, lookup: ReturnType<typeof makeTokens>['lookup'], now: () => Date): Promise<SchedulerServer> {
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: lookup, nodeCertTtlSeconds: 3600, now });
  t.after(() => server.close());
  return server;
}

describe('a registered node whose certificates all expired', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('joins again with a bootstrap token under its name and keeps its pods; refused while a live certificate holds the name', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    // The scheduler's clock starts 50 minutes back, so the certificate (1 h) is valid for TLS now.
    let offset = -50 * 60_000;
    const server = await startServer(t, store, pki, tokens.lookup, () => new Date(Date.now() + offset));
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    const agent = await FakeAgent.connect(t, server, pki, creds);
    agent.send(registerMessage('node1'));
    assert.equal((await agent.next()).type, 'registered');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node1');
    agent.ws.close();

    // While its certificate lives, the name is the node's: a token holder gets 409.
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\)/);

    // Two hours later (the scheduler was down past the certificate's end): the token re-joins it.
    offset = 2 * HOUR;
    const again = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    assert.ok(again.certPem.includes('BEGIN CERTIFICATE'));
    assert.equal(store.get<Pod>('Pod', 'default', 'web')?.spec.nodeName, 'node1', 'its pods stay bound');
    // ...and once re-issued, the name is held again.
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\)/);
  });
});
