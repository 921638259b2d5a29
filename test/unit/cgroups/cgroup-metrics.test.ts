import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cgroups, parseBlkioV1, parseIoStatV2, parseNetDev, processFigures, readCgroupMetrics, weightToShares } from '../../../src/host/index.js';

const CTR = '/kubepods/burstable/pod1/ctr1';

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'corelet-cgm-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function put(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

test('v1: every figure from its controller hierarchy', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, 'cpuacct', CTR), { 'cpuacct.usage': '2500000000\n', 'cpuacct.stat': 'user 150\nsystem 50\n' });
  await put(join(root, 'cpu', CTR), {
    'cpu.stat': 'nr_periods 40\nnr_throttled 7\nthrottled_time 3000000000\n',
    'cpu.shares': '512\n',
    'cpu.cfs_period_us': '100000\n',
    'cpu.cfs_quota_us': '20000\n',
  });
  await put(join(root, 'memory', CTR), {
    'memory.usage_in_bytes': '10485760\n',
    'memory.max_usage_in_bytes': '20971520\n',
    'memory.failcnt': '3\n',
    'memory.kmem.usage_in_bytes': '65536\n',
    'memory.limit_in_bytes': '67108864\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.soft_limit_in_bytes': '9223372036854771712\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    'memory.stat': 'pgfault 10\npgmajfault 1\ntotal_rss 4096\ntotal_cache 8192\ntotal_mapped_file 1024\ntotal_swap 0\ntotal_inactive_file 4096\ntotal_pgfault 30\ntotal_pgmajfault 2\n',
  });
  await put(join(root, 'pids', CTR), { 'pids.current': '4\n', 'pids.max': 'max\n' });
  await put(join(root, 'blkio', CTR), {
    'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n',
  });
  const m = await readCgroupMetrics(new Cgroups({ root, mode: 'v1' }), CTR);
  assert.ok(m);
  assert.deepEqual(m.cpu, { usageNanos: 2.5e9, userNanos: 1.5e9, systemNanos: 0.5e9, periods: 40, throttledPeriods: 7, throttledNanos: 3e9 });
  assert.deepEqual(
    { ...m.memory },
    {
      usage: 10485760,
      maxUsage: 20971520,
      workingSet: 10485760 - 4096,
      rss: 4096,
      cache: 8192,
      mappedFile: 1024,
      swap: 0,
      kernel: 65536,
      failcnt: 3,
      pgfault: { container: 10, hierarchy: 30 },
      pgmajfault: { container: 1, hierarchy: 2 },
      oomKills: 1,
    },
  );
  assert.deepEqual(m.spec, { cpuShares: 512, cpuPeriod: 100000, cpuQuota: 20000, memoryLimit: 67108864, memorySwapLimit: undefined, memoryReservation: undefined }, 'v1 "unlimited" is no limit');
  assert.deepEqual(m.pids, { current: 4, max: undefined });
  assert.deepEqual(m.blkio, [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }]);
});

test('v1: a cgroup that is not there reads as undefined, missing controllers and files as zero', async (t) => {
  const root = await tempRoot(t);
  assert.equal(await readCgroupMetrics(new Cgroups({ root, mode: 'v1' }), CTR), undefined);
  await mkdir(join(root, 'memory', CTR), { recursive: true });
  const m = await readCgroupMetrics(new Cgroups({ root, mode: 'v1' }), CTR);
  assert.equal(m?.cpu.usageNanos, 0);
  assert.equal(m?.memory.usage, 0);
  assert.deepEqual(m?.blkio, []);
});

