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
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX, CORELET } from '../helpers/runtime-harness.js';
import { AgentHarness } from '../helpers/agent-harness.js';
import { freePort } from '../helpers/free-port.js';
import { schedulerApi } from '../helpers/admin-api.js';
import { readAdminConfig } from '../helpers/admin-config.js';

const TOKEN_TTL_S = 20;
let dir: string;
let home: string;
let runtime: RuntimeHarness;
let agent: AgentHarness;
let scheduler: ChildProcess;
let port: number;
let adminToken: string;
let ca: string;
let join_: string[];
let tokenExpiresAt: number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const api = (path: string, init: { method?: string; body?: string; token?: string | null } = {}) => schedulerApi({ port, ca, token: adminToken }, path, init);
const cli = (args: string[]) => execa(process.execPath, [CORELET, ...args], { env: { ...process.env, HOME: home }, reject: false, timeout: 30_000 });

function startScheduler(): void {
  scheduler = spawn(
    process.execPath,
    [
      CORELET, 'scheduler', '--dir', join(dir, 'scheduler'), '--address', '127.0.0.1', '--port', String(port),
      '--cluster-cidr', runtime.subnet, '--node-cidr-mask-size', '24',
      '--node-cert-ttl', '60s', '--serving-cert-ttl', '30s',
    ],
    { env: { ...process.env, HOME: home }, stdio: 'ignore' },
  );
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) assert.fail(`${what}: not within ${deadlineMs / 1000} s\nagent log tail:\n${(await agent.log()).split('\n').slice(-12).join('\n')}`);
    await sleep(500);
  }
}

async function nodeReady(): Promise<boolean> {
  const node = (await api('/api/v1/nodes/test-node')).json;
  return node?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The keeper pod's container id and restart count as the scheduler reports them, when Running. */
async function keeper(): Promise<{ containerID: string; restartCount: number } | undefined> {
  const p = (await api('/api/v1/namespaces/default/pods/keeper')).json;
  const c = p?.status?.containerStatuses?.[0];
  return p?.status?.phase === 'Running' && c?.state?.running ? { containerID: c.containerID, restartCount: c.restartCount } : undefined;
}

async function execHi(): Promise<boolean> {
  const r = await api('/api/v1/namespaces/default/pods/keeper/exec', { method: 'POST', body: JSON.stringify({ command: ['echo', 'hi'] }) });
  return r.status === 200 && r.json?.stdout === 'hi\n';
}

/** The certificate the scheduler serves to a new connection. */
function servedCertificate(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: undefined }, () => {
      const cert = new X509Certificate(s.getPeerCertificate().raw);
      s.destroy();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

const nodeSerial = async () => new X509Certificate(await readFile(join(agent.root, 'pki', 'node.crt'), 'utf8')).serialNumber;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corelet-e2e-expiry-'));
  home = join(dir, 'home');
  port = await freePort();
  const init = await cli(['scheduler', 'init', '--dir', join(dir, 'scheduler'), '--port', String(port)]);
  assert.equal(init.exitCode, 0, init.stderr);
  join_ = init.stdout.split('\n').pop()!.trim().split(/\s+/).slice(2);
  const config = await readAdminConfig(join(home, '.corelet', 'config'));
  adminToken = config.token;
  ca = config.caCert;
  runtime = await RuntimeHarness.start();
  startScheduler();
  await until('the scheduler answers', async () => (await api('/api/v1/nodes')).status === 200, 20_000);
  // The agent joins with a short-lived token instead of init's 24 h one.
  const created = await cli(['token', 'create', '--ttl', `${TOKEN_TTL_S}s`, '--description', 'short-lived']);
  assert.equal(created.exitCode, 0, created.stderr);
  tokenExpiresAt = Date.now() + TOKEN_TTL_S * 1000;
  await writeFile(join_[3]!, `${created.stdout.trim()}\n`, { mode: 0o600 });
  await runtime.crictl(['pull', BUSYBOX]);
  agent = await AgentHarness.start(`unix://${runtime.socket}`, join_);
  await agent.actAsScheduler(join(dir, 'scheduler', 'pki'));
  await until('the node is Ready', nodeReady, 30_000);
  const pod = `apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`;
  assert.equal((await api('/api/v1/apply', { method: 'POST', body: pod })).status, 200);
  await until('the pod runs', async () => (await keeper()) !== undefined, 60_000);
});

after(async () => {
  await api('/api/v1/namespaces/default/pods/keeper', { method: 'DELETE' }).catch(() => undefined);
  for (let i = 0; i < 120 && agent && (await agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
  await agent?.stop();
  await runtime?.stop();
  await agent?.removeCgroups();
  scheduler?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('after the token expired, the node certificate rotated and the serving certificate was renewed, restarts of agent and scheduler leave the node Ready and the pod running', async () => {
  const pod = await keeper();
  assert.ok(pod);
  const firstNodeSerial = await nodeSerial();
  const firstServed = await servedCertificate();

  // Simulated months: wait (polling, with deadlines) for every credential to have turned over.
  await until('the bootstrap token expired', async () => Date.now() > tokenExpiresAt + 1000, 60_000);
  const token = (await readFile(join_[3]!, 'utf8')).trim();
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
  scheduler.kill('SIGKILL');
  await new Promise((r) => (scheduler.exitCode !== null || scheduler.signalCode !== null ? r(undefined) : scheduler.once('exit', r)));
  startScheduler();
  await until('the scheduler answers again', async () => (await api('/api/v1/nodes')).status === 200, 30_000);
  await until('the node reconnected to the restarted scheduler', execHi, 90_000);
  assert.ok(await nodeReady());
  assert.ok((await servedCertificate()).checkIssued(new X509Certificate(ca)));

  // The pod ran throughout: the same container, never restarted.
  assert.deepEqual(await keeper(), pod);
});
