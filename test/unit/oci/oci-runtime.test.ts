import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciRuntime, execProcess, mergeEnv } from '../../../src/runtime/oci/index.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';
import { makeFakes } from './fakes.js';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const fakes = await makeFakes();
  t.after(() => fakes.cleanup());
  const rt = new OciRuntime({ binary: fakes.runc, root: '/run/corelet/runc', logger: silentLogger, tmpDir: fakes.dir });
  return { fakes, rt };
}

const BASE_PROCESS = {
  terminal: true,
  consoleSize: { height: 10, width: 10 },
  user: { uid: 1000, gid: 1000 },
  args: ['/pause'],
  env: ['PATH=/bin', 'HOME=/root'],
  cwd: '/work',
  capabilities: { bounding: ['CAP_KILL'] },
  apparmorProfile: 'corelet-default',
  noNewPrivileges: true,
};

test('state parses the runtime JSON and is undefined for an unknown id', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  assert.deepEqual(await rt.state('c1'), { status: 'running', pid: 1234, bundle: join(fakes.dir, 'bundle') });
  assert.equal(await rt.state('nope'), undefined);
  const calls = await fakes.calls();
  assert.deepEqual(calls[0]!.argv, ['--root', '/run/corelet/runc', 'state', 'c1']);
});

test('start, kill and update pass the right arguments; unknown ids are NotFound with runc\'s message', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  await rt.start('c1');
  await rt.kill('c1', 'TERM');
  await rt.kill('c1', 9, true);
  await rt.update('c1', { memory: { limit: 1048576 } });
  const calls = await fakes.calls();
  assert.deepEqual(calls.map((c) => c.argv.slice(2)), [
    ['start', 'c1'],
    ['kill', 'c1', 'TERM'],
    ['kill', '--all', 'c1', '9'],
    ['update', '--resources', calls[3]!.argv[4]!, 'c1'],
  ]);
  // The resources go as a file (crun cannot reopen a socket stdin as /dev/stdin), removed afterwards.
  assert.match(calls[3]!.argv[4]!, /^\/.*resources\.json$/);
  assert.deepEqual(JSON.parse(calls[3]!.stdin), { memory: { limit: 1048576 } });
  await assert.rejects(readFile(calls[3]!.argv[4]!), /ENOENT/);
  await assert.rejects(rt.start('nope'), (err: unknown) => {
    assert.ok(isKind(err, 'NotFound'));
    assert.match((err as Error).message, /container does not exist/);
    return true;
  });
  await assert.rejects(rt.kill('c1', 'TERM; rm -rf /'), (err: unknown) => isKind(err, 'InvalidArgument'));
});

test('kill of a stopped container is FailedPrecondition', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c2', 'stopped');
  await assert.rejects(rt.kill('c2', 'KILL'), (err: unknown) => isKind(err, 'FailedPrecondition'));
});

test('delete is idempotent and passes --force', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'stopped');
  await rt.delete('c1', { force: true });
  await rt.delete('gone');
  const calls = await fakes.calls();
  assert.deepEqual(calls.map((c) => c.argv.slice(2)), [['delete', '--force', 'c1'], ['delete', 'gone']]);
});

test('exec runs a copy of the container process with new args and collects output', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  const res = await rt.exec('c1', {
    args: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'],
    process: BASE_PROCESS,
    env: ['HOME=/home/x', 'EXTRA=1'],
  });
  assert.equal(res.exitCode, 3);
  assert.equal(res.stdout.toString(), 'out\n');
  assert.equal(res.stderr.toString(), 'err\n');
  assert.equal(res.timedOut, false);
  const proc = JSON.parse(await readFile(join(fakes.dir, 'last-process.json'), 'utf8'));
  assert.deepEqual(proc.args, ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(proc.terminal, false);
  assert.equal(proc.consoleSize, undefined);
  assert.deepEqual(proc.env, ['PATH=/bin', 'HOME=/home/x', 'EXTRA=1']);
  assert.deepEqual(proc.user, { uid: 1000, gid: 1000 });
  assert.equal(proc.apparmorProfile, 'corelet-default');
  assert.deepEqual(proc.capabilities, { bounding: ['CAP_KILL'] });
});

