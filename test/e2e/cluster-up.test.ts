/**
 * `corelet up --examples`: scheduler, runtime and agent in one process with the built-in defaults
 * (no registry), the Zeus ZAP example loaded and applied. It runs on a "machine" of its own: a network
 * namespace with one veth to the host, so its ports (6443, 10250, the NodePort), CNI bridge,
 * iptables and nftables rules never meet the host's. Everything is removed afterwards, even on
 * failure: the pods by a runtime started on the same state (crictl rmp -fa), then the cgroups, netns
 * and folders.
 */
import { readAdminConfig } from '../helpers/admin-config.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CORELET, removeCgroupTree, cgroupExists } from '../helpers/runtime-harness.js';

const tag = `cup${process.pid % 100000}`;
const HOST_IP = '10.97.0.1';
const NODE_IP = '10.97.0.2';
const qos = `${tag}-kubepods`;
const cgroupParent = `/${tag}-pods`;
let dir: string;
let up: ChildProcess | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const inNetns = (args: string[]) => ['nsenter', [`--net=/run/netns/${tag}`, ...args]] as const;

function startUp(): ChildProcess {
  const log = openSync(join(dir, 'up.log'), 'a');
  const [cmd, args] = inNetns([
    process.execPath, CORELET, 'up',
    '--state-dir', join(dir, 'state'),
    '--runtime-config', join(dir, 'runtime.yaml'),
    '--qos-cgroup', qos,
    '--address', NODE_IP,
    '--node-name', 'up-node',
    '--examples',
  ]);
  return spawn(cmd, args, { env: { ...process.env, HOME: join(dir, 'home') }, stdio: ['ignore', log, log] });
}

async function stopUp(): Promise<number | null> {
  const p = up;
  if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
  const gone = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  return gone;
}

/** GET from the API as the admin `up` made (~/.corelet/config). */
async function api(path: string): Promise<{ status: number; json: any }> {
  const cfg = await readAdminConfig(join(dir, 'home', '.corelet', 'config'));
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cfg.server), { ca: cfg.caCert, headers: { authorization: `Bearer ${cfg.token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: body ? JSON.parse(body) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  const log = (await readFile(join(dir, 'up.log'), 'utf8').catch(() => '')).split('\n').slice(-25).join('\n');
  throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}; corelet up log:\n${log}`);
}

const readyZeusPods = () =>
  waitFor(
    'the 7 Zeus pods Running and Ready',
    async () => {
      const pods = (await api('/api/v1/namespaces/default/pods?labelSelector=app.kubernetes.io/part-of%3Dzeus')).json.items as any[];
      const ready = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return pods.length === 7 && ready.length === 7 ? pods : undefined;
    },
    180_000,
  );

const uiShowsServices = () =>
  waitFor(
    'the UI (NodePort 30080) to show both services, the api counting visits in the database',
    async () => {
      const res = await fetch(`http://${NODE_IP}:30080/`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      return res.status === 200 && /zeus-api 1\.0 on pod \S+ \([\d.]+, node up-node\): visit #\d+/.test(text) && text.includes('zeus-quotes 1.0 on pod') ? text : undefined;
    },
    90_000,
  );

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corelet-up-'));
  await mkdir(join(dir, 'home'));
  await writeFile(join(dir, 'runtime.yaml'), `cgroupDriver: cgroupfs\ncgroupParent: ${cgroupParent}\ncni:\n  confDir: ${join(dir, 'net.d')}\n`);
  await execa('ip', ['netns', 'add', tag]);
  await execa('ip', ['link', 'add', `${tag}h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', tag]);
  await execa('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', `${tag}h`]);
  await execa('ip', ['link', 'set', `${tag}h`, 'up']);
  const [cmd, args] = inNetns(['sh', '-c', `ip link set lo up && ip addr add ${NODE_IP}/24 dev eth0 && ip link set eth0 up && ip route add default via ${HOST_IP}`]);
  await execa(cmd, args);
  up = startUp();
});

after(async () => {
  await stopUp();
  // the pods outlive `up` (as they outlive each daemon): a runtime on the same state removes them
  const socket = join(dir, 'state', 'corelet.sock');
  const [cmd, args] = inNetns([process.execPath, CORELET, 'runtime', '--socket', socket, '--root', join(dir, 'state', 'runtime'), '--config', join(dir, 'runtime.yaml')]);
  const runtime = spawn(cmd, args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if ((await execa('crictl', ['-r', `unix://${socket}`, 'version'], { reject: false })).exitCode === 0) break;
    await sleep(100);
  }
  await execa('crictl', ['-r', `unix://${socket}`, '--timeout', '60s', 'rmp', '-fa'], { reject: false });
  runtime.kill('SIGKILL');
  // whatever is still in the netns (a runtime that never started), then the rest
  const pids = (await execa('ip', ['netns', 'pids', tag], { reject: false })).stdout.split('\n').filter(Boolean);
  for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
  for (const m of mounts.reverse()) await execa('umount', ['-l', m], { reject: false });
  await removeCgroupTree(`/${qos}`);
  await removeCgroupTree(cgroupParent);
  await execa('ip', ['netns', 'del', tag], { reject: false });
  await execa('ip', ['link', 'del', `${tag}h`], { reject: false });
  await rm(dir, { recursive: true, force: true });
  assert.equal(await cgroupExists(`/${qos}`), false, 'QoS cgroup removed');
  assert.equal(await cgroupExists(cgroupParent), false, 'cgroup parent removed');
});

test('corelet up --examples runs the Zeus ZAP stack on this machine, UI on its NodePort', async () => {
  const pods = await readyZeusPods();
  assert.ok(pods.every((p) => p.spec.nodeName === 'up-node'));
  const nodes = (await api('/api/v1/nodes')).json.items;
  assert.deepEqual(nodes.map((n: any) => n.metadata.name), ['up-node']);
  const page = await uiShowsServices();
  assert.match(page, /database: zeus-db-0\.zeus-db:7000/, 'the database by its StatefulSet name');
});

test('stopped and started again, corelet up keeps the cluster and its pods', async () => {
  const before = (await api('/api/v1/namespaces/default/pods')).json.items.map((p: any) => p.metadata.uid).sort();
  const config = await readFile(join(dir, 'home', '.corelet', 'config'), 'utf8');
  assert.equal(await stopUp(), 0, 'SIGTERM stops it cleanly');
  // the pods keep running without it
  const res = await fetch(`http://${NODE_IP}:30080/healthz`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  up = startUp();
  const pods = await readyZeusPods();
  assert.deepEqual(pods.map((p) => p.metadata.uid).sort(), before, 'the same pods, adopted');
  assert.equal(await readFile(join(dir, 'home', '.corelet', 'config'), 'utf8'), config, 'the same credentials');
  await uiShowsServices();
});
