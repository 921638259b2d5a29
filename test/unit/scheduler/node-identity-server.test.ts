/**
 * Node identity on the scheduler: certificates from CSRs (bootstrap token or the node's own
 * certificate), NodeRestriction on names, sessions only with a valid node certificate, and revocation
 * when the Node is deleted.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { WebSocket } from 'ws';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import { makeNodeCsr, requestNodeCertificate, type NodeCredentials } from '../../../src/agent/cluster/node-identity.js';
import { newTokenRecord, TokenStore, type Pki } from '../../../src/scheduler/auth/index.js';
import type { SchedulerServer } from '../../../src/scheduler/server/index.js';
import type { ObjectInput, Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { api, bootstrapNode, FakeAgent, makePki, makeTokens, podYaml, registerMessage } from './server-helpers.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { testKeyPairSync } from '../../helpers/test-keys.js';

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

async function startServer(t: TestContext, store: Store, pki: Pki, lookup: ReturnType<typeof makeTokens>['lookup'], ttl = 3600): Promise<SchedulerServer> {
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: lookup, nodeCertTtlSeconds: ttl });
  t.after(() => server.close());
  return server;
}

/** Posts a raw CertificateSigningRequest body; returns status and parsed body. */
function postCsr(server: SchedulerServer, pki: Pki, body: unknown, auth: { token?: string; creds?: NodeCredentials }): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = https.request(
      `${server.url}${CSR_PATH}`,
      {
        method: 'POST',
        ca: pki.ca.certPem,
        headers: { 'content-type': 'application/json', ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}) },
        ...(auth.creds ? { cert: auth.creds.certPem, key: auth.creds.keyPem } : {}),
      },
      (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const csrBody = (pem: string) => ({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', spec: { request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet' } });

function renew(server: SchedulerServer, pki: Pki, creds: NodeCredentials, name: string): Promise<NodeCredentials> {
  return makeNodeCsr(name).then(async ({ keyPem, csrPem }) => ({
    keyPem,
    certPem: await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: creds.certPem, keyPem: creds.keyPem }, csrPem),
    caPem: pki.ca.certPem,
  }));
}

async function registered(t: TestContext, server: SchedulerServer, pki: Pki, creds: NodeCredentials, name: string): Promise<FakeAgent> {
  const agent = await FakeAgent.connect(t, server, pki, creds);
  agent.send(registerMessage(name));
  const m = await agent.next();
  assert.equal(m.type, 'registered', JSON.stringify(m));
  return agent;
}