test('exec feeds stdin', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  const res = await rt.exec('c1', { args: ['/bin/cat'], process: BASE_PROCESS, stdin: Buffer.from('piped\n') });
  assert.equal(res.exitCode, 0);
  assert.equal(res.stdout.toString(), 'piped\n');
});

test('exec past its deadline kills the process and says timedOut', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  const res = await rt.exec('c1', { args: ['/bin/sleep', '30'], process: BASE_PROCESS, timeoutMs: 300 });
  assert.equal(res.timedOut, true);
  assert.equal(res.exitCode, 137);
});

test('exec returns when the process exits even if a background child keeps its output open', async (t) => {
  const { fakes, rt } = await setup(t);
  await fakes.addContainer('c1', 'running');
  const bgPidFile = join(fakes.dir, 'bg.pid');
  t.after(async () => {
    const pid = Number(await readFile(bgPidFile, 'utf8').catch(() => '0'));
    if (pid > 0) process.kill(pid, 'SIGKILL');
  });
  const res = await rt.exec('c1', { args: ['/bin/sh', '-c', `sleep 20 & echo $! > ${bgPidFile}; echo bg`], process: BASE_PROCESS });
  assert.equal(res.exitCode, 0);
  assert.equal(res.stdout.toString(), 'bg\n');
  assert.equal(res.timedOut, false);
});

test('exec in an unknown container is NotFound; a missing binary is an error with runc\'s message', async (t) => {
  const { fakes, rt } = await setup(t);
  await assert.rejects(rt.exec('nope', { args: ['/bin/true'], process: BASE_PROCESS }), (err: unknown) => isKind(err, 'NotFound'));
  await fakes.addContainer('c1', 'running');
  await assert.rejects(rt.exec('c1', { args: ['/no/such/binary'], process: BASE_PROCESS }), /executable file not found/);
});

test('exec without a base process reads it from the bundle config.json', async (t) => {
  const { fakes, rt } = await setup(t);
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(join(fakes.dir, 'bundle'), { recursive: true });
  await writeFile(join(fakes.dir, 'bundle', 'config.json'), JSON.stringify({ process: { ...BASE_PROCESS, env: ['FROM_BUNDLE=1'] } }));
  await fakes.addContainer('c1', 'running');
  const res = await rt.exec('c1', { args: ['/bin/sh', '-c', 'exit 0'] });
  assert.equal(res.exitCode, 0);
  const proc = JSON.parse(await readFile(join(fakes.dir, 'last-process.json'), 'utf8'));
  assert.deepEqual(proc.env, ['FROM_BUNDLE=1']);
});

test('execProcess and mergeEnv', () => {
  const p = execProcess(BASE_PROCESS, { args: ['id'], cwd: '/tmp', user: { uid: 0, gid: 0, additionalGids: [10] } });
  assert.deepEqual(p.user, { uid: 0, gid: 0, additionalGids: [10] });
  assert.equal(p.cwd, '/tmp');
  assert.deepEqual(BASE_PROCESS.args, ['/pause'], 'the base process is not changed');
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4']), ['A=1', 'B=3', 'C=4']);
});

test('under the systemd cgroup driver every runtime command gets --systemd-cgroup', async (t) => {
  const fakes = await makeFakes();
  t.after(() => fakes.cleanup());
  const rt = new OciRuntime({ binary: fakes.runc, root: '/run/corelet/runc', logger: silentLogger, tmpDir: fakes.dir, systemdCgroup: true });
  await fakes.addContainer('c1', 'running');
  await rt.state('c1');
  await rt.update('c1', { memory: { limit: 1048576 } });
  await rt.delete('c1', { force: true });
  const calls = await fakes.calls();
  assert.deepEqual(calls.map((c) => c.argv.slice(0, 4)), [
    ['--root', '/run/corelet/runc', '--systemd-cgroup', 'state'],
    ['--root', '/run/corelet/runc', '--systemd-cgroup', 'update'],
    ['--root', '/run/corelet/runc', '--systemd-cgroup', 'delete'],
  ]);
});
