/**
 * A renewal whose answer is lost (the agent's 30 s timeout under load, a scheduler crash after it
 * recorded the new certificate, the agent failing to save it): the scheduler already made the new
 * certificate the node's newest, so the agent's retry with its old certificate is "not the newest".
 * The agent retries with the same pending key, and only it holds that key: a renewal presented with
 * the certificate the newest one replaced is signed when its request carries the newest one's key.
 * An old certificate (a key stolen before the rotation) with any other key still renews nothing.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { NodeCertificates } from '../../../src/scheduler/auth/node-certs.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/lib/index.js';
import { caCertHash } from '../../../src/scheduler/auth/index.js';
import { CertificateRotator, ensureNodeCredentials, makeNodeCsr, pendingNodeCsr, requestNodeCertificate, saveNodeCredentials, type NodeCredentials } from '../../../src/agent/cluster/node-identity.js';
import { startSchedulerServer, type SchedulerServer } from '../../../src/scheduler/server/index.js';
import { tempStore } from './store-helpers.js';
import { bootstrapNode, FakeAgent, makePki, makeTokens, registerMessage } from './server-helpers.js';
import { addNode } from './controllers-helpers.js';

const HOUR = 3600_000;

function publicKeyOf(pem: string): string {
  return new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

describe('a renewal retried after its answer was lost', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  /** node1 joined (registered) at now + offset with a one-hour certificate. */
  async function joined(t: TestContext, offset = 0) {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const clock = { offset };
    const server: SchedulerServer = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: tokens.lookup, nodeCertTtlSeconds: 3600, now: () => new Date(Date.now() + clock.offset) });
    t.after(() => server.close());
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    addNode(store, 'node1');
    clock.offset = 0;
    const renew = (c: Pick<NodeCredentials, 'certPem' | 'keyPem'>, csrPem: string) => requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, c, csrPem);
    return { server, creds, renew, tokens };
  }

  it('the retry with the previous certificate and the same key gets a certificate for that key, again and again; it opens the node session', async (t) => {
    const { server, creds, renew } = await joined(t);
    const pending = await makeNodeCsr('node1');
    await renew(creds, pending.csrPem); // signed and recorded; the answer never arrives
    const retried = await renew(creds, pending.csrPem);
    assert.equal(publicKeyOf(retried), publicKeyOf(await renew(creds, pending.csrPem)), 'a second lost answer does not matter either');
    const latest = await renew(creds, pending.csrPem);
    assert.equal(publicKeyOf(latest), createPublicKey(pending.keyPem).export({ type: 'spki', format: 'pem' }).toString(), 'for the pending key');
    const agent = await FakeAgent.connect(t, server, pki, { keyPem: pending.keyPem, certPem: latest, caPem: pki.ca.certPem });
    agent.send(registerMessage('node1'));
    assert.equal((await agent.next()).type, 'registered');
    // Once renewed from the new certificate, the old one renews nothing any more.
    const next = await makeNodeCsr('node1');
    await renew({ certPem: latest, keyPem: pending.keyPem }, next.csrPem);
    await assert.rejects(renew(creds, pending.csrPem), /\(401\)/);
  });

  it('the previous certificate with another key is refused', async (t) => {
    const { creds, renew } = await joined(t);
    const pending = await makeNodeCsr('node1');
    await renew(creds, pending.csrPem);
    const other = await makeNodeCsr('node1');
    await assert.rejects(renew(creds, other.csrPem), /\(401\): node node1 renews only with its newest certificate; this one was replaced/);
  });

  it('also with the previous certificate expired (within the window), and with another key refused', async (t) => {
    const { creds, renew } = await joined(t, -2 * HOUR);
    const pending = await makeNodeCsr('node1');
    await renew(creds, pending.csrPem); // renewed with the expired certificate; the answer is lost
    const other = await makeNodeCsr('node1');
    await assert.rejects(renew(creds, other.csrPem), /\(401\): node node1 renews only with its newest certificate/);
    const retried = await renew(creds, pending.csrPem);
    assert.ok(Date.parse(new X509Certificate(retried).validTo) > Date.now(), 'a current certificate');
  });

  it('an agent restarted after its renewal with the expired certificate lost its answer renews with the pending key kept on disk', async (t) => {
    const { server, creds, renew } = await joined(t, -2 * HOUR);
    const root = mkdtempSync(join(tmpdir(), 'corelet-retry-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    await saveNodeCredentials(root, creds);
    // The previous run made its request (kept under ROOT/pki), the scheduler signed it, the agent died before the answer.
    const pending = await pendingNodeCsr(root, 'node1', {});
    await renew(creds, pending.csrPem);
    const got = await ensureNodeCredentials({ server: `wss://127.0.0.1:${server.port}`, caCertHash: caCertHash(pki.ca.certPem), nodeName: 'node1', root, sans: {}, logger: silentLogger });
    assert.equal(got.keyPem, pending.keyPem, 'the pending key');
    assert.ok(Date.parse(new X509Certificate(got.certPem).validTo) > Date.now(), 'a current certificate');
    assert.deepEqual(readdirSync(join(root, 'pki')).sort(), ['ca.crt', 'node.crt', 'node.key'], 'the pending request is gone once its certificate is stored');
  });

  it('an agent that cannot save the certificate it renewed with the expired one at start uses it from memory; the rotator saves it later', async (t) => {
    const { server, creds } = await joined(t, -2 * HOUR);
    const root = mkdtempSync(join(tmpdir(), 'corelet-retry-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    await saveNodeCredentials(root, creds);
    const diskFull = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    const got = await ensureNodeCredentials({ server: `wss://127.0.0.1:${server.port}`, caCertHash: caCertHash(pki.ca.certPem), nodeName: 'node1', root, sans: {}, logger: silentLogger, save: diskFull });
    assert.ok(Date.parse(new X509Certificate(got.certPem).validTo) > Date.now(), 'a current certificate, in memory');
    assert.equal(got.unsaved, true);
    const saved: NodeCredentials[] = [];
    const rotator = new CertificateRotator({ current: got, nodeName: 'node1', sans: {}, renew: async () => assert.fail('no renewal yet'), save: async (c) => void saved.push(c), onRotated: () => {}, logger: silentLogger });
    rotator.start();
    rotator.stop();
    assert.equal(saved[0]?.certPem, got.certPem, 'saved once the rotator starts');
  });

  it('a bootstrap token still gets 409 for the name', async (t) => {
    const { server, creds, renew, tokens } = await joined(t);
    const pending = await makeNodeCsr('node1');
    await renew(creds, pending.csrPem);
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\)/);
  });
});

describe('a certificate table written before expiries were recorded (bare serials)', () => {
  function table(value: unknown): NodeCertificates {
    const meta = new Map<string, string>([['nodeCertificates', JSON.stringify(value)]]);
    return new NodeCertificates({ getMeta: (k) => meta.get(k), setMeta: (k, v) => void (v === undefined ? meta.delete(k) : meta.set(k, v)) }, { expiredRenewalWindowMs: 24 * HOUR });
  }

  it("an expired certificate with a bare-serial entry renews within the window (its own expiry counts), and not after", () => {
    const certs = table({ node1: ['0a1b'] });
    const expiredAt = new Date(Date.now() - HOUR);
    assert.equal(certs.expiredRenewal('node1', '0A1B', new Date(), expiredAt), 'ok');
    assert.equal(certs.expiredRenewal('node1', '0a1b', new Date(), new Date(Date.now() - 25 * HOUR)), 'too-late');
    assert.equal(certs.expiredRenewal('node1', '0a1b', new Date(), new Date(Date.now() + HOUR)), 'not-expired');
  });
});
