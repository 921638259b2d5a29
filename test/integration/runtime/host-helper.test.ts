/**
 * The runtime's host operations through the real `corelet-io serve` (root; dist/bin/corelet-io
 * built): a pod's network namespace with its IPC and UTS pins and loopback up, the pod's /dev/shm
 * tmpfs and an overlay rootfs mounted and unmounted, pins bound and unbound, as mount(8), umount(8)
 * and unshare(1) did. Everything is made under a temp folder and removed afterwards.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { HostHelper, type HostHelperOptions, HostOpError, helperMounts } from '../../../src/runtime/host-helper.js';
import { createNetns, isNetworkNamespace, removeNetns } from '../../../src/runtime/network/index.js';
import { hostNamespacesWith } from '../../../src/runtime/sandbox/namespace-pins.js';
import { isMounted } from '../../../src/host/index.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';
import { REPO } from '../../helpers/runtime-harness.js';

async function setUp(t: TestContext, opts: HostHelperOptions = {}) {
  const dir = await mkdtemp('/tmp/corelet-host-helper-it-');
  const helper = HostHelper.at(join(REPO, 'dist', 'bin', 'corelet-io'), silentLogger, opts);
  assert.ok(helper, 'dist/bin/corelet-io is built (npm run build)');
  t.after(async () => {
    helper.close();
    // whatever an assertion left mounted under dir, deepest first
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
    for (const m of mounts.reverse()) await execa('umount', ['-l', m], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, helper };
}

test('a netns with IPC and UTS pins: loopback up, its own namespaces, all removed again', async (t) => {
  const { dir, helper } = await setUp(t);
  const pins = { ipc: join(dir, 'pins', 'ipc'), uts: join(dir, 'pins', 'uts') };
  const path = await createNetns(join(dir, 'netns'), 'cp-it-ns', pins, helper);
  assert.equal(await isNetworkNamespace(path), true);
  for (const p of [pins.ipc, pins.uts]) assert.equal(await isMounted(p), true, p);
  const link = await execa('nsenter', [`--net=${path}`, 'ip', '-o', 'link', 'show', 'lo']);
  assert.match(link.stdout, /<LOOPBACK,UP,LOWER_UP>/);
  const [hostNet, podNet] = await Promise.all([execa('readlink', ['/proc/self/ns/net']), execa('nsenter', [`--net=${path}`, 'readlink', '/proc/self/ns/net'])]);
  assert.notEqual(podNet.stdout, hostNet.stdout);
  // a second one by the same name is refused before anything is made
  await assert.rejects(createNetns(join(dir, 'netns'), 'cp-it-ns', {}, helper), /already exist/);
  await removeNetns(path, helper);
  await assert.rejects(stat(path), { code: 'ENOENT' });
  const ns = hostNamespacesWith(helper);
  await ns.unpin(join(dir, 'pins'));
  await assert.rejects(stat(join(dir, 'pins')), { code: 'ENOENT' });
});

test('a failed operation says why, with its errno; the helper goes on serving', async (t) => {
  const { dir, helper } = await setUp(t);
  await assert.rejects(helper.netns(join(dir, 'absent', 'net'), undefined, undefined), (e: unknown) => e instanceof HostOpError && e.errno === 2 && /No such file/.test(e.message));
  await assert.rejects(helper.umount(dir, 0), (e: unknown) => e instanceof HostOpError && /not mounted/.test(e.message));
  await removeNetns(join(dir, 'never-made'), helper);
  const path = await createNetns(join(dir, 'netns'), 'cp-it-after', {}, helper);
  await removeNetns(path, helper);
});

test('/dev/shm tmpfs and an overlay rootfs mount and unmount; pins bind a process namespace', async (t) => {
  const { dir, helper } = await setUp(t);
  const mounts = helperMounts(helper);
  const shm = join(dir, 'shm');
  await mounts.tmpfs(shm, 'mode=1777,size=65536k,nosuid,nodev,noexec');
  const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === shm) ?? '';
  assert.match(line, /rw,nosuid,nodev,noexec/);
  assert.match(line, /tmpfs shm rw,size=65536k/);
  assert.equal(((await stat(shm)).mode & 0o7777).toString(8), '1777');
  await mounts.unmount(shm);
  assert.equal(await isMounted(shm), false);
  await mounts.unmount(shm); // not mounted: nothing to do

  const lower = join(dir, 'lower');
  await mkdir(lower);
  await execa('sh', ['-c', `echo from-lower > ${lower}/f`]);
  const target = join(dir, 'rootfs');
  await mounts.overlay(lower, join(dir, 'upper'), join(dir, 'work'), target);
  assert.equal((await readFile(join(target, 'f'), 'utf8')).trim(), 'from-lower');
  await mounts.unmount(target);
  assert.equal(await isMounted(target), false);

  const ns = hostNamespacesWith(helper);
  const paths = await ns.pin(process.pid, ['ipc', 'uts'], join(dir, 'pin-self'));
  const [bound, own] = await Promise.all([execa('nsenter', [`--uts=${paths.uts}`, 'readlink', '/proc/self/ns/uts']), execa('readlink', [`/proc/${process.pid}/ns/uts`])]);
  assert.equal(bound.stdout, own.stdout);
  await ns.unpin(join(dir, 'pin-self'));
  assert.equal(await isMounted(paths.uts!), false);
});

test('exec: programs run side by side from the helper, with stdin, env, exit code, signal, timeout and outputs', async (t) => {
  const { helper } = await setUp(t);
  const started = Date.now();
  const [slow, quick, env, big] = await Promise.all([
    helper.exec('sleep', ['30'], { timeoutMs: 300 }),
    helper.exec('sh', ['-c', 'cat; echo to-err >&2; exit 3'], { input: 'from-stdin\n' }),
    helper.exec('sh', ['-c', 'echo "$CNI_COMMAND"'], { env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD' } }),
    helper.exec('head', ['-c', '300000', '/dev/zero']),
  ]);
  assert.ok(Date.now() - started < 20_000, 'the sleep did not hold the others back');
  assert.deepEqual([slow.timedOut, slow.signal, slow.exitCode], [true, 'SIGKILL', undefined]);
  assert.deepEqual([quick.exitCode, quick.stdout.toString(), quick.stderr.toString()], [3, 'from-stdin\n', 'to-err\n']);
  assert.equal(env.stdout.toString(), 'ADD\n');
  assert.equal(big.stdout.length, 300000);
  const killed = await helper.exec('sh', ['-c', 'kill -TERM $$']);
  assert.deepEqual([killed.exitCode, killed.signal], [undefined, 'SIGTERM']);
  await assert.rejects(helper.exec('/nonexistent/program', []), (e: unknown) => e instanceof HostOpError && e.errno === 2 && /could not run \/nonexistent\/program/.test(e.message));
});

/** Frames fields as the daemon does (netstrings after a count); raw, to reach the helper's own checks. */
function frame(fields: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${fields.length}\n`)];
  for (const f of fields) {
    const b = Buffer.isBuffer(f) ? f : Buffer.from(f);
    parts.push(Buffer.from(`${b.length}:`), b, Buffer.from(','));
  }
  return Buffer.concat(parts);
}

/** `corelet-io serve` driven raw: write requests, read answer lines. */
function rawHelper(t: TestContext) {
  const child = spawn(join(REPO, 'dist', 'bin', 'corelet-io'), ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(async () => {
    child.stdin.end();
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  /** Resolves with the answer line of id (an exec's header line) once it came. */
  const answer = async (id: string): Promise<string> => {
    for (;;) {
      const line = out.split('\n').find((l) => l.startsWith(`${id} `));
      if (line !== undefined) return line;
      if (child.exitCode !== null) throw new Error(`the helper ended (${child.exitCode}): ${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        child.once('close', () => resolve());
      });
    }
  };
  return { child, answer, write: (b: Buffer) => child.stdin.write(b) };
}