test('v2: every figure from the unified files', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, CTR), {
    'cpu.stat': 'usage_usec 2500000\nuser_usec 1500000\nsystem_usec 1000000\nnr_periods 40\nnr_throttled 7\nthrottled_usec 3000000\n',
    'cpu.weight': '100\n',
    'cpu.max': '20000 100000\n',
    'memory.current': '10485760\n',
    'memory.peak': '20971520\n',
    'memory.stat': 'anon 4096\nfile 8192\nfile_mapped 1024\ninactive_file 4096\nkernel 65536\npgfault 30\npgmajfault 2\n',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    'memory.swap.current': '0\n',
    'memory.max': '67108864\n',
    'memory.swap.max': 'max\n',
    'memory.low': '0\n',
    'pids.current': '4\n',
    'pids.max': '1024\n',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
  });
  const m = await readCgroupMetrics(new Cgroups({ root, mode: 'v2' }), CTR);
  assert.ok(m);
  assert.deepEqual(m.cpu, { usageNanos: 2.5e9, userNanos: 1.5e9, systemNanos: 1e9, periods: 40, throttledPeriods: 7, throttledNanos: 3e9 });
  assert.equal(m.memory.maxUsage, 20971520);
  assert.equal(m.memory.workingSet, 10485760 - 4096);
  assert.equal(m.memory.kernel, 65536);
  assert.equal(m.memory.failcnt, 3);
  assert.deepEqual(m.memory.pgfault, { container: 30, hierarchy: 30 });
  assert.deepEqual(m.spec, { cpuShares: 2597, cpuPeriod: 100000, cpuQuota: 20000, memoryLimit: 67108864, memorySwapLimit: undefined, memoryReservation: undefined }, 'cpu.weight 100 is 2597 shares (cAdvisor)');
  assert.deepEqual(m.pids, { current: 4, max: 1024 });
  assert.deepEqual(m.blkio, [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }]);
});

test('v2: before Linux 5.18 memory.stat has no "kernel": its parts are summed; no memory.peak: the current usage', async (t) => {
  const root = await tempRoot(t);
  await put(join(root, CTR), { 'memory.current': '100\n', 'memory.stat': 'kernel_stack 1\nslab 2\nsock 3\npercpu 4\n' });
  const m = await readCgroupMetrics(new Cgroups({ root, mode: 'v2' }), CTR);
  assert.equal(m?.memory.kernel, 10);
  assert.equal(m?.memory.maxUsage, 100);
});

test('cpu.weight converts to shares as cAdvisor does', () => {
  assert.equal(weightToShares(1), 2);
  assert.equal(weightToShares(100), 2597);
  assert.equal(weightToShares(10000), 262144);
});

test('blkio and io.stat parsers skip what is not a device line', () => {
  assert.deepEqual(parseBlkioV1('Total 0\n', ''), []);
  assert.deepEqual(parseBlkioV1('253:1 Read 5\n', '253:1 Write 6\n'), [{ major: 253, minor: 1, readBytes: 5, writeBytes: 0, reads: 0, writes: 6 }]);
  assert.deepEqual(parseIoStatV2('garbage\n\n'), []);
});

test('/proc/net/dev: every interface with its eight counters', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0',
    '  eth0:    1096      12    1    2    0     0          0         0      796      10    3    4    0     0       0          0',
  ].join('\n');
  assert.deepEqual(parseNetDev(text)[1], { name: 'eth0', rxBytes: 1096, rxPackets: 12, rxErrors: 1, rxDropped: 2, txBytes: 796, txPackets: 10, txErrors: 3, txDropped: 4 });
  assert.equal(parseNetDev(text).length, 2);
});

test('process figures: descriptors, sockets and threads of live processes; gone ones count nothing', async (t) => {
  const root = await tempRoot(t);
  const self = await processFigures([process.pid]);
  assert.ok(self.threads >= 1 && self.fileDescriptors >= 3, JSON.stringify(self));
  assert.deepEqual(await processFigures([999_999_999], root), { fileDescriptors: 0, sockets: 0, threads: 0 });
});

test('process figures: sockets are told among the first descriptors only (a million open files cost one readdir)', async (t) => {
  const root = await tempRoot(t);
  const fd = join(root, '42', 'fd');
  await mkdir(fd, { recursive: true });
  await writeFile(join(root, '42', 'status'), 'Name:\tx\nThreads:\t3\n');
  for (let i = 0; i < 6; i++) await symlink(i % 2 === 0 ? `socket:[${i}]` : '/dev/null', join(fd, String(i)));
  assert.deepEqual(await processFigures([42], root), { fileDescriptors: 6, sockets: 3, threads: 3 });
  const capped = await processFigures([42], root, 2);
  assert.equal(capped.fileDescriptors, 6);
  assert.ok(capped.sockets <= 2, `at most the 2 looked at: ${capped.sockets}`);
});
