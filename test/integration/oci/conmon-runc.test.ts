import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  conmonCtlPath,
  isProcessAlive,
  readExitFile,
  readOomFlag,
  reopenContainerLog,
  waitForExit,
} from '../../../src/runtime/oci/index.js';
import { eventually, makeContainer } from './bundle.js';

// The shell exits 143 on SIGTERM (a pid-namespace init ignores signals it has no handler for).
const LONG_RUNNING = ['sh', '-c', 'echo hello; trap "exit 143" TERM; sleep 1000 & wait'];

test('conmon + runc: create, start, CRI log, exec, exec timeout, stats, log reopen, SIGTERM exit code', async (t) => {
  const c = await makeContainer(LONG_RUNNING);
  t.after(() => c.cleanup());

  let t0 = performance.now();
  const created = await c.conmon.create(c.create);
  const createMs = performance.now() - t0;
  c.conmonPid = created.conmonPid;
  assert.ok(created.pid > 0);
  assert.ok(await isProcessAlive(created.conmonPid), 'conmon runs');
  assert.equal((await c.runtime.state(c.id))?.status, 'created');
  assert.equal(Number((await readFile(c.create.pidFile, 'utf8')).trim()), created.pid);

  t0 = performance.now();
  await c.runtime.start(c.id);
  const startMs = performance.now() - t0;
  t.diagnostic(`conmon + runc create: ${createMs.toFixed(1)} ms; runc start: ${startMs.toFixed(1)} ms`);
  const st = await c.runtime.state(c.id);
  assert.equal(st?.status, 'running');
  assert.equal(st?.pid, created.pid);

  const log = await eventually(async () => {
    const text = await readFile(c.create.logPath, 'utf8').catch(() => '');
    return text.includes('hello') ? text : undefined;
  });
  assert.ok(log, 'the log has the container output');
  assert.match(log, /^\S+ stdout F hello$/m);

  const hi = await c.runtime.exec(c.id, { args: ['echo', 'hi'], process: c.process });
  assert.deepEqual({ exitCode: hi.exitCode, stdout: hi.stdout.toString(), timedOut: hi.timedOut }, { exitCode: 0, stdout: 'hi\n', timedOut: false });
  const failing = await c.runtime.exec(c.id, { args: ['sh', '-c', 'echo oops >&2; exit 7'], process: c.process });
  assert.equal(failing.exitCode, 7);
  assert.equal(failing.stderr.toString(), 'oops\n');
  const slow = await c.runtime.exec(c.id, { args: ['sleep', '10'], process: c.process, timeoutMs: 500 });
  assert.equal(slow.timedOut, true);
  // runc keeps copying output while any writer lives: a background child must not hold the exec.
  const slowBg = await c.runtime.exec(c.id, { args: ['sh', '-c', 'sleep 30 & sleep 30'], process: c.process, timeoutMs: 500 });
  assert.equal(slowBg.timedOut, true);
  await assert.rejects(c.runtime.exec(c.id, { args: ['/no/such/binary'], process: c.process }), /no such file|not found/i);

  const stats = await c.cgroups.stats(c.cgroupsPath);
  assert.ok(stats, 'the container cgroup is readable');
  assert.ok(stats.memoryUsageBytes > 0);
  assert.ok(stats.cpuUsageNanos > 0);
  assert.equal(stats.oomKills, 0);
  assert.ok((await c.cgroups.pids(c.cgroupsPath)).includes(created.pid));

  // Log rotation: after a rename, conmon reopens a fresh file at the original path.
  await rename(c.create.logPath, `${c.create.logPath}.1`);
  await reopenContainerLog(conmonCtlPath(c.create.socketDir, c.id));
  assert.ok(await eventually(() => stat(c.create.logPath).then(() => true, () => undefined)), 'log file reopened');

  await c.runtime.kill(c.id, 'TERM');
  assert.equal(await waitForExit(c.create.exitDir, c.id, 20_000), 143);
  assert.equal((await c.runtime.state(c.id))?.status, 'stopped');
  assert.equal(await readOomFlag(c.create.persistDir), false);
  await assert.rejects(c.runtime.kill(c.id, 'KILL'), (err: unknown) => (err as { kind?: string }).kind === 'FailedPrecondition');

  await c.runtime.delete(c.id);
  assert.equal(await c.runtime.state(c.id), undefined);
  await c.runtime.delete(c.id); // idempotent
  await c.cgroups.removeIfEmpty(c.cgroupsPath);
  assert.equal(await c.cgroups.exists(c.cgroupsPath), false);
  assert.equal(await c.cgroups.stats(c.cgroupsPath), undefined);
  assert.ok(await eventually(async () => ((await isProcessAlive(created.conmonPid)) ? undefined : true)), 'conmon exits with its container');
});

