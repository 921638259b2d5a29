import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Conmon, conmonArgs, parseSyncMessage, type ConmonCreateOptions } from '../../../src/runtime/oci/index.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';
import { makeFakes, type Fakes } from './fakes.js';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const fakes = await makeFakes();
  t.after(() => fakes.cleanup());
  const conmon = new Conmon({ conmonPath: fakes.conmon, runtimePath: fakes.runc, runtimeRoot: '/run/corelet/runc', logger: silentLogger });
  const bundle = join(fakes.dir, 'bundle');
  await mkdir(bundle, { recursive: true });
  return { fakes, conmon, bundle, opts: createOpts(fakes, bundle) };
}

function createOpts(fakes: Fakes, bundle: string): ConmonCreateOptions {
  const d = fakes.dir;
  return {
    id: 'c1',
    name: 'pod_ctr',
    bundle,
    logPath: join(d, 'logs', 'ctr', '0.log'),
    exitDir: join(d, 'exits'),
    socketDir: join(d, 'sockets'),
    persistDir: join(d, 'persist', 'c1'),
    pidFile: join(d, 'persist', 'c1', 'pid'),
    conmonPidFile: join(d, 'persist', 'c1', 'conmon.pid'),
  };
}

test('parseSyncMessage reads conmon\'s JSON line, waits for a complete one, rejects garbage', () => {
  assert.equal(parseSyncMessage('{"data": 12'), undefined);
  assert.deepEqual(parseSyncMessage('{"data": 12088}\n'), { data: 12088 });
  assert.deepEqual(parseSyncMessage('{"data": -1, "message": "boom"}\n{"data": 0}\n'), { data: -1, message: 'boom' });
  assert.throws(() => parseSyncMessage('not json\n'), /unreadable sync message/);
  assert.throws(() => parseSyncMessage('{"pid": 3}\n'), /without data/);
});

test('conmonArgs builds conmon 2.1 flags, with stdin/terminal/log options', () => {
  const base = {
    id: 'abc',
    name: 'n',
    bundle: '/b',
    logPath: '/l/0.log',
    exitDir: '/e',
    socketDir: '/s',
    persistDir: '/p',
    pidFile: '/p/pid',
    conmonPidFile: '/p/conmon.pid',
  };
  const rt = { runtimePath: '/usr/sbin/runc', runtimeRoot: '/run/corelet/runc' };
  const args = conmonArgs(rt, base);
  assert.deepEqual(args, [
    '--api-version', '1', '-c', 'abc', '-u', 'abc', '-n', 'n', '-r', '/usr/sbin/runc', '-b', '/b', '-p', '/p/pid',
    '-P', '/p/conmon.pid', '-l', 'k8s-file:/l/0.log', '--exit-dir', '/e', '--socket-dir-path', '/s', '--persist-dir', '/p',
    '--runtime-arg', '--root=/run/corelet/runc', '--log-level', 'info',
  ]);
  const more = conmonArgs(rt, { ...base, terminal: true, stdin: true, logSizeMax: 1024, logTag: 'x' });
  assert.deepEqual(more.slice(args.length), ['-t', '-i', '--leave-stdin-open', '--log-size-max', '1024', '--log-tag', 'x']);
  const once = conmonArgs(rt, { ...base, stdin: true, stdinOnce: true });
  assert.deepEqual(once.slice(args.length), ['-i']);
});

test('create resolves with the pid conmon reports and its own pid; conmon runs in the bundle with fd 3 as sync pipe', async (t) => {
  const { conmon, bundle, opts } = await setup(t);
  await mkdir(opts.exitDir, { recursive: true });
  await writeFile(join(opts.exitDir, 'c1'), '0'); // leftover of an earlier attempt
  const res = await conmon.create(opts);
  assert.equal(res.pid, 4242);
  assert.ok(res.conmonPid > 0);
  const call = JSON.parse(await readFile(join(bundle, 'conmon-call.json'), 'utf8'));
  assert.equal(call.env._OCI_SYNCPIPE, '3');
  assert.equal(call.cwd, bundle);
  assert.ok(call.argv.includes('--exit-dir'));
  await assert.rejects(readFile(join(opts.exitDir, 'c1')), 'stale exit file removed');
});

test('a failed create throws the runtime\'s message and deletes what was created', async (t) => {
  const { fakes, conmon, bundle, opts } = await setup(t);
  await writeFile(join(bundle, 'fail'), '');
  await assert.rejects(conmon.create(opts), (err: unknown) => {
    assert.match((err as Error).message, /creating container c1: runc create failed: .*executable file not found/);
    return true;
  });
  const calls = await fakes.calls();
  assert.deepEqual(calls.map((c) => c.argv), [['--root', '/run/corelet/runc', 'delete', '--force', 'c1']]);
});

test('conmon dying before it reports is an error carrying its stderr', async (t) => {
  const { conmon, bundle, opts } = await setup(t);
  await writeFile(join(bundle, 'silent'), '');
  await assert.rejects(conmon.create(opts), /conmon exited .*without reporting: conmon: something broke early/);
});

test('a missing conmon binary is Unavailable; a bad id is InvalidArgument', async (t) => {
  const { fakes, opts } = await setup(t);
  const missing = new Conmon({ conmonPath: join(fakes.dir, 'no-conmon'), runtimePath: fakes.runc, runtimeRoot: '/r', logger: silentLogger });
  await assert.rejects(missing.create(opts), (err: unknown) => isKind(err, 'Unavailable'));
  await assert.rejects(missing.create({ ...opts, id: '../x' }), (err: unknown) => isKind(err, 'InvalidArgument'));
});

test('conmonArgs under the systemd cgroup driver: -s, so conmon runs `runtime --systemd-cgroup create` (as CRI-O)', () => {
  const base = { id: 'abc', name: 'n', bundle: '/b', logPath: '/l', exitDir: '/e', socketDir: '/s', persistDir: '/p', pidFile: '/p/pid', conmonPidFile: '/p/c' };
  const plain = conmonArgs({ runtimePath: '/usr/bin/crun', runtimeRoot: '/r' }, base);
  const systemd = conmonArgs({ runtimePath: '/usr/bin/crun', runtimeRoot: '/r', systemdCgroup: true }, base);
  assert.deepEqual(systemd, [...plain, '-s']);
});
