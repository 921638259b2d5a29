import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conmonAttachPath,
  conmonCtlPath,
  isProcessAlive,
  readExitFile,
  readOomFlag,
  reopenContainerLog,
  resizeTerminal,
  waitForExit,
} from '../../../src/runtime/oci/index.js';
import { isKind } from '../../../src/lib/index.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'corelet-exit-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

test('readExitFile reads the code conmon wrote, undefined while absent or partial', async (t) => {
  const d = await tempDir(t);
  assert.equal(await readExitFile(d, 'c1'), undefined);
  await writeFile(join(d, 'c1'), '');
  assert.equal(await readExitFile(d, 'c1'), undefined);
  await writeFile(join(d, 'c1'), '137');
  assert.equal(await readExitFile(d, 'c1'), 137);
  await writeFile(join(d, 'c1'), '0\n');
  assert.equal(await readExitFile(d, 'c1'), 0);
});

test('waitForExit resolves when the file appears, at once when it is already there, undefined on timeout', async (t) => {
  const d = await tempDir(t);
  const waiting = waitForExit(d, 'c1', 30_000);
  setTimeout(() => void writeFile(join(d, 'c1'), '143'), 50);
  assert.equal(await waiting, 143);
  assert.equal(await waitForExit(d, 'c1', 30_000), 143);
  assert.equal(await waitForExit(d, 'c2', 100), undefined);
});

test('waitForExit falls back to polling when the folder cannot be watched yet', async (t) => {
  const d = await tempDir(t);
  const exitDir = join(d, 'not-yet');
  const waiting = waitForExit(exitDir, 'c1', 30_000, { pollMs: 20 });
  setTimeout(() => void mkdir(exitDir).then(() => writeFile(join(exitDir, 'c1'), '1')), 50);
  assert.equal(await waiting, 1);
});

test('waitForExit stops on abort', async (t) => {
  const d = await tempDir(t);
  const ac = new AbortController();
  const waiting = waitForExit(d, 'c1', 30_000, { signal: ac.signal });
  ac.abort();
  assert.equal(await waiting, undefined);
});

test('readOomFlag is true when conmon left an "oom" file', async (t) => {
  const d = await tempDir(t);
  assert.equal(await readOomFlag(d), false);
  await writeFile(join(d, 'oom'), '');
  assert.equal(await readOomFlag(d), true);
});

test('reopenContainerLog and resizeTerminal write conmon ctl lines to the fifo', async (t) => {
  const d = await tempDir(t);
  const ctl = join(d, 'ctl');
  execFileSync('mkfifo', [ctl]);
  // Without a reader (no conmon), the write fails fast with NotFound instead of blocking.
  await assert.rejects(reopenContainerLog(ctl), (err: unknown) => isKind(err, 'NotFound'));
  await assert.rejects(reopenContainerLog(join(d, 'missing')), (err: unknown) => isKind(err, 'NotFound'));
  // Play conmon: keep the fifo open for reading.
  const reader = await open(ctl, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => reader.close());
  await reopenContainerLog(ctl);
  await resizeTerminal(ctl, { height: 40, width: 120 });
  const buf = Buffer.alloc(100);
  const { bytesRead } = await reader.read(buf, 0, 100, null);
  assert.equal(buf.subarray(0, bytesRead).toString(), '2 0 0\n1 40 120\n');
  await assert.rejects(resizeTerminal(ctl, { height: -1, width: 3 }), (err: unknown) => isKind(err, 'InvalidArgument'));
});

test('reopenContainerLog waits seconds for conmon\'s new log file (a loaded conmon is slow), then gives up', async (t) => {
  const d = await tempDir(t);
  const ctl = join(d, 'ctl');
  execFileSync('mkfifo', [ctl]);
  const reader = await open(ctl, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => reader.close());
  const log = join(d, '0.log');
  // Virtual time: "conmon" creates the new file 1.5 s after the request.
  let now = 0;
  const sleep = async (ms: number) => {
    now += ms;
    if (now >= 1500) await writeFile(log, '');
  };
  await reopenContainerLog(ctl, log, { sleep });
  assert.ok(existsSync(log), 'the request succeeded once conmon reopened');
  await rm(log);
  now = -1e9; // this conmon never reopens
  await assert.rejects(reopenContainerLog(ctl, log, { sleep: async (ms) => void (now += ms) }), (err: unknown) => isKind(err, 'FailedPrecondition'));
  assert.ok(now - -1e9 >= 5000, 'it waited at least 5 s (virtual) before giving up');
});

test('conmon socket paths', () => {
  assert.equal(conmonAttachPath('/run/corelet/sockets', 'c1'), '/run/corelet/sockets/c1/attach');
  assert.equal(conmonCtlPath('/run/corelet/sockets', 'c1'), '/run/corelet/sockets/c1/ctl');
});

test('isProcessAlive: live, zombie and missing processes (fake /proc)', async (t) => {
  const d = await tempDir(t);
  await mkdir(join(d, '10'));
  await writeFile(join(d, '10', 'stat'), '10 (conmon) S 1 10 10 0 -1');
  await mkdir(join(d, '11'));
  await writeFile(join(d, '11', 'stat'), '11 (we) ird) Z 1 11 11 0 -1');
  assert.equal(await isProcessAlive(10, d), true);
  assert.equal(await isProcessAlive(11, d), false);
  assert.equal(await isProcessAlive(12, d), false);
  assert.equal(await isProcessAlive(process.pid), true);
  assert.ok((await readFile(join(d, '10', 'stat'), 'utf8')).length > 0);
});
