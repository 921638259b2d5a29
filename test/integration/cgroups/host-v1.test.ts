import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cgroups, detectCgroupMode } from '../../../src/host/index.js';

const ROOT = '/sys/fs/cgroup';
const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'];

test('Cgroups on the host v1 hierarchies: stats, pids, limits, removeIfEmpty', async (t) => {
  const mode = detectCgroupMode(ROOT);
  assert.notEqual(mode, 'v2', 'this test drives the v1 hierarchies (this host is hybrid)');
  const path = `/corelet-it-cg-${randomBytes(4).toString('hex')}`;
  for (const c of CONTROLLERS) await mkdir(join(ROOT, c, path));

  // A shell that waits for a line, then burns some CPU, runs a program (page faults) and sleeps:
  // it is moved into the cgroup before it gets the line.
  const proc = spawn('/bin/sh', ['-c', 'read x; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; /bin/true; echo go; exec sleep 600'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const gone = new Promise((r) => proc.on('close', r));
  t.after(async () => {
    proc.kill('SIGKILL');
    await gone;
    for (const c of CONTROLLERS) await rmdir(join(ROOT, c, path)).catch(() => undefined);
  });
  await new Promise((r) => proc.on('spawn', r));
  for (const c of CONTROLLERS) await writeFile(join(ROOT, c, path, 'cgroup.procs'), String(proc.pid));
  await writeFile(join(ROOT, 'memory', path, 'memory.limit_in_bytes'), String(100 * 1024 * 1024));
  await writeFile(join(ROOT, 'cpu', path, 'cpu.cfs_period_us'), '100000');
  await writeFile(join(ROOT, 'cpu', path, 'cpu.cfs_quota_us'), '50000');
  await writeFile(join(ROOT, 'cpu', path, 'cpu.shares'), '512');
  const ready = new Promise((r) => proc.stdout.once('data', r));
  proc.stdin.write('start\n');
  await ready;

  const cg = new Cgroups({ root: ROOT, mode });
  assert.equal(await cg.exists(path), true);
  const s = await cg.stats(path);
  assert.ok(s);
  assert.ok(s.cpuUsageNanos > 0, 'cpu time counted');
  assert.ok(s.memoryUsageBytes > 0, 'memory counted');
  assert.ok(s.memoryWorkingSetBytes <= s.memoryUsageBytes);
  assert.ok(s.pageFaults > 0);
  assert.equal(s.oomKills, 0);
  assert.deepEqual(await cg.pids(path), [proc.pid]);
  assert.deepEqual(await cg.limits(path), { cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 100 * 1024 * 1024 });

  const busy = await cg.removeIfEmpty(path);
  assert.deepEqual(busy.busy.sort(), CONTROLLERS.map((c) => join(ROOT, c, path)).sort(), 'folders with a process stay');
  assert.equal(await cg.exists(path), true);

  proc.kill('SIGKILL');
  await gone;
  const res = await cg.removeIfEmpty(path);
  assert.deepEqual(res.busy, []);
  assert.equal(await cg.exists(path), false);
  assert.equal(await cg.stats(path), undefined);
});
