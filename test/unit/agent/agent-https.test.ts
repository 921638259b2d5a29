/**
 * The agent's port once joined: HTTPS with the node certificate, /healthz anonymous, everything else
 * needs a cluster-CA client certificate (401) and authorization: the scheduler and system:masters
 * directly, anyone else through a SubjectAccessReview to the scheduler (a fake one here), cached.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { AgentMetrics, httpsReview, startAgentHttpServer, SubjectAccessReviewer } from '../../../src/agent/http/index.js';
import { createCa, createServerCert, issueCertificate, type CertKeyPair } from '../../../src/scheduler/auth/index.js';
import { testKeyPairSync, useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

function keyPair(): { publicKeyPem: string; keyPem: string } {
  const { publicKeyPem, privateKeyPem } = testKeyPairSync();
  return { publicKeyPem, keyPem: privateKeyPem };
}

function cert(ca: CertKeyPair, cn: string, orgs: string[], usages: ('clientAuth' | 'serverAuth')[] = ['clientAuth']): CertKeyPair {
  const k = keyPair();
  return { keyPem: k.keyPem, certPem: issueCertificate(ca, { publicKeyPem: k.publicKeyPem, commonName: cn, organizations: orgs, usages, validitySeconds: 3600, ips: ['127.0.0.1'] }).certPem };
}

function get(url: string, ca: string, client?: CertKeyPair): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('agent HTTPS port', () => {
  let ca: CertKeyPair;
  let node: CertKeyPair;
  let scheduler: CertKeyPair;
  let alice: CertKeyPair;
  let admin: CertKeyPair;
  let outsider: CertKeyPair;
  before(async () => {
    ca = await createCa();
    node = cert(ca, 'system:node:node-a', ['system:nodes'], ['clientAuth', 'serverAuth']);
    scheduler = cert(ca, 'system:corelet-scheduler', ['system:masters']);
    alice = cert(ca, 'alice', ['dev']);
    admin = cert(ca, 'root-admin', ['system:masters']);
    const otherCa = await createCa();
    outsider = cert(otherCa, 'alice', ['dev']);
  });

  /** A fake scheduler answering SubjectAccessReviews: alice may get nodes/proxy, nothing else. */
  async function fakeSar(t: TestContext): Promise<{ url: string; reviews: { caller: string; body: any }[] }> {
    const reviews: { caller: string; body: any }[] = [];
    const sc = await createServerCert(ca);
    const sar = https.createServer({ key: sc.keyPem, cert: sc.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text);
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        reviews.push({ caller: new X509Certificate(peer.raw).subject, body });
        const a = body.spec.resourceAttributes;
        const allowed = body.spec.user === 'alice' && a.resource === 'nodes' && a.subresource === 'proxy' && a.verb === 'get';
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...body, status: { allowed, ...(allowed ? {} : { reason: 'no RBAC policy matched' }) } }));
      });
    });
    await new Promise<void>((r) => sar.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => sar.close(() => r())));
    return { url: `https://127.0.0.1:${(sar.address() as AddressInfo).port}`, reviews };
  }

  it('answers /healthz to anyone, 401 without a cluster-CA certificate, and lets the scheduler and system:masters in without a review', async (t) => {
    const sar = await fakeSar(t);
    const creds = { ...node, caPem: ca.certPem };
    const reviewer = new SubjectAccessReviewer(httpsReview(sar.url, () => creds));
    const server = await startAgentHttpServer({
      address: '127.0.0.1',
      port: 0,
      pods: () => [],
      metrics: new AgentMetrics(),
      tls: { ...creds, nodeName: 'node-a', authorize: (u, a) => reviewer.check(u, a) },
    });
    t.after(() => server.close());
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);

    assert.deepEqual(await get(`${server.url}/healthz`, ca.certPem), { status: 200, text: 'ok' });
    const anonymous = await get(`${server.url}/pods`, ca.certPem);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.text, /present a client certificate issued by the cluster CA/);
    assert.equal((await get(`${server.url}/metrics`, ca.certPem, outsider)).status, 401, 'a certificate of another CA is nobody');

    for (const who of [scheduler, admin]) {
      const pods = await get(`${server.url}/pods`, ca.certPem, who);
      assert.equal(pods.status, 200);
      assert.equal(JSON.parse(pods.text).kind, 'PodList');
    }
    assert.equal(sar.reviews.length, 0, 'no review for the scheduler or system:masters');

    // alice: reviewed once (the node asks with its own certificate), then cached
    assert.equal((await get(`${server.url}/pods`, ca.certPem, alice)).status, 200);
    assert.equal((await get(`${server.url}/events`, ca.certPem, alice)).status, 200);
    assert.equal(sar.reviews.length, 1);
    assert.match(sar.reviews[0].caller, /CN=system:node:node-a/);
    assert.deepEqual(sar.reviews[0].body.spec, { user: 'alice', groups: ['dev'], resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'node-a' } });
    const metrics = await get(`${server.url}/metrics`, ca.certPem, alice);
    assert.equal(metrics.status, 403);
    assert.match(metrics.text, /user alice cannot get nodes\/metrics of node node-a: no RBAC policy matched/);
    assert.equal(sar.reviews.length, 2);
  });

  it('streams (exec, attach, port-forward) need create on nodes/proxy: get is not enough', async (t) => {
    const sar = await fakeSar(t);
    const creds = { ...node, caPem: ca.certPem };
    const reviewer = new SubjectAccessReviewer(httpsReview(sar.url, () => creds));
    const asked: string[] = [];
    const server = await startAgentHttpServer({
      address: '127.0.0.1',
      port: 0,
      pods: () => [],
      metrics: new AgentMetrics(),
      tls: { ...creds, nodeName: 'node-a', authorize: (u, a) => reviewer.check(u, a) },
      streamUrl: async (r) => {
        asked.push(r.kind);
        return 'http://127.0.0.1:1/exec/x';
      },
    });
    t.after(() => server.close());
    const upgrade = (path: string, client?: CertKeyPair) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = https.request(`${server.url}${path}`, {
          ca: ca.certPem,
          ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
          agent: false,
          headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'v5.channel.k8s.io' },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('error', reject);
        req.end();
      });
    const exec = '/exec/default/web/c?command=sh&stdin=1&stdout=1';
    assert.equal((await upgrade(exec)).status, 401);
    const alice403 = await upgrade(exec, alice);
    assert.equal(alice403.status, 403);
    assert.equal(alice403.body.reason, 'Forbidden');
    assert.match(alice403.body.message, /user alice cannot create nodes\/proxy of node node-a/);
    assert.deepEqual(sar.reviews.at(-1)?.body.spec.resourceAttributes, { verb: 'create', resource: 'nodes', subresource: 'proxy', name: 'node-a' });
    assert.deepEqual(asked, [], 'nothing was asked of the runtime');
    const bad = await upgrade('/exec/default/web', scheduler);
    assert.deepEqual([bad.status, bad.body.message], [400, 'path /exec/default/web: expected /exec/NAMESPACE/POD/[UID/]CONTAINER']);
    // The scheduler passes; the runtime's address here answers nothing: 502 naming it.
    const down = await upgrade(exec, scheduler);
    assert.equal(down.status, 502);
    assert.match(down.body.message, /^the runtime's streaming server did not take the exec: cannot reach 127\.0\.0\.1:1/);
    assert.deepEqual(asked, ['exec']);
  });

  it('denies (uncached) when the scheduler cannot be asked', async () => {
    let calls = 0;
    const reviewer = new SubjectAccessReviewer(async () => {
      calls++;
      throw new Error('connect ECONNREFUSED');
    });
    const d = await reviewer.check({ username: 'alice', groups: [] }, { verb: 'get', subresource: 'proxy', name: 'n' });
    assert.equal(d.allowed, false);
    assert.match(d.reason ?? '', /cannot reach the scheduler to authorize the request: connect ECONNREFUSED/);
    await reviewer.check({ username: 'alice', groups: [] }, { verb: 'get', subresource: 'proxy', name: 'n' });
    assert.equal(calls, 2);
  });

  it('caches answers for a minute', async () => {
    let now = 0;
    let calls = 0;
    const reviewer = new SubjectAccessReviewer(async () => {
      calls++;
      return { status: 201, body: { status: { allowed: true } } };
    }, { now: () => now });
    const u = { username: 'bob', groups: ['g'] };
    const a = { verb: 'get' as const, subresource: 'proxy', name: 'n' };
    assert.equal((await reviewer.check(u, a)).allowed, true);
    now = 59_000;
    await reviewer.check(u, a);
    assert.equal(calls, 1);
    now = 60_001;
    await reviewer.check(u, a);
    assert.equal(calls, 2);
  });
});
