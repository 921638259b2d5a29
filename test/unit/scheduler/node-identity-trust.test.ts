/**
 * Node identity hardening (issue 9 review): a node certificate never passes for the scheduler, nodes
 * do not choose protected labels or other nodes' addresses, revoked certificates open nothing, names
 * are claimed at issue, and renewal needs the newest certificate.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { makeNodeCsr, requestNodeCertificate } from '../../../src/agent/cluster/node-identity.js';
import {
  caCertHash,
  checkSchedulerIdentity,
  createCa,
  createServerCert,
  fetchPinnedCa,
  issueCertificate,
  type CertKeyPair,
  type Pki,
} from '../../../src/scheduler/auth/index.js';
import type { SchedulerServer } from '../../../src/scheduler/server/index.js';
import { tempStore } from './store-helpers.js';
import { api, bootstrapNode, FakeAgent, makeTokens, registerMessage, startServer, startTlsServer } from './server-helpers.js';
import { testKeyPairSync } from '../../helpers/test-keys.js';
import { httpsReview } from '../../../src/agent/http/sar-client.js';
import type { Node } from '../../../src/api/index.js';

function keyPair(): { publicKeyPem: string; keyPem: string } {
  const { publicKeyPem, privateKeyPem } = testKeyPairSync();
  return { publicKeyPem, keyPem: privateKeyPem };
}

/** A node certificate as an older scheduler signed them: serverAuth, 127.0.0.1 included. */
function oldNodeCert(ca: CertKeyPair, name: string): CertKeyPair {
  const k = keyPair();
  const { certPem } = issueCertificate(ca, { publicKeyPem: k.publicKeyPem, commonName: `system:node:${name}`, organizations: ['system:nodes'], usages: ['clientAuth', 'serverAuth'], validitySeconds: 3600, ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  return { certPem, keyPem: k.keyPem };
}

describe('a node certificate never passes for the scheduler (F1)', () => {
  let pki: Pki;
  before(async () => {
    const ca = await createCa();
    pki = { ca, server: await createServerCert(ca, { dnsNames: ['sched.example'], ips: ['10.9.9.9'] }) };
  });

  it("leaves loopback and the scheduler's own names and addresses out of a node certificate", async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { csrPem } = await makeNodeCsr('evil', { dnsNames: ['localhost', 'evil'], ips: ['127.0.0.1', '10.9.9.9', '192.168.56.20'] });
    const cert = new X509Certificate(await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { token: tokens.bootstrap }, csrPem));
    assert.equal(cert.checkIP('127.0.0.1'), undefined);
    assert.equal(cert.checkIP('10.9.9.9'), undefined);
    assert.equal(cert.checkHost('localhost'), undefined);
    assert.equal(cert.checkIP('192.168.56.20'), '192.168.56.20');
    assert.equal(cert.checkHost('evil'), 'evil');
    // A node named after the scheduler's DNS name does not get that name as a SAN.
    const named = await makeNodeCsr('sched.example');
    const cert2 = new X509Certificate(await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { token: tokens.bootstrap }, named.csrPem));
    assert.equal(cert2.checkHost('sched.example'), undefined);
  });

  it('issueCertificate adds no localhost or 127.0.0.1 of its own', () => {
    const k = keyPair();
    const { certPem } = issueCertificate(pki.ca, { publicKeyPem: k.publicKeyPem, commonName: 'system:node:n1', organizations: ['system:nodes'], usages: ['clientAuth', 'serverAuth'], validitySeconds: 600, dnsNames: ['n1'] });
    const cert = new X509Certificate(certPem);
    assert.equal(cert.checkIP('127.0.0.1'), undefined);
    assert.equal(cert.checkHost('localhost'), undefined);
    assert.equal(cert.checkHost('n1'), 'n1');
  });

  it('the pin check, and https with the CA, refuse a node certificate presented as the scheduler', async (t) => {
    const node = oldNodeCert(pki.ca, 'evil');
    const port = (await startTlsServer(t, { key: node.keyPem, cert: `${node.certPem}${pki.ca.certPem}` })).port;
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port }, caCertHash(pki.ca.certPem)), /presented a node certificate .*system:node:evil/);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = https.request(`https://127.0.0.1:${port}/`, { ca: pki.ca.certPem, checkServerIdentity: checkSchedulerIdentity }, resolve);
        req.on('error', reject);
        req.end();
      }),
      /presented a node certificate/,
    );
    // The scheduler's own certificate still passes.
    const good = (await startTlsServer(t, { key: pki.server.keyPem, cert: `${pki.server.certPem}${pki.ca.certPem}` })).port;
    assert.equal(await fetchPinnedCa({ host: '127.0.0.1', port: good }, caCertHash(pki.ca.certPem)), new X509Certificate(pki.ca.certPem).toString());
  });
});

