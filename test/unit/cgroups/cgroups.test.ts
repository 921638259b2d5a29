import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cgroups, detectCgroupMode, parseCpuMax, parseFlatKeyed, parseSingleValue } from '../../../src/host/index.js';
import { isKind } from '../../../src/lib/index.js';

const CTR = '/kubepods/besteffort/pod123/ctr1';

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'corelet-cg-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function put(file: string, text: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
}

/** A v1 tree shaped like this host's: one hierarchy per controller, plus name=systemd and unified. */
async function fakeV1(root: string, opts: { combinedCpu?: boolean } = {}): Promise<void> {
  const cpuDir = opts.combinedCpu ? 'cpu,cpuacct' : 'cpu';
  const cpuacctDir = opts.combinedCpu ? 'cpu,cpuacct' : 'cpuacct';
  for (const h of [cpuDir, cpuacctDir, 'memory', 'pids', 'devices', 'freezer', 'systemd', 'unified']) {
    await mkdir(join(root, h, CTR), { recursive: true });
  }
  if (opts.combinedCpu) {
    await symlink('cpu,cpuacct', join(root, 'cpu'));
    await symlink('cpu,cpuacct', join(root, 'cpuacct'));
  }
  await put(join(root, cpuacctDir, CTR, 'cpuacct.usage'), '123456789\n');
  await put(join(root, cpuDir, CTR, 'cpu.shares'), '2\n');
  await put(join(root, cpuDir, CTR, 'cpu.cfs_quota_us'), '50000\n');
  await put(join(root, cpuDir, CTR, 'cpu.cfs_period_us'), '100000\n');
  await put(join(root, 'memory', CTR, 'memory.usage_in_bytes'), '10485760\n');
  await put(join(root, 'memory', CTR, 'memory.limit_in_bytes'), '52428800\n');
  await put(
    join(root, 'memory', CTR, 'memory.stat'),
    [
      'cache 4096',
      'rss 1000',
      'inactive_file 1',
      'pgfault 1',
      'pgmajfault 1',
      'total_cache 8192',
      'total_rss 2097152',
      'total_inactive_file 1048576',
      'total_pgfault 345',
      'total_pgmajfault 6',
      '',
    ].join('\n'),
  );
  await put(join(root, 'memory', CTR, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  await put(join(root, 'pids', CTR, 'cgroup.procs'), '101\n102\n');
}

test('detectCgroupMode tells v1, hybrid and v2 apart from the files under root', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, 'v1', 'memory'), { recursive: true });
  assert.equal(detectCgroupMode(join(root, 'v1')), 'v1');
  await put(join(root, 'hy', 'unified', 'cgroup.controllers'), '\n');
  await mkdir(join(root, 'hy', 'memory'), { recursive: true });
  assert.equal(detectCgroupMode(join(root, 'hy')), 'hybrid');
  await put(join(root, 'v2', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  assert.equal(detectCgroupMode(join(root, 'v2')), 'v2');
});

test('v1 stats read cpuacct, memory usage/stat and the oom_kill counter', async (t) => {
  const root = await tempRoot(t);
  await fakeV1(root);
  const cg = new Cgroups({ root, mode: 'hybrid' });
  const s = await cg.stats(CTR);
  assert.ok(s);
  assert.equal(s.cpuUsageNanos, 123456789);
  assert.equal(s.memoryUsageBytes, 10485760);
  assert.equal(s.memoryWorkingSetBytes, 10485760 - 1048576);
  assert.equal(s.memoryRssBytes, 2097152);
  assert.equal(s.pageFaults, 345);
  assert.equal(s.majorPageFaults, 6);
  assert.equal(s.oomKills, 2);
  assert.ok(s.timestampMs > 0);
});

test('v1 with a combined cpu,cpuacct hierarchy finds both controllers', async (t) => {
  const root = await tempRoot(t);
  await fakeV1(root, { combinedCpu: true });
  const cg = new Cgroups({ root, mode: 'v1' });
  assert.equal((await cg.stats(CTR))?.cpuUsageNanos, 123456789);
  assert.deepEqual(await cg.limits(CTR), { cpuShares: 2, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 52428800 });
});

test('v1 limits: -1 quota and the huge "unlimited" memory value mean no limit', async (t) => {
  const root = await tempRoot(t);
  await fakeV1(root);
  await writeFile(join(root, 'cpu', CTR, 'cpu.cfs_quota_us'), '-1\n');
  await writeFile(join(root, 'memory', CTR, 'memory.limit_in_bytes'), '9223372036854771712\n');
  const cg = new Cgroups({ root, mode: 'v1' });
  assert.deepEqual(await cg.limits(CTR), { cpuShares: 2, cpuPeriod: 100000 });
});

test('v1 pids, exists, and a cgroup that is gone', async (t) => {
  const root = await tempRoot(t);
  await fakeV1(root);
  await put(join(root, 'pids', CTR, 'child', 'cgroup.procs'), '103\n');
  const cg = new Cgroups({ root, mode: 'v1' });
  assert.deepEqual(await cg.pids(CTR), [101, 102]);
  assert.deepEqual((await cg.pids(CTR, { recursive: true })).sort(), [101, 102, 103]);
  assert.equal(await cg.exists(CTR), true);
  assert.equal(await cg.exists('/kubepods/other'), false);
  assert.equal(await cg.stats('/kubepods/other'), undefined);
  assert.equal(await cg.limits('/kubepods/other'), undefined);
  assert.deepEqual(await cg.pids('/kubepods/other'), []);
});

test('v1 removeIfEmpty removes the folder from every hierarchy, including systemd and unified', async (t) => {
  const root = await tempRoot(t);
  // rmdir on a real cgroupfs ignores the control files; here the fake folders must be empty.
  for (const h of ['cpu', 'cpuacct', 'memory', 'pids', 'systemd', 'unified']) await mkdir(join(root, h, '/a/b'), { recursive: true });
  const cg = new Cgroups({ root, mode: 'hybrid' });
  const res = await cg.removeIfEmpty('/a/b');
  assert.equal(res.busy.length, 0);
  assert.equal(res.removed.length, 6);
  for (const h of ['cpu', 'cpuacct', 'memory', 'pids', 'systemd', 'unified']) assert.deepEqual(await readdir(join(root, h, 'a')), []);
  assert.equal(await cg.exists('/a/b'), false);
  // Gone already: nothing to do, no error.
  assert.deepEqual(await cg.removeIfEmpty('/a/b'), { removed: [], busy: [] });
});

test('removeIfEmpty reports folders that are not empty and keeps them', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, 'memory', 'a', 'child'), { recursive: true });
  await mkdir(join(root, 'pids', 'a'), { recursive: true });
  const cg = new Cgroups({ root, mode: 'v1' });
  const res = await cg.removeIfEmpty('/a');
  assert.deepEqual(res.busy, [join(root, 'memory', 'a')]);
  assert.deepEqual(res.removed, [join(root, 'pids', 'a')]);
});

