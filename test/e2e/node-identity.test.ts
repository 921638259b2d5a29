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
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeCgroupTree } from '../helpers/runtime-harness.js';
import { OneNodeCluster } from '../helpers/one-node-cluster.js';

const cluster = new OneNodeCluster({ name: 'identity', schedulerArgs: ['--node-cert-ttl', '60s'] });
const api = cluster.api.bind(cluster);
const cli = (args: string[]) => cluster.cli(args);
const nodeReady = () => cluster.nodeReady();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const serialOf = async () => new X509Certificate(await readFile(join(cluster.agent.root, 'pki', 'node.crt'), 'utf8')).serialNumber;

async function execHi(): Promise<{ status: number; json: any }> {
  return api('/api/v1/namespaces/default/pods/keeper/exec', { method: 'POST', body: JSON.stringify({ command: ['echo', 'hi'] }) });
}

before(async () => {
  await cluster.start();
  await cluster.runSleeper('keeper');
});

after(async () => {
  await api('/api/v1/namespaces/default/pods/keeper', { method: 'DELETE' }).catch(() => undefined);
  await cluster.stop();
  if (cluster.agent) await removeCgroupTree(`/${cluster.agent.qosTop}-rogue`);
});

test('the node joined with its token file and keeps its key and certificate 0600 in ROOT/pki', async () => {
  assert.ok(await nodeReady());
  assert.equal((await stat(join(cluster.agent.root, 'pki'))).mode & 0o777, 0o700);
  for (const f of ['node.key', 'node.crt', 'ca.crt']) assert.equal((await stat(join(cluster.agent.root, 'pki', f))).mode & 0o777, 0o600, f);
  const cert = new X509Certificate(await readFile(join(cluster.agent.root, 'pki', 'node.crt'), 'utf8'));
  assert.match(cert.subject, /CN=system:node:test-node/);
  assert.match(cert.subject, /O=system:nodes/);
  // the token is nowhere in the agent's log
  const token = (await readFile(cluster.tokenFile, 'utf8')).trim();
  assert.ok(!(await cluster.agent.log()).includes(token.split('.')[1]!));
});

test("the agent's port: /healthz for anyone, 401 without a client certificate, the pods for the scheduler's certificate", async () => {
  const client = cluster.agent.client;
  cluster.agent.client = undefined;
  try {
    assert.deepEqual(await cluster.agent.get('/healthz'), { status: 200, text: 'ok' });
    const anonymous = await cluster.agent.get('/pods');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.text, /client certificate/);
  } finally {
    cluster.agent.client = client;
  }
  assert.equal((await cluster.agent.pods()).filter((p) => p.metadata.name === 'keeper').length, 1);
});

test('a rogue agent with a valid token cannot register as test-node; the real node keeps its session and pod', async () => {
  const rogue = await cli([
    'agent', '--runtime-endpoint', `unix://${cluster.runtime.socket}`, '--root', join(cluster.dir, 'rogue'), '--address', '127.0.0.1', '--port', '0',
    '--qos-cgroup', `${cluster.agent.qosTop}-rogue`, '--node-name', 'test-node', ...cluster.joinArgs,
  ]);
  assert.notEqual(rogue.exitCode, 0);
  assert.match(rogue.stderr, /node test-node is already registered; delete it with `corelet delete node test-node` to rejoin under that name/);
  assert.ok(await nodeReady());
  const hi = await execHi();
  assert.equal(hi.status, 200, JSON.stringify(hi.json));
  assert.deepEqual(hi.json, { stdout: 'hi\n', stderr: '', exitCode: 0 });
  assert.ok(!(await cluster.agent.log()).includes('replaced by a newer connection'));
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
  assert.match(await cluster.agent.log(), /node certificate rotated/);
});

test('after its bootstrap token is deleted, the restarted agent reconnects with its certificate', async () => {
  const list = await cli(['token', 'list']);
  assert.equal(list.exitCode, 0, list.stderr);
  const id = (await readFile(cluster.tokenFile, 'utf8')).trim().split('.')[0]!;
  assert.match(list.stdout, new RegExp(`^${id} `, 'm'));
  const deleted = await cli(['token', 'delete', id]);
  assert.equal(deleted.exitCode, 0, deleted.stderr);
  assert.doesNotMatch((await cli(['token', 'list'])).stdout, new RegExp(`^${id} `, 'm'));

  await cluster.agent.kill9();
  await cluster.agent.startDaemon();
  let hi = await execHi();
  for (let i = 0; i < 80 && hi.status !== 200; i++) {
    await sleep(250);
    hi = await execHi();
  }
  assert.equal(hi.status, 200, `${JSON.stringify(hi.json)}\n${(await cluster.agent.log()).split('\n').slice(-15).join('\n')}`);
  assert.ok(await nodeReady());
  assert.match(await cluster.agent.log(), /using the node certificate in/);
});

test('deleting the Node revokes its certificate; the agent restarted with a new token joins again', async () => {
  const created = await cli(['token', 'create', '--ttl', '10m', '--description', 'rejoin']);
  assert.equal(created.exitCode, 0, created.stderr);
  assert.equal((await api('/api/v1/nodes/test-node', { method: 'DELETE' })).status, 200);
  // The running agent's session ends and its certificate opens none again.
  let log = '';
  for (let i = 0; i < 120 && !/no longer valid.*reconnect failed/.test(log); i++) {
    await sleep(250);
    log = await cluster.agent.log();
  }
  assert.match(log, /certificate of node test-node is no longer valid.*"msg":"reconnect failed"/);
  assert.equal((await api('/api/v1/nodes/test-node')).status, 404);

  await cluster.agent.kill9();
  await writeFile(cluster.tokenFile, `${created.stdout.trim()}\n`, { mode: 0o600 });
  const before_ = await serialOf();
  await cluster.agent.startDaemon();
  for (let i = 0; i < 100 && !(await nodeReady().catch(() => false)); i++) await sleep(200);
  assert.ok(await nodeReady(), (await cluster.agent.log()).split('\n').slice(-15).join('\n'));
  assert.match(await cluster.agent.log(), /the stored node certificate was refused: joining again with the token file/);
  assert.notEqual(await serialOf(), before_);
});
