/**
 * A registered node whose newest certificate expired (the scheduler was down past its renewal, the
 * machine slept): a bootstrap-token holder must never get that node's name (issue 9: a token is no
 * node identity; otherwise anyone with the token takes over a node the moment its certificate runs
 * out, or all nodes at once when the scheduler's clock jumps), but the node itself renews by proving
 * it holds the key of its newest certificate, within --node-cert-expired-renewal-window after expiry.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import { createCa, issueCertificate, type Pki } from '../../../src/scheduler/auth/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { silentLogger } from '../../../src/lib/index.js';
import { caCertHash } from '../../../src/scheduler/auth/index.js';
import { ensureNodeCredentials, makeNodeCsr, requestNodeCertificate, saveNodeCredentials, type NodeCredentials } from '../../../src/agent/cluster/node-identity.js';
import { startSchedulerServer, type SchedulerServer } from '../../../src/scheduler/server/index.js';
import type { ObjectInput, Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { bootstrapNode, FakeAgent, makePki, makeTokens, podYaml, registerMessage } from './server-helpers.js';
import { addNode } from './controllers-helpers.js';

const HOUR = 3600_000;

async function startServer(t: TestContext, store: Store, pki: Pki, lookup: ReturnType<typeof makeTokens>['lookup'], now: () => Date, windowSeconds?: number): Promise<SchedulerServer> {
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: lookup, nodeCertTtlSeconds: 3600, nodeCertExpiredRenewalWindowSeconds: windowSeconds, now });
  t.after(() => server.close());
  return server;
}

/** Asks for a new certificate for node1 presenting creds (TLS client certificate). */
async function renewWith(server: SchedulerServer, pki: Pki, creds: Pick<NodeCredentials, 'certPem' | 'keyPem'>): Promise<string> {
  const { csrPem } = await makeNodeCsr('node1');
  return requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: creds.certPem, keyPem: creds.keyPem }, csrPem);
}

describe('a registered node whose certificates all expired', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  /** node1 joined and registered two hours ago with a one-hour certificate (really expired now), one pod bound. */
  async function expiredNode(t: TestContext, windowSeconds?: number) {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const clock = { offset: -2 * HOUR };
    const server = await startServer(t, store, pki, tokens.lookup, () => new Date(Date.now() + clock.offset), windowSeconds);
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    addNode(store, 'node1');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node1');
    clock.offset = 0;
    return { store, tokens, clock, server, creds };
  }

  it('a bootstrap-token holder gets 409 for the registered name, before and after its certificates expired', async (t) => {
    const { tokens, clock, server } = await expiredNode(t);
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\): node node1 is already registered/);
    // Even with the scheduler's clock far past every certificate (a clock jump; the token lasts 24 h): still the node's.
    clock.offset = 20 * HOUR;
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\): node node1 is already registered/);
  });

  it('the node renews with its expired newest certificate within the window and keeps its pods; a second renewal with it is refused', async (t) => {
    const { store, server, creds } = await expiredNode(t);
    const next = await makeNodeCsr('node1');
    const certPem = await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: creds.certPem, keyPem: creds.keyPem }, next.csrPem);
    assert.equal(store.get<Pod>('Pod', 'default', 'web')?.spec.nodeName, 'node1', 'its pods stay bound');
    // The expired certificate is no longer the newest: it renews nothing more.
    await assert.rejects(renewWith(server, pki, creds), /\(401\): node node1 renews only with its newest certificate/);
    // The new one opens the node's session; it gets its pod again.
    const agent = await FakeAgent.connect(t, server, pki, { keyPem: next.keyPem, certPem, caPem: pki.ca.certPem });
    agent.send(registerMessage('node1'));
    assert.equal((await agent.next()).type, 'registered');
  });

  it('an agent restarted with its expired certificate on disk renews with it, without a token file', async (t) => {
    const { server, creds } = await expiredNode(t);
    const root = mkdtempSync(join(tmpdir(), 'corelet-rejoin-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    await saveNodeCredentials(root, creds);
    const got = await ensureNodeCredentials({ server: `wss://127.0.0.1:${server.port}`, caCertHash: caCertHash(pki.ca.certPem), nodeName: 'node1', root, sans: {}, logger: silentLogger });
    assert.ok(Date.parse(new X509Certificate(got.certPem).validTo) > Date.now(), 'a current certificate');
    assert.notEqual(got.keyPem, creds.keyPem, 'with a new key');
  });

  it("another node cannot take an expired node's addresses during the window", async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const clock = { offset: -2 * HOUR };
    const server = await startServer(t, store, pki, tokens.lookup, () => new Date(Date.now() + clock.offset));
    await bootstrapNode(server, pki, tokens.bootstrap, 'node1', { ips: ['10.1.2.3'] });
    clock.offset = 0;
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node2', { ips: ['10.1.2.3'] }), /\(403\): spec.request: IP 10.1.2.3 is in node node1's certificate/);
  });

  it('refused once the window has passed', async (t) => {
    const { server, creds, clock } = await expiredNode(t, 2 * 3600);
    // The certificate ran out an hour ago: inside a 2 h window it would renew; 3 h later it is out.
    clock.offset = 2 * HOUR;
    await assert.rejects(renewWith(server, pki, creds), /\(401\): .*expired .* more than 2h ago/);
  });

  it('a window of 0 disables renewal with an expired certificate', async (t) => {
    const { server, creds } = await expiredNode(t, 0);
    await assert.rejects(renewWith(server, pki, creds), /\(401\)/);
  });

  it('refused with an older expired certificate than the newest one; the newest renews after expiry by the scheduler clock too', async (t) => {
    const { server, creds, clock } = await expiredNode(t);
    const second = await makeNodeCsr('node1');
    const certPem = await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: creds.certPem, keyPem: creds.keyPem }, second.csrPem);
    // Both expired by the scheduler's clock (the second is still valid for TLS in real time).
    clock.offset = 2 * HOUR;
    await assert.rejects(renewWith(server, pki, creds), /\(401\): node node1 renews only with its newest certificate/);
    assert.ok((await renewWith(server, pki, { certPem, keyPem: second.keyPem })).includes('BEGIN CERTIFICATE'));
  });

  it('refused once the Node was deleted (its certificates are revoked)', async (t) => {
    const { server, creds, store } = await expiredNode(t);
    store.delete('Node', '', 'node1');
    await assert.rejects(renewWith(server, pki, creds), /\(401\)/);
  });

  it('refused for a certificate with the right name and serial that our CA did not sign', async (t) => {
    const { server, creds } = await expiredNode(t);
    const serial = new X509Certificate(creds.certPem).serialNumber.toLowerCase();
    const other = await createCa();
    const { publicKeyPem } = { publicKeyPem: new X509Certificate(creds.certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    const forged = issueCertificate(other, { publicKeyPem, commonName: 'system:node:node1', organizations: ['system:nodes'], usages: ['clientAuth'], validitySeconds: 3600, now: new Date(Date.now() - 2 * HOUR), serial });
    assert.equal(forged.serial, serial);
    await assert.rejects(renewWith(server, pki, { certPem: forged.certPem, keyPem: creds.keyPem }), /\(401\)/);
  });
});
