import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, Pod } from '../../../src/api/index.js';
import { QosCgroupManager } from '../../../src/agent/qos/index.js';
import { detectCgroupMode } from '../../../src/host/index.js';

const ROOT = '/sys/fs/cgroup';
const MI = 1024 * 1024;

function pod(uid: string, resources: Container['resources']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: uid, namespace: 'default', uid, labels: {}, annotations: {} },
    spec: {
      containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'Never', env: [], ports: [], volumeMounts: [], resources }],
      initContainers: [],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      hostNetwork: false,
      shareProcessNamespace: false,
      dnsPolicy: 'ClusterFirst',
      volumes: [],
      nodeSelector: {},
      tolerations: [],
    },
  };
}

const read = async (...p: string[]) => (await readFile(join(...p), 'utf8')).trim();
const exists = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;

/** Removes dir and its sub-cgroups deepest first (cgroupfs rmdir ignores the control files). */
async function rmTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await rmTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

test('QoS cgroups on the host v1 hierarchies: tiers, pod limits, busy report, full cleanup', async (t) => {
  const mode = detectCgroupMode(ROOT);
  assert.notEqual(mode, 'v2', 'this test drives the v1 hierarchies (this host is hybrid)');
  const top = `kubepods-test-${process.pid}`;
  const hierarchies = (await readdir(ROOT, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(ROOT, e.name));
  const sleeper = spawn('/bin/sleep', ['600'], { stdio: 'ignore' });
  const gone = new Promise((r) => sleeper.on('close', r));
  t.after(async () => {
    sleeper.kill('SIGKILL');
    await gone;
    for (const h of hierarchies) await rmTree(join(h, top));
  });
  await new Promise((r) => sleeper.on('spawn', r));

  const m = new QosCgroupManager({ root: ROOT, mode, topName: top });
  await m.ensureTopLevel({ cpuMillis: 1500, memoryBytes: 1024 * MI });
  assert.equal(await read(ROOT, 'cpu', top, 'cpu.shares'), '1536');
  assert.equal(await read(ROOT, 'memory', top, 'memory.limit_in_bytes'), String(1024 * MI));
  assert.equal(await read(ROOT, 'cpu', top, 'besteffort/cpu.shares'), '2');
  assert.equal(await read(ROOT, 'cpu', top, 'burstable/cpu.shares'), '2');

  const g = pod('g-1', { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } });
  const b = pod('b-1', { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } });
  const be = pod('be-1', { requests: {}, limits: {} });
  assert.equal(await m.ensurePod(g), `/${top}/podg-1`);
  assert.equal(await m.ensurePod(b), `/${top}/burstable/podb-1`);
  assert.equal(await m.ensurePod(be), `/${top}/besteffort/podbe-1`);

  assert.equal(await read(ROOT, 'cpu', top, 'podg-1/cpu.shares'), '512');
  assert.equal(await read(ROOT, 'cpu', top, 'podg-1/cpu.cfs_period_us'), '100000');
  assert.equal(await read(ROOT, 'cpu', top, 'podg-1/cpu.cfs_quota_us'), '50000');
  assert.equal(await read(ROOT, 'memory', top, 'podg-1/memory.limit_in_bytes'), String(128 * MI));
  assert.equal(await read(ROOT, 'cpu', top, 'burstable/cpu.shares'), '256');
  assert.equal(await read(ROOT, 'cpu', top, 'burstable/podb-1/cpu.shares'), '256');
  assert.equal(await read(ROOT, 'cpu', top, 'burstable/podb-1/cpu.cfs_quota_us'), '100000');
  assert.equal(await read(ROOT, 'memory', top, 'burstable/podb-1/memory.limit_in_bytes'), String(256 * MI));
  assert.equal(await read(ROOT, 'cpu', top, 'besteffort/podbe-1/cpu.shares'), '2');
  assert.equal(await read(ROOT, 'cpu', top, 'besteffort/podbe-1/cpu.cfs_quota_us'), '-1');
  assert.ok(Number(await read(ROOT, 'memory', top, 'besteffort/podbe-1/memory.limit_in_bytes')) > 2 ** 62, 'no memory limit');
  for (const c of ['cpuacct', 'pids']) assert.ok(await exists(join(ROOT, c, top, 'besteffort/podbe-1')), `${c} has the pod`);

  // A container cgroup as runc makes it, holding a process, in the Burstable pod.
  const ctr = join(ROOT, 'memory', top, 'burstable/podb-1/ctr');
  await mkdir(ctr);
  await mkdir(join(ROOT, 'cpu', top, 'burstable/podb-1/ctr'));
  await writeFile(join(ctr, 'cgroup.procs'), String(sleeper.pid));
  const busy = await m.removePod('b-1');
  assert.deepEqual(busy.busy.sort(), [join(ROOT, 'memory', top, 'burstable/podb-1'), ctr].sort(), 'nothing killed, the busy path reported');
  assert.ok(busy.removed.includes(join(ROOT, 'cpu', top, 'burstable/podb-1/ctr')), 'empty container cgroup removed');
  assert.equal(await exists(join(ROOT, 'cpu', top, 'burstable/podb-1')), false);
  assert.equal(await read(ROOT, 'cpu', top, 'burstable/cpu.shares'), '2', 'the pod no longer counts');
  assert.equal(sleeper.exitCode, null, 'the process still runs');

  sleeper.kill('SIGKILL');
  await gone;
  for (const uid of ['b-1', 'g-1', 'be-1']) assert.deepEqual((await m.removePod(uid)).busy, [], uid);
  assert.deepEqual((await m.removeTopLevel()).busy, []);
  for (const h of hierarchies) assert.equal(await exists(join(h, top)), false, `${h} left clean`);
});
