/**
 * The streaming backend against a real corelet runtime (runc, conmon, CNI): exec, attach and
 * port-forward into real busybox containers, driven the way the streaming server drives them.
 * The backend is built here on the runtime's own state folders, as the daemon builds it.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ConmonStreamingBackend } from '../../../src/runtime/oci/conmon-backend.js';
import type { StreamIO, TerminalSize } from '../../../src/streaming/backend.js';
import { StateStore } from '../../../src/runtime/store/index.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';
import { RuntimeHarness, BUSYBOX, REPO } from '../../helpers/runtime-harness.js';

const IO_HELPER_DIR = join(REPO, 'dist', 'bin');

let h: RuntimeHarness;
let backend: ConmonStreamingBackend;
let execDir: string;
let pod: string;
const ctr: Record<string, string> = {};

before(async () => {
  // Idempotent; `npm run build` builds it too.
  await execa(join(REPO, 'native-scripts', 'build-native.sh'), [join(IO_HELPER_DIR, '..')]);
  h = await RuntimeHarness.start();
  await h.crictl(['pull', BUSYBOX]);
  const names = ['sleeper', 'catter', 'ticker', 'tty', 'reader', 'echo-server'];
  const run = await h.runPodWith('streaming', [
    { name: 'sleeper', command: ['sleep', '3600'] },
    { name: 'catter', command: ['cat'], extra: { stdin: true } },
    { name: 'ticker', command: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] },
    { name: 'tty', command: ['sh', '-c', 'while true; do stty size; sleep 0.2; done'], extra: { tty: true } },
    { name: 'reader', command: ['sh', '-c', 'read line; echo "got $line"'], extra: { stdin: true, stdin_once: true } },
    // A persistent server (busybox nc -ll): cat echoes each connection's bytes back and exits at
    // its EOF, which closes the connection.
    { name: 'echo-server', command: ['nc', '-ll', '-p', '8080', '-e', 'cat'] },
  ]);
  pod = run.pod;
  names.forEach((n, i) => (ctr[n] = run.containers[i]!));
  const store = new StateStore(h.root, silentLogger);
  await store.load();
  const state = join(h.root, 'run');
  execDir = join(state, 'exec');
  backend = new ConmonStreamingBackend({
    store,
    exitDir: join(state, 'exits'),
    socketDir: join(state, 'sockets'),
    execDir,
    conmonPath: '/usr/bin/conmon',
    runtimePath: '/usr/sbin/runc',
    runtimeRoot: join(state, 'runc'),
    ioHelperPath: join(IO_HELPER_DIR, 'corelet-io'),
    logger: silentLogger,
  });
});

after(async () => {
  await h?.stop();
});

/** A client's output stream: collects text and tells when it shows something. */
class TextSink extends Writable {
  text = '';
  private waiters: { pred: (text: string) => boolean; resolve: () => void }[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(this.text)) return true;
      w.resolve();
      return false;
    });
    cb();
  }

  until(pred: (text: string) => boolean): Promise<void> {
    if (pred(this.text)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
}

/** A client session: its streams, resize events (sent on demand) and an abort controller. */
function client(opts: { stdin?: PassThrough; tty?: boolean; initialSize?: TerminalSize } = {}) {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const abort = new AbortController();
  const listeners: ((s: TerminalSize) => void)[] = [];
  const io: StreamIO = {
    stdin: opts.stdin,
    stdout,
    stderr: opts.tty ? undefined : stderr,
    onResize(listener) {
      listeners.push(listener);
      // Like kubectl, the client sends its size as soon as the stream is up.
      if (opts.initialSize) listener(opts.initialSize);
    },
    signal: abort.signal,
  };
  return { io, stdout, stderr, abort, resize: (s: TerminalSize) => listeners.forEach((l) => l(s)) };
}

/** Runs cmd in the sleeper container and returns what it printed. */
async function execText(cmd: string[]): Promise<string> {
  const c = client();
  const r = await backend.exec({ containerId: ctr.sleeper!, cmd, tty: false }, c.io);
  assert.equal(r.exitCode, 0, `${cmd.join(' ')}: ${c.stderr.text}`);
  return c.stdout.text;
}

async function containerState(id: string): Promise<string> {
  return (await h.crictlJson(['inspect', id])).status.state;
}

function readAll(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
    stream.once('end', () => resolve(text));
    stream.once('error', reject);
  });
}