test('a container over its 50 MB memory limit is OOM-killed: exit 137 and OOM detected', async (t) => {
  // tail holds its whole input when it has no newline: PID 1 itself grows until the OOM killer acts.
  const c = await makeContainer(['sh', '-c', 'mkfifo /tmp/f; head -c 200m /dev/zero > /tmp/f & exec tail /tmp/f'], {
    memory: { limit: 50 * 1024 * 1024, swap: 50 * 1024 * 1024 },
  });
  t.after(() => c.cleanup());
  const created = await c.conmon.create(c.create);
  c.conmonPid = created.conmonPid;
  await c.runtime.start(c.id);
  assert.equal(await waitForExit(c.create.exitDir, c.id, 60_000), 137);
  const flag = await readOomFlag(c.create.persistDir);
  const oomKills = (await c.cgroups.stats(c.cgroupsPath))?.oomKills ?? 0;
  t.diagnostic(`oom flag file: ${flag}; cgroup oom_kill: ${oomKills}`);
  assert.ok(flag || oomKills > 0, 'OOM kill detected');
  assert.deepEqual(await c.cgroups.limits(c.cgroupsPath).then((l) => l?.memoryLimit), 50 * 1024 * 1024);
});

test('a failing create reports runc\'s message and leaves no container behind', async (t) => {
  const c = await makeContainer(['/no/such/binary']);
  t.after(() => c.cleanup());
  await assert.rejects(c.conmon.create(c.create), (err: unknown) => {
    assert.match((err as Error).message, /no such file or directory|not found/i);
    return true;
  });
  assert.equal(await c.runtime.state(c.id), undefined);
  assert.equal(await c.cgroups.exists(c.cgroupsPath), false);
});

test('conmon and its container survive the creating daemon being SIGKILLed', async (t) => {
  const c = await makeContainer(LONG_RUNNING);
  t.after(() => c.cleanup());
  // A stand-in daemon: creates through Conmon, starts, reports, then SIGKILLs itself.
  const script = join(c.dir, 'daemon.mjs');
  const ociIndex = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'runtime', 'oci', 'index.js')).href;
  const libIndex = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'lib', 'index.js')).href;
  await writeFile(
    script,
    `import { Conmon, OciRuntime } from ${JSON.stringify(ociIndex)};
import { silentLogger } from ${JSON.stringify(libIndex)};
const o = JSON.parse(process.argv[2]);
const conmon = new Conmon({ conmonPath: '/usr/bin/conmon', runtimePath: '/usr/sbin/runc', runtimeRoot: o.root, logger: silentLogger });
const res = await conmon.create(o.create);
await new OciRuntime({ binary: '/usr/sbin/runc', root: o.root, logger: silentLogger }).start(o.create.id);
process.stdout.write(JSON.stringify(res) + '\\n');
process.kill(process.pid, 'SIGKILL');
`,
  );
  const daemon = spawn(process.execPath, [script, JSON.stringify({ root: c.runtime.root, create: c.create })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => daemon.on('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL');
  const res = JSON.parse(out) as { pid: number; conmonPid: number };
  c.conmonPid = res.conmonPid;
  assert.ok(await isProcessAlive(res.conmonPid), 'conmon outlives the daemon');
  assert.equal((await c.runtime.state(c.id))?.status, 'running');
  // conmon still does its job: it records the exit.
  await c.runtime.kill(c.id, 'KILL');
  assert.equal(await waitForExit(c.create.exitDir, c.id, 20_000), 137);
  assert.equal(await readExitFile(c.create.exitDir, c.id), 137);
});
