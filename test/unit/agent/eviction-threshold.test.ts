import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAvailableReader, parseEvictionHard, parseMemTotal, thresholdBytes } from '../../../src/agent/eviction/index.js';
import { isKind } from '../../../src/lib/index.js';
import { GI, MI } from './qos-fixtures.js';

test('parseEvictionHard: quantities and percentages', () => {
  assert.deepEqual(parseEvictionHard('memory.available<100Mi'), [{ signal: 'memory.available', quantity: 100 * MI, value: '100Mi' }]);
  assert.deepEqual(parseEvictionHard('memory.available<10%, nodefs.available<15%'), [
    { signal: 'memory.available', percentage: 0.1, value: '10%' },
    { signal: 'nodefs.available', percentage: 0.15, value: '15%' },
  ]);
  assert.deepEqual(parseEvictionHard('memory.available<0%'), [], '0% disables the signal');
  assert.deepEqual(parseEvictionHard(''), []);
});

test('parseEvictionHard: refuses what the kubelet refuses', () => {
  for (const bad of [
    'memory.available>100Mi',
    'memory.avail<100Mi',
    'memory.available<100Mi,memory.available<1Gi',
    'memory.available<0',
    'memory.available<-1Mi',
    'memory.available<150%',
    'memory.available<-5%',
    'memory.available<x%',
    'memory.available<lots',
  ]) {
    assert.throws(() => parseEvictionHard(bad), (e) => isKind(e, 'InvalidArgument'), bad);
  }
});

test('thresholdBytes: a percentage is of capacity', () => {
  const [q] = parseEvictionHard('memory.available<100Mi');
  const [p] = parseEvictionHard('memory.available<10%');
  assert.equal(thresholdBytes(q!, 4 * GI), 100 * MI);
  assert.equal(thresholdBytes(p!, 4 * GI), Math.floor(0.4 * GI));
});

async function fakeHost(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-evict-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const meminfo = join(dir, 'meminfo');
  await writeFile(meminfo, 'MemTotal:        4194304 kB\nMemFree:         1000000 kB\nMemAvailable:    2000000 kB\n');
  return { dir, meminfo };
}

test('memory.available on v1: MemTotal − (root usage_in_bytes − total_inactive_file)', async (t) => {
  const { dir, meminfo } = await fakeHost(t);
  await mkdir(join(dir, 'memory'));
  await writeFile(join(dir, 'memory/memory.usage_in_bytes'), `${3 * GI}\n`);
  await writeFile(join(dir, 'memory/memory.stat'), `cache 5\ninactive_file 7\ntotal_inactive_file ${GI}\ntotal_rss 9\n`);
  const read = memoryAvailableReader({ root: dir, mode: 'hybrid', meminfoPath: meminfo });
  assert.deepEqual(await read(), { capacityBytes: 4 * GI, workingSetBytes: 2 * GI, availableBytes: 2 * GI });
});

test('memory.available on v2: MemTotal − (root anon + file − inactive_file)', async (t) => {
  const { dir, meminfo } = await fakeHost(t);
  await writeFile(join(dir, 'memory.stat'), `anon ${GI}\nfile ${2 * GI}\ninactive_file ${512 * MI}\nactive_file 1\n`);
  const read = memoryAvailableReader({ root: dir, mode: 'v2', meminfoPath: meminfo });
  assert.deepEqual(await read(), { capacityBytes: 4 * GI, workingSetBytes: 2.5 * GI, availableBytes: 1.5 * GI });
});

test('parseMemTotal needs a MemTotal line', () => {
  assert.equal(parseMemTotal('MemTotal: 1024 kB\n'), 1024 * 1024);
  assert.throws(() => parseMemTotal('MemFree: 1 kB\n'), (e) => isKind(e, 'Internal'));
});