test('exec echo hi: stdout "hi\\n", exit code 0', { timeout: 60_000 }, async () => {
  const c = client();
  const r = await backend.exec({ containerId: ctr.sleeper!, cmd: ['echo', 'hi'], tty: false }, c.io);
  assert.equal(r.exitCode, 0);
  assert.equal(c.stdout.text, 'hi\n');
  assert.equal(c.stderr.text, '');
});

test('exec keeps stdout and stderr apart and returns the exit code', { timeout: 60_000 }, async () => {
  const c = client();
  const r = await backend.exec({ containerId: ctr.sleeper!, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], tty: false }, c.io);
  assert.equal(r.exitCode, 3);
  assert.equal(c.stdout.text, 'out\n');
  assert.equal(c.stderr.text, 'err\n');
});

test('exec cat: stdin "abc" then EOF comes back, and cat exits 0', { timeout: 60_000 }, async () => {
  const stdin = new PassThrough();
  const c = client({ stdin });
  const done = backend.exec({ containerId: ctr.sleeper!, cmd: ['cat'], tty: false }, c.io);
  stdin.end('abc');
  assert.deepEqual(await done, { exitCode: 0 });
  assert.equal(c.stdout.text, 'abc');
});

test('exec passes large input and output through without loss', { timeout: 60_000 }, async () => {
  const stdin = new PassThrough();
  const c = client({ stdin });
  const done = backend.exec({ containerId: ctr.sleeper!, cmd: ['wc', '-c'], tty: false }, c.io);
  stdin.end(Buffer.alloc(300_000, 'x'));
  assert.deepEqual(await done, { exitCode: 0 });
  assert.equal(c.stdout.text.trim(), '300000');
  const big = await execText(['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done']);
  const lines = big.trimEnd().split('\n');
  assert.equal(lines.length, 20000);
  assert.equal(lines[19999], 'line-19999');
});

test('exec without a TTY gives the process pipes: /dev/stdin, /dev/stdout and /dev/stderr open', { timeout: 60_000 }, async () => {
  const stdin = new PassThrough();
  const c = client({ stdin });
  const done = backend.exec({ containerId: ctr.sleeper!, cmd: ['sh', '-c', 'cat /dev/stdin > /dev/stdout; echo err > /dev/stderr'], tty: false }, c.io);
  stdin.end('from stdin');
  assert.deepEqual(await done, { exitCode: 0 });
  assert.equal(c.stdout.text, 'from stdin');
  assert.equal(c.stderr.text, 'err\n');
});

test('exec without a TTY: a client that goes away ends the process', { timeout: 60_000 }, async () => {
  const c = client();
  const done = backend.exec({ containerId: ctr.sleeper!, cmd: ['sh', '-c', 'while :; do echo no-tty-loop; sleep 0.1; done'], tty: false }, c.io);
  await c.stdout.until((t) => t.includes('no-tty-loop'));
  c.abort.abort();
  const r = await done;
  assert.equal(r.exitCode, 137, 'killed with SIGKILL');
  const ps = await execText(['ps', '-o', 'pid,args']);
  assert.doesNotMatch(ps, /no-tty-loop/, 'the exec process is gone');
  assert.deepEqual(await readdir(execDir), [], 'exec session files removed');
});

test('exec with a TTY: the client size is the terminal size ("40 100")', { timeout: 60_000 }, async () => {
  const c = client({ tty: true, initialSize: { width: 100, height: 40 } });
  const r = await backend.exec({ containerId: ctr.sleeper!, cmd: ['stty', 'size'], tty: true }, c.io);
  assert.equal(r.exitCode, 0);
  assert.equal(c.stdout.text.trim(), '40 100');
});

test('exec with a TTY follows resizes; a client that goes away ends the process', { timeout: 60_000 }, async () => {
  const c = client({ tty: true, initialSize: { width: 80, height: 24 } });
  const done = backend.exec({ containerId: ctr.sleeper!, cmd: ['sh', '-c', 'while :; do stty size; sleep 0.1; done'], tty: true }, c.io);
  await c.stdout.until((t) => t.includes('24 80'));
  c.resize({ width: 90, height: 30 });
  await c.stdout.until((t) => t.includes('30 90'));
  c.abort.abort();
  const r = await done;
  assert.equal(r.exitCode, 137, 'killed with SIGKILL');
  const ps = await execText(['ps', '-o', 'pid,args']);
  assert.doesNotMatch(ps, /while :; do stty size/, 'the exec process is gone');
  assert.deepEqual(await readdir(execDir), [], 'exec session files removed');
});