describe('node identity on the scheduler', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('signs a bootstrap CSR as system:node:NAME in system:nodes, for client and server use, with the configured lifetime', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup, 600);
    const { csrPem } = await makeNodeCsr('node-a', { dnsNames: ['node-a'], ips: ['192.168.56.11'] });
    const res = await postCsr(server, pki, csrBody(csrPem), { token: tokens.bootstrap });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.kind, 'CertificateSigningRequest');
    assert.equal(res.body.spec.username, `system:bootstrap:${tokens.bootstrap.slice(0, 6)}`);
    assert.deepEqual(res.body.spec.groups, ['system:bootstrappers']);
    const cert = new X509Certificate(Buffer.from(res.body.status.certificate, 'base64').toString());
    assert.match(cert.subject, /CN=system:node:node-a/);
    assert.match(cert.subject, /O=system:nodes/);
    assert.ok(cert.verify(new X509Certificate(pki.ca.certPem).publicKey));
    assert.equal(cert.checkIP('192.168.56.11'), '192.168.56.11');
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const life = (Date.parse(cert.validTo) - Date.now()) / 1000;
    assert.ok(life > 590 && life <= 600, `about 600 s left, got ${life}`);
    // The token never reaches the answer.
    assert.ok(!JSON.stringify(res.body).includes(tokens.bootstrap.slice(7)));
  });

  it('refuses CSRs that are not a node\'s own: wrong CN or O, a forged signature, another node\'s address', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const pair = testKeyPairSync();
    const key = { privateKey: forge.pki.privateKeyFromPem(pair.privateKeyPem), publicKey: forge.pki.publicKeyFromPem(pair.publicKeyPem) };
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = key.publicKey;
    csr.setSubject([{ name: 'organizationName', value: 'system:masters' }, { name: 'commonName', value: 'system:node:x' }]);
    csr.sign(key.privateKey, forge.md.sha256.create());
    const masters = await postCsr(server, pki, csrBody(forge.pki.certificationRequestToPem(csr)), { token: tokens.bootstrap });
    assert.equal(masters.status, 403);
    assert.match(masters.body.message, /exactly O=system:nodes/);
    csr.setSubject([{ name: 'organizationName', value: 'system:nodes' }, { name: 'commonName', value: 'admin' }]);
    csr.sign(key.privateKey, forge.md.sha256.create());
    const admin = await postCsr(server, pki, csrBody(forge.pki.certificationRequestToPem(csr)), { token: tokens.bootstrap });
    assert.equal(admin.status, 403);
    assert.match(admin.body.message, /CN must be system:node:<node name>/);
    // a valid request with one bit of its signature flipped
    const good = (await makeNodeCsr('node-y')).csrPem;
    const der = Buffer.from(good.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 1] ^= 1;
    const forgedPem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    const forged = await postCsr(server, pki, csrBody(forgedPem), { token: tokens.bootstrap });
    assert.equal(forged.status, 400);
    assert.match(forged.body.message, /signature does not match/);
    const none = await postCsr(server, pki, csrBody(good), {});
    assert.equal(none.status, 401);

    // node-b may not put node-a's address (in node-a's certificate) into its serving certificate
    const a = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a', { ips: ['192.168.56.11'] });
    const agentA = await FakeAgent.connect(t, server, pki, a);
    agentA.send({ ...registerMessage('node-a'), addresses: [{ type: 'InternalIP', address: '192.168.56.11' }] });
    assert.equal((await agentA.next()).type, 'registered');
    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node-b', { ips: ['192.168.56.11'] }), /IP 192\.168\.56\.11 is in node node-a's certificate/);
  });

  it('refuses a bootstrap CSR for a registered name (409): the real node keeps its session and pods', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    const real = await registered(t, server, pki, creds, 'node1');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node1');

    await assert.rejects(bootstrapNode(server, pki, tokens.bootstrap, 'node1'), (err: Error) => {
      assert.match(err.message, /\(409\): node node1 is already registered; delete it with `corelet delete node node1` to rejoin under that name/);
      return true;
    });
    assert.deepEqual(server.sessions.names(), ['node1']);
    assert.equal(real.ws.readyState, WebSocket.OPEN);
    assert.equal(store.get<Pod>('Pod', 'default', 'web')?.spec.nodeName, 'node1');
  });

  it('renews a node certificate only for its own name, keeps current and previous, and refuses sessions opened with a token', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const a1 = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a');
    await registered(t, server, pki, a1, 'node-a');
    const b = await bootstrapNode(server, pki, tokens.bootstrap, 'node-b');

    // node-a asking for node-b's certificate with its own: 403
    const { csrPem } = await makeNodeCsr('node-b');
    const other = await postCsr(server, pki, csrBody(csrPem), { creds: a1 });
    assert.equal(other.status, 403);
    assert.match(other.body.message, /node node-a may only renew its own certificate, not one for node node-b/);

    // Renewal needs no token; the old certificate stays valid until the next one.
    tokens.records.clear();
    const a2 = await renew(server, pki, a1, 'node-a');
    const serial = (c: NodeCredentials) => new X509Certificate(c.certPem).serialNumber;
    assert.notEqual(serial(a2), serial(a1));
    await registered(t, server, pki, a1, 'node-a');
    const a3 = await renew(server, pki, a2, 'node-a');
    await registered(t, server, pki, a3, 'node-a');
    await assert.rejects(FakeAgent.connect(t, server, pki, a1), /HTTP 401: .*certificate of node node-a is no longer valid/);
    // A node whose bootstrap token was deleted still connects with its certificate.
    await registered(t, server, pki, b, 'node-b');

    // A bearer token does not open a session, even a valid bootstrap token.
    const fresh = makeTokens();
    for (const [id, r] of fresh.records) tokens.records.set(id, r);
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/nodes`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${fresh.bootstrap}` } });
    ws.on('error', () => {});
    const refusal = await new Promise<string>((resolve) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      ws.once('open', () => resolve('open'));
    });
    assert.match(refusal, /^401 .*a bearer token does not open a node session/);
  });

  it('lets a node post status only for its own pods, and revokes its certificates when the Node is deleted', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const a = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a');
    const b = await bootstrapNode(server, pki, tokens.bootstrap, 'node-b');
    const agentA = await registered(t, server, pki, a, 'node-a');
    await registered(t, server, pki, b, 'node-b');
    for (const obj of decodeObjects(podYaml('bs-pod'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'bs-pod', 'node-b');
    const uid = store.get<Pod>('Pod', 'default', 'bs-pod')!.metadata.uid;

    agentA.send({ v: 1, type: 'podStatus', id: 'steal', uid, status: { phase: 'Failed', conditions: [], containerStatuses: [], initContainerStatuses: [] }, events: [] });
    let m = await agentA.next();
    while (m.type !== 'error') m = await agentA.next();
    assert.equal(m.code, 'NotFound');
    assert.match(m.message, new RegExp(`no pod with uid ${uid} is bound to node node-a`));
    assert.notEqual(store.get<Pod>('Pod', 'default', 'bs-pod')?.status?.phase, 'Failed');

    // Deleting node-a ends its session and locks out its certificate, for sessions and renewals.
    const deleted = await api(server, pki, 'DELETE', '/api/v1/nodes/node-a', { token: tokens.api });
    assert.equal(deleted.status, 200);
    await agentA.closed();
    await assert.rejects(FakeAgent.connect(t, server, pki, a), /HTTP 401: .*node node-a is no longer valid \(the node was deleted/);
    await assert.rejects(renew(server, pki, a, 'node-a'), /\(401\): the certificate of node node-a is no longer valid/);
    // ... and the name is free again for a bootstrap.
    await bootstrapNode(server, pki, tokens.bootstrap, 'node-a');
  });
});