test('removeTree removes the cgroup and its empty descendants deepest first in every hierarchy, and reports busy ones', async (t) => {
  const root = await tempRoot(t);
  for (const h of ['cpu', 'memory', 'systemd']) await mkdir(join(root, h, 'top', 'pod1', 'ctr'), { recursive: true });
  // a file stands for a process: rmdir fails with ENOTEMPTY, as cgroupfs fails with EBUSY
  await put(join(root, 'memory', 'top', 'pod1', 'ctr', 'held'), '');
  const cg = new Cgroups({ root, mode: 'v1' });
  const res = await cg.removeTree('/top/pod1');
  assert.deepEqual(res.busy.sort(), [join(root, 'memory', 'top', 'pod1'), join(root, 'memory', 'top', 'pod1', 'ctr')].sort());
  assert.deepEqual(res.removed.sort(), ['cpu', 'systemd'].flatMap((h) => [join(root, h, 'top', 'pod1', 'ctr'), join(root, h, 'top', 'pod1')]).sort());
  assert.deepEqual(await readdir(join(root, 'cpu', 'top')), []);
  // Gone already: nothing to do, no error; the root is refused.
  assert.deepEqual(await cg.removeTree('/top/none'), { removed: [], busy: [] });
  await assert.rejects(cg.removeTree('/'), (err) => isKind(err, 'InvalidArgument'));
});

