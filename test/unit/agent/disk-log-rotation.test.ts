import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLogRotationSettings, ContainerLogManager, planRotation, rotatedLogName } from '../../../src/agent/disk/index.js';
import { isKind } from '../../../src/lib/index.js';

test('rotatedLogName: <log>.<YYYYMMDD-HHMMSS> in UTC, as the kubelet names rotated logs', () => {
  assert.equal(rotatedLogName('/var/log/pods/ns_p_u/c/0.log', new Date('2026-12-07T05:04:03.999Z')), '/var/log/pods/ns_p_u/c/0.log.20261207-050403');
  assert.equal(rotatedLogName('0.log', new Date('2026-12-07T05:04:03.009Z'), true), '0.log.20261207-050403.009', 'a second rotation within the second');
});

test('planRotation keeps max-files − 2 rotated logs (newest), gzips them, removes leftovers', () => {
  const entries = [
    '0.log',
    '0.log.20261207-050001.gz',
    '0.log.20261207-050002.gz',
    '0.log.20261207-050003', // not compressed yet
    '0.log.20261207-050004',
    '0.log.20261207-050002', // the uncompressed copy of a compressed log (compression interrupted)
    '0.log.20261207-050003.gz.tmp', // an interrupted compression
    '1.log.20261207-050000', // another container's (restart) log: not ours
    '0.log.garbage',
    '0.log.20261207-050004.500', // a second rotation within one second sorts after the first
  ];
  assert.deepEqual(planRotation('0.log', entries, 5), {
    removeUnused: ['0.log.20261207-050003.gz.tmp', '0.log.20261207-050002'],
    removeExcess: ['0.log.20261207-050001.gz', '0.log.20261207-050002.gz'],
    compress: ['0.log.20261207-050003', '0.log.20261207-050004', '0.log.20261207-050004.500'],
  });
  assert.deepEqual(planRotation('0.log', entries, 2).removeExcess.length, 5, 'max-files 2: only the current log and the one rotated now');
  assert.deepEqual(planRotation('0.log', ['0.log'], 5), { removeUnused: [], removeExcess: [], compress: [] });
});

test('checkLogRotationSettings refuses what the kubelet refuses', () => {
  assert.doesNotThrow(() => checkLogRotationSettings(10 * 1024 * 1024, 5));
  assert.throws(() => checkLogRotationSettings(0, 5), (e) => isKind(e, 'InvalidArgument') && /container-log-max-size/.test((e as Error).message));
  assert.throws(() => checkLogRotationSettings(1024, 1), (e) => isKind(e, 'InvalidArgument') && /container-log-max-files/.test((e as Error).message));
});

/** A fake runtime whose "conmon" reopens the log by creating the file again; and a clock that ticks a second per call. */
function fakeRuntime(logPath: string, opts: { failReopen?: boolean } = {}) {
  const calls: string[] = [];
  const cri = {
    runtime: {
      ListContainers: async () => ({ containers: [{ id: 'c1' }] }),
      ContainerStatus: async () => {
        calls.push('status');
        return { status: { log_path: logPath } };
      },
      ReopenContainerLog: async () => {
        calls.push('reopen');
        if (opts.failReopen) throw new Error('conmon is gone');
        await writeFile(logPath, '');
      },
    },
  } as any;
  let t = Date.parse('2026-12-07T05:00:00Z');
  return { cri, calls, now: () => new Date((t += 1000)) };
}

test('ContainerLogManager: a log over max size is rotated and reopened; at most max-files remain, older ones gzipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-logrot-'));
  try {
    const log = join(dir, '0.log');
    await writeFile(log, '');
    const f = fakeRuntime(log);
    const m = new ContainerLogManager({ cri: f.cri, maxSizeBytes: 100, maxFiles: 3, now: f.now });
    assert.deepEqual(await m.check(), [], 'an empty log stays');
    for (let i = 0; i < 5; i++) {
      await writeFile(log, `2026-12-07T05:00:00.000000000+00:00 stdout F line ${i} ${'y'.repeat(120)}\n`);
      assert.deepEqual(await m.check(), [log]);
      await m.idle();
    }
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['0.log', '0.log.20261207-050004.gz', '0.log.20261207-050005'], 'current + max-files − 1 rotated, the older ones gzipped');
    assert.match(gunzipSync(await readFile(join(dir, '0.log.20261207-050004.gz'))).toString(), /line 3/);
    assert.match(await readFile(join(dir, '0.log.20261207-050005'), 'utf8'), /line 4/);
    assert.equal(await readFile(log, 'utf8'), '', 'the runtime writes to a new file');
    assert.equal(f.calls.filter((c) => c === 'status').length, 1, 'the log path is asked once per container');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ContainerLogManager: when the runtime cannot reopen, the log is put back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-logrot-'));
  try {
    await mkdir(dir, { recursive: true });
    const log = join(dir, '0.log');
    await writeFile(log, 'x'.repeat(200));
    const f = fakeRuntime(log, { failReopen: true });
    const m = new ContainerLogManager({ cri: f.cri, maxSizeBytes: 100, maxFiles: 3, now: f.now });
    assert.deepEqual(await m.check(), []);
    assert.deepEqual(await readdir(dir), ['0.log']);
    assert.equal((await readFile(log, 'utf8')).length, 200);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ContainerLogManager: a reopen that fails after conmon made the new file never swaps files under conmon', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-logrot-'));
  try {
    const log = join(dir, '0.log');
    await writeFile(log, 'old'.repeat(100));
    const f = fakeRuntime(log);
    // The runtime gave up waiting, but conmon reopened anyway and already wrote to its new file.
    f.cri.runtime.ReopenContainerLog = async () => {
      await writeFile(log, 'new line\n');
      throw new Error('conmon did not reopen in time');
    };
    const m = new ContainerLogManager({ cri: f.cri, maxSizeBytes: 100, maxFiles: 3, now: f.now });
    assert.deepEqual(await m.check(), []);
    assert.equal(await readFile(log, 'utf8'), 'new line\n', 'conmon\'s new file stays at the log path');
    const rotated = (await readdir(dir)).filter((n) => n !== '0.log');
    assert.equal(rotated.length, 1, 'the old content stays as a rotated log');
    assert.equal(await readFile(join(dir, rotated[0]!), 'utf8'), 'old'.repeat(100));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ContainerLogManager: two rotations within one second get distinct names (milliseconds on the second)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-logrot-'));
  try {
    const log = join(dir, '0.log');
    const f = fakeRuntime(log);
    const times = [new Date('2026-12-07T05:00:00.100Z'), new Date('2026-12-07T05:00:00.600Z')];
    const m = new ContainerLogManager({ cri: f.cri, maxSizeBytes: 100, maxFiles: 5, now: () => times.shift()! });
    for (let i = 0; i < 2; i++) {
      await writeFile(log, 'y'.repeat(200));
      assert.deepEqual(await m.check(), [log]);
      await m.idle();
    }
    assert.deepEqual((await readdir(dir)).sort(), ['0.log', '0.log.20261207-050000.600', '0.log.20261207-050000.gz']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ContainerLogManager.clean removes a dead container\'s log and its rotated files, nothing else', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-logrot-'));
  try {
    const log = join(dir, '0.log');
    for (const n of ['0.log', '0.log.20261207-050000.gz', '0.log.20261207-050001', '1.log', '1.log.20261207-050002']) await writeFile(join(dir, n), 'x');
    const f = fakeRuntime(log);
    await new ContainerLogManager({ cri: f.cri, now: f.now }).clean('c1');
    assert.deepEqual((await readdir(dir)).sort(), ['1.log', '1.log.20261207-050002']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
