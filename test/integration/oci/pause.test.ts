import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..', '..', '..');
const BUILD = join(REPO, 'native-scripts', 'build-native.sh');

async function buildPause(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'corelet-pause-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  execFileSync('bash', [BUILD, out], { stdio: 'ignore' });
  return join(out, 'pause', 'rootfs', 'pause');
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => child.on('close', (code, signal) => r({ code, signal })));
}

/** Children of pid, with their state letters, from /proc. */
async function children(pid: number): Promise<{ pid: number; state: string }[]> {
  const out: { pid: number; state: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[1]) === pid) out.push({ pid: Number(name), state: rest[0]! });
  }
  return out;
}

test('build-native.sh makes a static pause binary and skips the build when it is up to date', async (t) => {
  const pause = await buildPause(t);
  const first = (await stat(pause)).mtimeMs;
  assert.match(execFileSync('file', [pause]).toString(), /statically linked/);
  execFileSync('bash', [BUILD, join(pause, '..', '..', '..')]);
  assert.equal((await stat(pause)).mtimeMs, first, 'second run did not rebuild');
});

test('pause exits 0 on SIGTERM and on SIGINT', async (t) => {
  const pause = await buildPause(t);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const child = spawn(pause, [], { stdio: 'ignore' });
    t.after(() => void child.kill('SIGKILL'));
    await new Promise((r) => child.on('spawn', r));
    // Give it time to install its handlers: a signal before that would kill it by default action.
    await new Promise((r) => setTimeout(r, 100));
    child.kill(sig);
    assert.deepEqual(await exited(child), { code: 0, signal: null });
  }
});

test('pause as PID 1 of a PID namespace reaps orphaned zombies', async (t) => {
  const pause = await buildPause(t);
  const ns = spawn('unshare', ['--pid', '--fork', '--kill-child', pause], { stdio: 'ignore' });
  t.after(() => void ns.kill('SIGKILL'));
  const nsExit = exited(ns);
  await new Promise((r) => ns.on('spawn', r));
  let pausePid: number | undefined;
  for (let i = 0; i < 100 && pausePid === undefined; i++) {
    pausePid = (await children(ns.pid!))[0]?.pid;
    if (pausePid === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pausePid, 'pause started');
  await new Promise((r) => setTimeout(r, 100));
  // A shell inside the namespace leaves a short-lived orphan, which the namespace's init inherits.
  execFileSync('nsenter', ['--target', String(pausePid), '--pid', '--', '/bin/sh', '-c', 'sleep 0.2 & exit 0']);
  let left: { pid: number; state: string }[] = [];
  for (let i = 0; i < 100; i++) {
    left = await children(pausePid);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(left, [], 'the orphan was reaped, no zombie left');
  process.kill(pausePid, 'SIGTERM');
  assert.deepEqual(await nsExit, { code: 0, signal: null });
});