describe('NodeRestriction on what a node says about itself', () => {
  let pki: Pki;
  before(async () => {
    const ca = await createCa();
    pki = { ca, server: await createServerCert(ca) };
  });

  async function register(t: TestContext, server: SchedulerServer, creds: Awaited<ReturnType<typeof bootstrapNode>>, msg: ReturnType<typeof registerMessage>): Promise<FakeAgent> {
    const agent = await FakeAgent.connect(t, server, pki, creds);
    agent.send(msg);
    const m = await agent.next();
    assert.equal(m.type, 'registered', JSON.stringify(m));
    assert.equal((await agent.next()).type, 'assignDone');
    return agent;
  }

  it('F2: a node sets only its own kubelet labels and never overrides labels already on its Node', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    const labels = {
      'kubernetes.io/hostname': 'node2',
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/control-plane': '',
      'node-restriction.kubernetes.io/secure': 'true',
      'example.k8s.io/x': 'y',
      'example.com/team': 'a',
    };
    const a = await register(t, server, creds, { ...registerMessage('node1'), labels });
    assert.deepEqual(store.get<Node>('Node', '', 'node1')!.metadata.labels, { 'kubernetes.io/os': 'linux', 'example.com/team': 'a' });
    a.ws.terminate();
    await a.closed();
    // An admin's label stays; the node may only add allowed labels that are absent.
    store.mutate<Node>('Node', '', 'node1', (n) => {
      n.metadata.labels = { ...n.metadata.labels, dedicated: 'secure', 'example.com/team': 'admin' };
    });
    await register(t, server, creds, { ...registerMessage('node1'), labels: { dedicated: 'open', 'example.com/team': 'b', 'topology.kubernetes.io/zone': 'z1', 'kubernetes.io/hostname': 'node1' } });
    assert.deepEqual(store.get<Node>('Node', '', 'node1')!.metadata.labels, {
      'kubernetes.io/os': 'linux',
      'example.com/team': 'admin',
      dedicated: 'secure',
      'topology.kubernetes.io/zone': 'z1',
      'kubernetes.io/hostname': 'node1',
    });
  });

  it('F3: a node reports only addresses in its own certificate, and another node\'s claim does not block a renewal', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const n1 = await bootstrapNode(server, pki, tokens.bootstrap, 'node1', { ips: ['192.168.56.11'] });
    const n2 = await bootstrapNode(server, pki, tokens.bootstrap, 'node2', { ips: ['192.168.56.12'] });
    const addrs = (n: string) => store.get<Node>('Node', '', n)!.status.addresses.map((a) => a.address);
    await register(t, server, n1, { ...registerMessage('node1'), addresses: [{ type: 'InternalIP', address: '192.168.56.11' }] });
    const a2 = await register(t, server, n2, { ...registerMessage('node2'), addresses: [{ type: 'InternalIP', address: '192.168.56.11' }, { type: 'InternalIP', address: '192.168.56.99' }, { type: 'InternalIP', address: '192.168.56.12' }] });
    assert.deepEqual(addrs('node2'), ['192.168.56.12']);
    a2.send({ v: 1, type: 'nodeStatus', capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [], addresses: [{ type: 'InternalIP', address: '192.168.56.11' }] });
    // Messages are handled in order: the answer to a bad one comes after nodeStatus was stored.
    a2.send({ v: 1, type: 'no-such-message' });
    assert.equal((await a2.next()).type, 'error');
    assert.deepEqual(addrs('node2'), []);
    assert.deepEqual(addrs('node1'), ['192.168.56.11']);
    // node1 renews with its address (ownership comes from certificates, not from node2's claim)
    const { keyPem, csrPem } = await makeNodeCsr('node1', { ips: ['192.168.56.11'] });
    const renewed = await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: n1.certPem, keyPem: n1.keyPem }, csrPem);
    assert.equal(new X509Certificate(renewed).checkIP('192.168.56.11'), '192.168.56.11');
    assert.ok(keyPem);
  });

  it("F4: a deleted node's certificate no longer authenticates on the REST API (401)", async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const n1 = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    await register(t, server, n1, registerMessage('node1'));
    const review = httpsReview(server.url, () => n1);
    const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', resourceAttributes: { verb: 'get', resource: 'nodes' } } };
    assert.notEqual((await review(body)).status, 401);
    assert.equal((await api(server, pki, 'DELETE', '/api/v1/nodes/node1', { token: tokens.api })).status, 200);
    const after = await review(body);
    assert.equal(after.status, 401, JSON.stringify(after.body));
    assert.match(JSON.stringify(after.body), /certificate of node node1 is no longer valid/);
  });

  it('F5: a bootstrap CSR for a name with a valid certificate is refused (409) until `corelet delete node` revokes it', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), /\(409\): a certificate for node node1 was already issued; delete it with `corelet delete node node1`/);
    const del = await api(server, pki, 'DELETE', '/api/v1/nodes/node1', { token: tokens.api });
    assert.equal(del.status, 200, del.text);
    assert.match(del.body.message, /revoked/);
    await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    assert.equal((await api(server, pki, 'DELETE', '/api/v1/nodes/nobody', { token: tokens.api })).status, 404);
  });

  it('F6: node names that can never register get no certificate; expired entries are pruned', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup, { nodeCertTtlSeconds: 60 });
    for (const name of ['a..b', 'a.-b']) {
      await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, name), /\(400\).*not a valid node name/);
    }
    const { NodeCertificates } = await import('../../../src/scheduler/auth/index.js');
    const table = new NodeCertificates(store);
    table.record('old', 'aa', { notAfter: new Date(Date.now() - 1000) });
    table.record('new', 'bb', { notAfter: new Date(Date.now() + 60_000) });
    assert.deepEqual(table.serials('old'), []);
    assert.deepEqual(table.serials('new'), ['bb']);
    assert.equal(new NodeCertificates(store).claimed('old'), false);
  });

  it('F7: renewal only from the newest certificate; the previous one still opens sessions', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const c1 = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    const next = await makeNodeCsr('node1');
    const c2 = { keyPem: next.keyPem, certPem: await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: c1.certPem, keyPem: c1.keyPem }, next.csrPem), caPem: pki.ca.certPem };
    const again = await makeNodeCsr('node1');
    await assert.rejects(
      requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: c1.certPem, keyPem: c1.keyPem }, again.csrPem),
      /renews only with its newest certificate/,
    );
    await register(t, server, c1, registerMessage('node1'));
    assert.ok(c2.certPem);
  });
});