describe('bootstrap tokens through the API', () => {
  it('creates (shown once), lists (ids only) and deletes bootstrap tokens; a created token joins a node', async (t) => {
    const pki = await makePki();
    const { store } = tempStore(t);
    const tokens = new TokenStore(store);
    const admin = newTokenRecord('api', { user: 'admin' });
    tokens.add(admin.record);
    const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: (id) => tokens.lookup(id), bootstrapTokens: tokens });
    t.after(() => server.close());
    const created = await api(server, pki, 'POST', '/api/v1/bootstraptokens', { token: admin.token, body: JSON.stringify({ ttlSeconds: 600, description: 'ci' }) });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(created.body.description, 'ci');
    const forever = await api(server, pki, 'POST', '/api/v1/bootstraptokens', { token: admin.token, body: JSON.stringify({ ttlSeconds: 0 }) });
    assert.equal(forever.body.expires, undefined);
    const bad = await api(server, pki, 'POST', '/api/v1/bootstraptokens', { token: admin.token, body: JSON.stringify({ ttlSeconds: -1 }) });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /ttlSeconds: expected a whole number of seconds/);

    const listed = await api(server, pki, 'GET', '/api/v1/bootstraptokens', { token: admin.token });
    assert.deepEqual(listed.body.items.map((i: { id: string }) => i.id).sort(), [created.body.id, forever.body.id].sort(), 'API tokens are not listed');
    assert.ok(!listed.text.includes(created.body.token.slice(7)), 'no secret in the list');
    assert.ok(!store.getMeta('tokens')!.includes(created.body.token.slice(7)), 'only a hash is stored');

    await bootstrapNode(server, pki, created.body.token, 'node-a');
    assert.equal((await api(server, pki, 'DELETE', `/api/v1/bootstraptokens/${created.body.id}`, { token: admin.token })).status, 200);
    assert.equal((await api(server, pki, 'DELETE', `/api/v1/bootstraptokens/${created.body.id}`, { token: admin.token })).status, 404);
    await assert.rejects(bootstrapNode(server, pki, created.body.token, 'node-b'), /\(401\).*not known to this scheduler/);
    assert.equal((await api(server, pki, 'PUT', '/api/v1/bootstraptokens', { token: admin.token })).status, 405);
    assert.equal((await api(server, pki, 'GET', '/api/v1/bootstraptokens', {})).status, 401);
  });
});