test('a request over the limits (a field over 1 MiB, more than 1024 fields) is answered E2BIG alone; a program already running and later requests go on', async (t) => {
  const { dir } = await setUp(t);
  const h = rawHelper(t);
  h.write(frame(['1', 'exec', 'sh', '0', '0', '', '-1', 'sh', '-c', 'read x; echo done']));
  // a program in flight (sleep 1) while the oversized requests come
  h.write(frame(['2', 'exec', 'sleep', '0', '0', '', '-1', 'sleep', '1']));
  h.write(frame(['3', 'exec', '/bin/true', '0', '0', '', '1', `CNI_ARGS=K8S_POD_NAME=${'p'.repeat(1024 * 1024 + 10)}`, '/bin/true']));
  h.write(frame(['4', 'umount', ...Array.from({ length: 1100 }, () => dir)]));
  h.write(frame(['5', 'umount', dir, '0']));
  assert.match(await h.answer('3'), /^3 err 7 request over the helper's limits/);
  assert.match(await h.answer('4'), /^4 err 7 request over the helper's limits/);
  assert.match(await h.answer('5'), /^5 err 22 .*not mounted/);
  assert.match(await h.answer('2'), /^2 exec 0 0 0 0 0$/);
  assert.match(await h.answer('1'), /^1 exec 0 0 0 5 0$/);
  assert.equal(h.child.exitCode, null, 'the helper still serves');
});

/** A FUSE mount at mnt that never answers: lookups beneath it block until the returned end() closes /dev/fuse. */
async function hungFuse(t: TestContext, mnt: string): Promise<() => Promise<void>> {
  await mkdir(mnt, { recursive: true });
  const script = [
    'import os, ctypes, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    "fd = os.open('/dev/fuse', os.O_RDWR)",
    `r = libc.mount(b"fx-fuse", sys.argv[1].encode(), b"fuse", 0, ("fd=%d,rootmode=40000,user_id=0,group_id=0" % fd).encode())`,
    "print('mounted' if r == 0 else 'failed %d' % ctypes.get_errno(), flush=True)",
    'sys.stdin.read()',
    'os.close(fd)',
  ].join('\n');
  const py = spawn('python3', ['-c', script, mnt], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => py.on('close', () => resolve()));
  const first = await new Promise<string>((resolve) => py.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const end = async () => {
    py.stdin.end();
    await exited;
    await execa('umount', ['-l', mnt], { reject: false });
  };
  t.after(end);
  assert.equal(first, 'mounted');
  return end;
}

test('a mount that hangs (a FUSE path that never answers) holds up only its own answer: programs, their deadlines and other operations go on', async (t) => {
  const { dir, helper } = await setUp(t);
  const mnt = join(dir, 'fuse');
  const end = await hungFuse(t, mnt);
  let mountEnded = false;
  const hung = helper.mount('shm', join(mnt, 'sub'), 'tmpfs', 0, '').finally(() => (mountEnded = true));
  hung.catch(() => undefined);
  const [quick, slow] = await Promise.all([helper.exec('true', []), helper.exec('sleep', ['30'], { timeoutMs: 200 })]);
  await assert.rejects(helper.umount(dir, 0), /not mounted/);
  const path = await createNetns(join(dir, 'netns'), 'fx-it-hung', {}, helper);
  await removeNetns(path, helper);
  assert.equal(quick.exitCode, 0);
  assert.equal(slow.timedOut, true);
  assert.equal(mountEnded, false, 'the mount is still blocked in the kernel');
  await end(); // the FUSE connection goes: the blocked lookup fails
  await assert.rejects(hung, (e: unknown) => e instanceof HostOpError && e.errno > 0 && /mounting shm/.test(e.message));
});

test('a stuck helper (SIGSTOP): the request fails DeadlineExceeded past its deadline, the helper is killed and the next request runs on a new one', async (t) => {
  const { helper } = await setUp(t, { graceMs: 300 });
  assert.equal((await helper.exec('true', [])).exitCode, 0);
  const stopped = helper.pid!;
  process.kill(stopped, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(stopped, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  await assert.rejects(helper.exec('true', [], { timeoutMs: 200 }), (e: unknown) => isKind(e, 'DeadlineExceeded'));
  const again = await helper.exec('echo', ['again'], { timeoutMs: 5000 });
  assert.equal(again.stdout.toString(), 'again\n');
  assert.notEqual(helper.pid, stopped);
  await assert.rejects(readFile(`/proc/${stopped}/stat`), { code: 'ENOENT' }, 'the stuck helper was killed');
});

/** Whether pid is gone (or a zombie about to be reaped), waiting for the kernel to finish a kill. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

test('a program that exits leaving a background child on its output is still timed out at its deadline, the child killed with its group', async (t) => {
  const { helper } = await setUp(t);
  const r = await helper.exec('sh', ['-c', 'sleep 30 & echo $!'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  const bg = Number(r.stdout.toString().trim());
  assert.ok(bg > 0, r.stdout.toString());
  assert.equal(await gone(bg), true, 'the background sleep was killed with the group');
});

test('programs die with the helper; an output over 16 MiB is cut there and says so', async (t) => {
  const { dir, helper } = await setUp(t);
  const pidFile = join(dir, 'pid');
  const running = helper.exec('sh', ['-c', `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 30`]);
  running.catch(() => undefined);
  let pid = 0;
  while (!pid) {
    pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
    if (!pid) await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(helper.pid!, 'SIGKILL');
  await assert.rejects(running, /host helper ended \(SIGKILL\)/);
  assert.equal(await gone(pid), true, 'the sleep died with the helper');

  const big = await helper.exec('head', ['-c', String(17 * 1024 * 1024), '/dev/zero']);
  assert.equal(big.exitCode, 0);
  assert.equal(big.stdout.length, 16 * 1024 * 1024);
  assert.match(big.stderr.toString(), /output over 16 MiB dropped/);
});

test('without pidfd_open (an old kernel, a seccomp profile): programs and operations still end, time out and answer', async (t) => {
  const { dir, helper } = await setUp(t);
  // the helper's syscall(SYS_pidfd_open) answers ENOSYS: an LD_PRELOAD'ed syscall() in front of libc's
  const so = join(dir, 'no-pidfd.so');
  await writeFile(
    join(dir, 'no-pidfd.c'),
    `#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
long syscall(long n, ...) {
  va_list ap; long a[6]; va_start(ap, n); for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long); va_end(ap);
  if (n == SYS_pidfd_open) { errno = ENOSYS; return -1; }
  long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
`,
  );
  await execa('gcc', ['-shared', '-fPIC', '-o', so, join(dir, 'no-pidfd.c'), '-ldl']);
  const saved = process.env.LD_PRELOAD;
  process.env.LD_PRELOAD = so; // the helper, started on the first request, inherits it
  try {
    await assert.rejects(helper.umount(dir, 0), /not mounted/);
  } finally {
    if (saved === undefined) delete process.env.LD_PRELOAD;
    else process.env.LD_PRELOAD = saved;
  }
  const preloaded = (await readFile(`/proc/${helper.pid!}/environ`, 'utf8')).split('\0').includes(`LD_PRELOAD=${so}`);
  assert.ok(preloaded, 'the helper runs with the preload');
  const [quick, slow, bg] = await Promise.all([
    helper.exec('sh', ['-c', 'echo out; exit 4']),
    helper.exec('sleep', ['30'], { timeoutMs: 200 }),
    helper.exec('sh', ['-c', 'sleep 30 & echo $!'], { timeoutMs: 200 }),
  ]);
  assert.deepEqual([quick.exitCode, quick.stdout.toString()], [4, 'out\n']);
  assert.deepEqual([slow.timedOut, slow.signal], [true, 'SIGKILL']);
  assert.equal(bg.timedOut, true);
  await assert.rejects(helper.umount(dir, 0), /not mounted/);
  const path = await createNetns(join(dir, 'netns'), 'fx-it-nopidfd', {}, helper);
  await removeNetns(path, helper);
});

test('a mount blocked in the kernel past the daemon\'s deadline fails DeadlineExceeded; the helper answers its ping and is kept', async (t) => {
  const { dir, helper } = await setUp(t, { opTimeoutMs: 300, graceMs: 2000 });
  const end = await hungFuse(t, join(dir, 'fuse'));
  assert.equal((await helper.exec('true', [])).exitCode, 0);
  const pid = helper.pid;
  await assert.rejects(helper.mount('shm', join(dir, 'fuse', 'sub'), 'tmpfs', 0, ''), (e: unknown) => isKind(e, 'DeadlineExceeded') && /still running there/.test(String(e)));
  assert.equal(helper.pid, pid);
  assert.equal((await helper.exec('true', [])).exitCode, 0);
  await end();
});