test('bad cgroup paths are refused with InvalidArgument', async (t) => {
  const root = await tempRoot(t);
  const cg = new Cgroups({ root, mode: 'v1' });
  for (const p of ['relative/path', '/a/../../etc', '/']) {
    await assert.rejects(
      async () => {
        if (p === '/') await cg.removeIfEmpty(p);
        else await cg.stats(p);
      },
      (err: unknown) => isKind(err, 'InvalidArgument'),
    );
  }
});

test('v2 stats read cpu.stat, memory.current/stat/events', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  const dir = join(root, CTR);
  await put(join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n');
  await put(join(dir, 'memory.current'), '8388608\n');
  await put(join(dir, 'memory.stat'), 'anon 3145728\nfile 4194304\ninactive_file 2097152\npgfault 77\npgmajfault 3\n');
  await put(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
  await put(join(dir, 'cgroup.procs'), '7\n');
  const cg = new Cgroups({ root });
  assert.equal(cg.mode, 'v2');
  const s = await cg.stats(CTR);
  assert.ok(s);
  assert.equal(s.cpuUsageNanos, 2_500_000);
  assert.equal(s.memoryUsageBytes, 8388608);
  assert.equal(s.memoryWorkingSetBytes, 8388608 - 2097152);
  assert.equal(s.memoryRssBytes, 3145728);
  assert.equal(s.pageFaults, 77);
  assert.equal(s.majorPageFaults, 3);
  assert.equal(s.oomKills, 1);
  assert.deepEqual(await cg.pids(CTR), [7]);
  assert.equal(await cg.stats('/nope'), undefined);
});

test('v2 limits read cpu.weight, cpu.max and memory.max ("max" is no limit)', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, 'cgroup.controllers'), 'cpu memory\n');
  const dir = join(root, CTR);
  await put(join(dir, 'cpu.weight'), '39\n');
  await put(join(dir, 'cpu.max'), '25000 100000\n');
  await put(join(dir, 'memory.max'), '104857600\n');
  const cg = new Cgroups({ root, mode: 'v2' });
  assert.deepEqual(await cg.limits(CTR), { cpuWeight: 39, cpuQuota: 25000, cpuPeriod: 100000, memoryLimit: 104857600 });
  await writeFile(join(dir, 'cpu.max'), 'max 100000\n');
  await writeFile(join(dir, 'memory.max'), 'max\n');
  assert.deepEqual(await cg.limits(CTR), { cpuWeight: 39, cpuPeriod: 100000 });
});

test('v2 removeIfEmpty removes the one folder', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, 'cgroup.controllers'), 'cpu memory\n');
  await mkdir(join(root, 'a', 'b'), { recursive: true });
  const cg = new Cgroups({ root, mode: 'v2' });
  assert.deepEqual(await cg.removeIfEmpty('/a/b'), { removed: [join(root, 'a', 'b')], busy: [] });
  assert.equal(await cg.exists('/a/b'), false);
});

test('parsers handle flat-keyed files, single values and cpu.max', () => {
  assert.deepEqual([...parseFlatKeyed('a 1\nb 2\n\nbad line here\n')], [['a', 1], ['b', 2]]);
  assert.equal(parseSingleValue('max\n'), undefined);
  assert.equal(parseSingleValue('42\n'), 42);
  assert.equal(parseSingleValue('9223372036854771712'), undefined);
  assert.deepEqual(parseCpuMax('max 100000'), { quota: undefined, period: 100000 });
  assert.deepEqual(parseCpuMax('50000 100000\n'), { quota: 50000, period: 100000 });
});
