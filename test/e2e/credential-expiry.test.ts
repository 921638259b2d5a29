/**
 * No credential expiry stops a running cluster, over simulated time: one scheduler, a corelet
 * runtime and an agent on this machine (unique dirs and ports) with every lifetime short, by flags:
 * the agent's bootstrap token lives 20 s (`corelet token create --ttl 20s`), node certificates 60 s
 * (`--node-cert-ttl 60s`, rotated by the agent at 70–90%), the scheduler's serving certificate 30 s
 * (`--serving-cert-ttl 30s`, renewed at 70–80%). Once the token has expired, the node certificate has
 * rotated and the serving certificate has been renewed, the agent's WSS session is cut twice (the
 * agent restarted, then the scheduler restarted): each time the node reconnects with its certificate
 * and is Ready, and the pod it runs keeps running (same container, no restart).
 *
 * The clock is the real one: the certificates are checked by OpenSSL against the system time, which
 * a test cannot fake without faking it for every process on the machine; short lifetimes make
 * minutes of wall time stand for months.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { OneNodeCluster } from '../helpers/one-node-cluster.js';

const TOKEN_TTL_S = 20;
const cluster = new OneNodeCluster({ name: 'expiry', schedulerArgs: ['--node-cert-ttl', '60s', '--serving-cert-ttl', '30s'], joinTokenTtlSeconds: TOKEN_TTL_S });
const api = cluster.api.bind(cluster);
const until = cluster.until.bind(cluster);
const nodeReady = () => cluster.nodeReady();

/** The keeper pod's container id and restart count as the scheduler reports them, when Running. */
const keeper = () => cluster.runningContainer('keeper');

async function execHi(): Promise<boolean> {
  const r = await api('/api/v1/namespaces/default/pods/keeper/exec', { method: 'POST', body: JSON.stringify({ command: ['echo', 'hi'] }) });
  return r.status === 200 && r.json?.stdout === 'hi\n';
}

/** The certificate the scheduler serves to a new connection. */
function servedCertificate(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: cluster.port, ca: cluster.ca, servername: undefined }, () => {
      const cert = new X509Certificate(s.getPeerCertificate().raw);
      s.destroy();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

const nodeSerial = async () => (await cluster.nodeCertificate()).serialNumber;

before(() => cluster.startWithSleeper('keeper'));
after(() => cluster.stopWithSleeper('keeper'));

test('after the token expired, the node certificate rotated and the serving certificate was renewed, restarts of agent and scheduler leave the node Ready and the pod running', async () => {
  const { agent, ca, tokenFile } = cluster;
  const tokenExpiresAt = cluster.joinTokenCreatedAt + TOKEN_TTL_S * 1000;
  const pod = await keeper();
  assert.ok(pod);
  const firstNodeSerial = await nodeSerial();
  const firstServed = await servedCertificate();

  // Simulated months: wait (polling, with deadlines) for every credential to have turned over.
  await until('the bootstrap token expired', async () => Date.now() > tokenExpiresAt + 1000, 60_000);
  const token = (await readFile(tokenFile, 'utf8')).trim();
  const refused = await api('/apis/certificates.k8s.io/v1/certificatesigningrequests', { method: 'POST', body: '{}', token });
  assert.equal(refused.status, 401, `the expired token no longer authenticates: ${JSON.stringify(refused.json)}`);
  await until('the node certificate rotated', async () => (await nodeSerial()) !== firstNodeSerial, 90_000);
  await until('the first serving certificate expired', async () => Date.now() > Date.parse(firstServed.validTo) + 1000, 60_000);
  const served = await servedCertificate();
  assert.notEqual(served.serialNumber, firstServed.serialNumber, 'the scheduler serves a renewed certificate');
  assert.ok(Date.parse(served.validTo) > Date.now(), `the served certificate is valid (until ${served.validTo})`);
  assert.ok(await nodeReady(), 'the node stayed Ready through all of it');

  // Cut the agent's WSS session: restart the agent. It reconnects with its (rotated) certificate.
  await agent.kill9();
  await agent.startDaemon();
  await until('the restarted agent serves the pod through the scheduler', execHi, 90_000);
  assert.match(await agent.log(), /using the node certificate in/);
  assert.ok(await nodeReady());

  // Cut it from the other end: restart the scheduler (SIGKILL). The agent reconnects.
  await cluster.killScheduler();
  cluster.startScheduler();
  await until('the scheduler answers again', async () => (await api('/api/v1/nodes')).status === 200, 30_000);
  await until('the node reconnected to the restarted scheduler', execHi, 90_000);
  assert.ok(await nodeReady());
  assert.ok((await servedCertificate()).checkIssued(new X509Certificate(ca)));

  // The pod ran throughout: the same container, never restarted.
  assert.deepEqual(await keeper(), pod);
});