test('exec of a missing command fails with the runtime message; unknown containers are NotFound', { timeout: 60_000 }, async () => {
  await assert.rejects(backend.exec({ containerId: ctr.sleeper!, cmd: ['no-such-command'], tty: false }, client().io), /executable file not found/);
  await assert.rejects(backend.exec({ containerId: 'f'.repeat(64), cmd: ['true'], tty: false }, client().io), (err) => isKind(err, 'NotFound'));
  await assert.rejects(backend.exec({ containerId: ctr.sleeper!, cmd: [], tty: false }, client().io), (err) => isKind(err, 'InvalidArgument'));
  assert.deepEqual(await readdir(execDir), []);
});

test('attach to a container with stdin: what we write comes back; detaching leaves it running', { timeout: 60_000 }, async () => {
  for (const word of ['ping', 'pong']) {
    const stdin = new PassThrough();
    const c = client({ stdin });
    const done = backend.attach({ containerId: ctr.catter!, tty: false }, c.io);
    stdin.write(`${word}\n`);
    await c.stdout.until((t) => t.includes(`${word}\n`));
    c.abort.abort();
    await done;
    assert.equal(await containerState(ctr.catter!), 'CONTAINER_RUNNING');
  }
});

test('attach sees the output of a running container', { timeout: 60_000 }, async () => {
  const c = client();
  const done = backend.attach({ containerId: ctr.ticker!, tty: false }, c.io);
  await c.stdout.until((t) => t.split('tick\n').length > 3);
  c.abort.abort();
  await done;
  assert.equal(await containerState(ctr.ticker!), 'CONTAINER_RUNNING');
});

test('attach to a TTY container resizes its terminal', { timeout: 60_000 }, async () => {
  const c = client({ tty: true, initialSize: { width: 70, height: 25 } });
  const done = backend.attach({ containerId: ctr.tty!, tty: true }, c.io);
  await c.stdout.until((t) => t.includes('25 70'));
  c.resize({ width: 120, height: 50 });
  await c.stdout.until((t) => t.includes('50 120'));
  c.abort.abort();
  await done;
});

test('attach ends by itself when the container exits', { timeout: 60_000 }, async () => {
  const stdin = new PassThrough();
  const c = client({ stdin });
  const done = backend.attach({ containerId: ctr.reader!, tty: false }, c.io);
  stdin.write('go\n');
  await done;
  assert.equal(c.stdout.text, 'got go\n');
  // The output ends before conmon has recorded the exit (and while its attach socket still takes
  // connections): once the runtime reports the container exited, attach is refused.
  while ((await containerState(ctr.reader!)) !== 'CONTAINER_EXITED') await sleep(100);
  await assert.rejects(backend.attach({ containerId: ctr.reader!, tty: false }, client().io), (err) => isKind(err, 'FailedPrecondition'));
});

test('port-forward reaches a server inside the pod; half-close delivers the whole reply', { timeout: 60_000 }, async () => {
  const stream = await backend.portForward({ podSandboxId: pod, port: 8080 }, new AbortController().signal);
  const reply = readAll(stream);
  stream.end('hello through the pod netns\n');
  assert.equal(await reply, 'hello through the pod netns\n');
  // The server takes the next connection too.
  const again = await backend.portForward({ podSandboxId: pod, port: 8080 }, new AbortController().signal);
  const reply2 = readAll(again);
  again.end('second\n');
  assert.equal(await reply2, 'second\n');
});

test('port-forward to a port nobody listens on is refused with a clear error', { timeout: 60_000 }, async () => {
  await assert.rejects(
    backend.portForward({ podSandboxId: pod, port: 8081 }, new AbortController().signal),
    (err) => isKind(err, 'Unavailable') && /8081/.test((err as Error).message) && /refused/i.test((err as Error).message),
  );
  await assert.rejects(backend.portForward({ podSandboxId: pod, port: 0 }, new AbortController().signal), (err) => isKind(err, 'InvalidArgument'));
});

test('an aborted port-forward ends its helper', { timeout: 60_000 }, async () => {
  const abort = new AbortController();
  const stream = await backend.portForward({ podSandboxId: pod, port: 8080 }, abort.signal);
  const closed = new Promise((resolve) => stream.once('close', resolve));
  stream.on('error', () => undefined);
  abort.abort();
  await closed;
  const ps = await execa('ps', ['-eo', 'args='], { reject: false });
  assert.ok(!ps.stdout.includes(`corelet-${pod.slice(0, 16)} 8080`), 'no helper left');
});
