/**
 * Node identity end to end on one machine (scheduler, corelet runtime, agent; unique dirs and ports):
 * - a rogue agent with a valid bootstrap token registering as the existing node's name is refused,
 *   and the real node keeps its session and its pod (exec through the API still reaches it);
 * - with --node-cert-ttl 60s the node's certificate rotates (serial changes) and the node stays Ready;
 * - after its bootstrap token is deleted, the agent restarted reconnects with its certificate;
 * - the agent's port answers /healthz to anyone and 401 to a client without a certificate;
 * - deleting the Node revokes its certificate; with a new token the agent joins again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX, CORELET, removeCgroupTree } from '../helpers/runtime-harness.js';
import { AgentHarness } from '../helpers/agent-harness.js';
import { freePort } from '../helpers/free-port.js';
import { schedulerApi } from '../helpers/admin-api.js';
import { readAdminConfig } from '../helpers/admin-config.js';

let dir: string;
let home: string;
let runtime: RuntimeHarness;
let agent: AgentHarness;
let scheduler: ChildProcess;
let port: number;
let adminToken: string;
let ca: string;
let join_: string[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const api = (path: string, init: { method?: string; body?: string; token?: string | null } = {}) => schedulerApi({ port, ca, token: adminToken }, path, init);

const cli = (args: string[]) => execa(process.execPath, [CORELET, ...args], { env: { ...process.env, HOME: home }, reject: false, timeout: 30_000 });

async function nodeReady(): Promise<boolean> {
  const node = (await api('/api/v1/nodes/test-node')).json;
  return node?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const serialOf = async () => new X509Certificate(await readFile(join(agent.root, 'pki', 'node.crt'), 'utf8')).serialNumber;

async function execHi(): Promise<{ status: number; json: any }> {
  return api('/api/v1/namespaces/default/pods/keeper/exec', { method: 'POST', body: JSON.stringify({ command: ['echo', 'hi'] }) });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corelet-e2e-identity-'));
  home = join(dir, 'home');
  port = await freePort();
  const init = await cli(['scheduler', 'init', '--dir', join(dir, 'scheduler'), '--port', String(port)]);
  assert.equal(init.exitCode, 0, init.stderr);
  join_ = init.stdout.split('\n').pop()!.trim().split(/\s+/).slice(2);
  const config = await readAdminConfig(join(home, '.corelet', 'config'));
  adminToken = config.token;
  ca = config.caCert;
  runtime = await RuntimeHarness.start();
  scheduler = spawn(
    process.execPath,
    [CORELET, 'scheduler', '--dir', join(dir, 'scheduler'), '--address', '127.0.0.1', '--port', String(port), '--cluster-cidr', runtime.subnet, '--node-cidr-mask-size', '24', '--node-cert-ttl', '60s'],
    { env: { ...process.env, HOME: home }, stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && (await api('/api/v1/nodes').catch(() => ({ status: 0 }))).status !== 200; i++) await sleep(100);
  await runtime.crictl(['pull', BUSYBOX]);
  agent = await AgentHarness.start(`unix://${runtime.socket}`, join_);
  await agent.actAsScheduler(join(dir, 'scheduler', 'pki'));
  for (let i = 0; i < 100 && !(await nodeReady().catch(() => false)); i++) await sleep(100);
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
  for (let i = 0; i < 240; i++) {
    const p = (await api('/api/v1/namespaces/default/pods/keeper')).json;
    if (p?.status?.phase === 'Running') break;
    await sleep(250);
  }
});

after(async () => {
  await api('/api/v1/namespaces/default/pods/keeper', { method: 'DELETE' }).catch(() => undefined);
  for (let i = 0; i < 120 && agent && (await agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
  await agent?.stop();
  await runtime?.stop();
  await agent?.removeCgroups();
  if (agent) await removeCgroupTree(`/${agent.qosTop}-rogue`);
  scheduler?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('the node joined with its token file and keeps its key and certificate 0600 in ROOT/pki', async () => {
  assert.ok(await nodeReady());
  assert.equal((await stat(join(agent.root, 'pki'))).mode & 0o777, 0o700);
  for (const f of ['node.key', 'node.crt', 'ca.crt']) assert.equal((await stat(join(agent.root, 'pki', f))).mode & 0o777, 0o600, f);
  const cert = new X509Certificate(await readFile(join(agent.root, 'pki', 'node.crt'), 'utf8'));
  assert.match(cert.subject, /CN=system:node:test-node/);
  assert.match(cert.subject, /O=system:nodes/);
  // the token is nowhere in the agent's log
  const token = (await readFile(join_[3]!, 'utf8')).trim();
  assert.ok(!(await agent.log()).includes(token.split('.')[1]!));
});

test("the agent's port: /healthz for anyone, 401 without a client certificate, the pods for the scheduler's certificate", async () => {
  const client = agent.client;
  agent.client = undefined;
  try {
    assert.deepEqual(await agent.get('/healthz'), { status: 200, text: 'ok' });
    const anonymous = await agent.get('/pods');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.text, /client certificate/);
  } finally {
    agent.client = client;
  }
  assert.equal((await agent.pods()).filter((p) => p.metadata.name === 'keeper').length, 1);
});

test('a rogue agent with a valid token cannot register as test-node; the real node keeps its session and pod', async () => {
  const rogue = await cli([
    'agent', '--runtime-endpoint', `unix://${runtime.socket}`, '--root', join(dir, 'rogue'), '--address', '127.0.0.1', '--port', '0',
    '--qos-cgroup', `${agent.qosTop}-rogue`, '--node-name', 'test-node', ...join_,
  ]);
  assert.notEqual(rogue.exitCode, 0);
  assert.match(rogue.stderr, /node test-node is already registered; delete it with `corelet delete node test-node` to rejoin under that name/);
  assert.ok(await nodeReady());
  const hi = await execHi();
  assert.equal(hi.status, 200, JSON.stringify(hi.json));
  assert.deepEqual(hi.json, { stdout: 'hi\n', stderr: '', exitCode: 0 });
  assert.ok(!(await agent.log()).includes('replaced by a newer connection'));
});

test('with --node-cert-ttl 60s the certificate rotates and the node stays Ready', async () => {
  const first = await serialOf();
  let now = first;
  for (let i = 0; i < 120 && now === first; i++) {
    await sleep(1000);
    now = await serialOf();
  }
  assert.notEqual(now, first, 'a new certificate within two minutes');
  // the session reopened with the new certificate: Ready, and requests still reach the node
  let hi = await execHi();
  for (let i = 0; i < 40 && hi.status !== 200; i++) {
    await sleep(250);
    hi = await execHi();
  }
  assert.equal(hi.status, 200, JSON.stringify(hi.json));
  assert.ok(await nodeReady());
  assert.match(await agent.log(), /node certificate rotated/);
});

test('after its bootstrap token is deleted, the restarted agent reconnects with its certificate', async () => {
  const list = await cli(['token', 'list']);
  assert.equal(list.exitCode, 0, list.stderr);
  const id = (await readFile(join_[3]!, 'utf8')).trim().split('.')[0]!;
  assert.match(list.stdout, new RegExp(`^${id} `, 'm'));
  const deleted = await cli(['token', 'delete', id]);
  assert.equal(deleted.exitCode, 0, deleted.stderr);
  assert.doesNotMatch((await cli(['token', 'list'])).stdout, new RegExp(`^${id} `, 'm'));

  await agent.kill9();
  await agent.startDaemon();
  let hi = await execHi();
  for (let i = 0; i < 80 && hi.status !== 200; i++) {
    await sleep(250);
    hi = await execHi();
  }
  assert.equal(hi.status, 200, `${JSON.stringify(hi.json)}\n${(await agent.log()).split('\n').slice(-15).join('\n')}`);
  assert.ok(await nodeReady());
  assert.match(await agent.log(), /using the node certificate in/);
});

test('deleting the Node revokes its certificate; the agent restarted with a new token joins again', async () => {
  const created = await cli(['token', 'create', '--ttl', '10m', '--description', 'rejoin']);
  assert.equal(created.exitCode, 0, created.stderr);
  assert.equal((await api('/api/v1/nodes/test-node', { method: 'DELETE' })).status, 200);
  // The running agent's session ends and its certificate opens none again.
  let log = '';
  for (let i = 0; i < 120 && !/no longer valid.*reconnect failed/.test(log); i++) {
    await sleep(250);
    log = await agent.log();
  }
  assert.match(log, /certificate of node test-node is no longer valid.*"msg":"reconnect failed"/);
  assert.equal((await api('/api/v1/nodes/test-node')).status, 404);

  await agent.kill9();
  await writeFile(join_[3]!, `${created.stdout.trim()}\n`, { mode: 0o600 });
  const before_ = await serialOf();
  await agent.startDaemon();
  for (let i = 0; i < 100 && !(await nodeReady().catch(() => false)); i++) await sleep(200);
  assert.ok(await nodeReady(), (await agent.log()).split('\n').slice(-15).join('\n'));
  assert.match(await agent.log(), /the stored node certificate was refused: joining again with the token file/);
  assert.notEqual(await serialOf(), before_);
});
