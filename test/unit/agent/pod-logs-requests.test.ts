/**
 * The agent's answers to the scheduler's logs and exec requests, against a fake runtime and a fake
 * socket: what the scheduler would receive.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MAX_LOG_CHUNK_BYTES, decodePods, parseMessage, type ExecRequestMessage, type LogsRequestMessage, type Message, type Pod } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { PodRequests, type ContainerInstance, type ContainerLookup, type RequestPeer } from '../../../src/agent/cluster/pod-requests.js';

const T = '2026-11-27T11:32:39.341100660+00:00';

const pod: Pod = decodePods(
  `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  initContainers: [{name: setup, image: busybox}]
  containers: [{name: app, image: busybox}, {name: side, image: busybox}]
`,
  'test',
).pods[0]!;
const UID = pod.metadata.uid;

/** A socket that records what would be sent, as the scheduler would parse it. */
class FakePeer implements RequestPeer {
  readonly got: Message[] = [];
  /** What was offered after the socket closed. */
  readonly refused: Message[] = [];
  open = true;
  private waiters: (() => void)[] = [];
  send(message: Message): boolean {
    if (!this.open) {
      this.refused.push(message);
      return false;
    }
    this.got.push(parseMessage(JSON.stringify(message), { receiver: 'scheduler' }));
    for (const w of this.waiters.splice(0)) w();
    return true;
  }
  bufferedBytes(): number {
    return 0;
  }
  /** Waits until a message matches (a guard against hanging, not a time limit). */
  async waitFor(match: (m: Message) => boolean): Promise<Message> {
    for (let i = 0; i < 2000; i++) {
      const m = this.got.find(match);
      if (m) return m;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 10);
      });
    }
    throw new Error('gave up waiting for a message');
  }
  /** The text of the logsData messages of request id. */
  text(id: string): string {
    return this.got.map((m) => (m.type === 'logsData' && m.id === id ? m.data : '')).join('');
  }
}

interface FakeRuntime extends ContainerLookup {
  list: Map<string, ContainerInstance[]>;
  paths: Map<string, string>;
  running: Set<string>;
  execs: { id: string; command: string[]; timeoutSeconds: number }[];
  execResult: () => Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>;
}

function fakeRuntime(): FakeRuntime {
  const rt: FakeRuntime = {
    list: new Map(),
    paths: new Map(),
    running: new Set(),
    execs: [],
    execResult: async () => ({ stdout: Buffer.from('hi\n'), stderr: Buffer.alloc(0), exitCode: 0 }),
    async instances(uid, name) {
      return rt.list.get(`${uid}/${name}`) ?? [];
    },
    async logPath(id) {
      return rt.paths.get(id) ?? '';
    },
    async isRunning(id) {
      return rt.running.has(id);
    },
    async execSync(id, command, timeoutSeconds) {
      rt.execs.push({ id, command, timeoutSeconds });
      return rt.execResult();
    },
  };
  return rt;
}

async function setup(t: TestContext) {
  const logRoot = await mkdtemp(join(tmpdir(), 'corelet-pod-requests-'));
  t.after(() => rm(logRoot, { recursive: true, force: true }));
  const runtime = fakeRuntime();
  const pods = new Map<string, Pod>([[UID, pod]]);
  const requests = new PodRequests({ pod: (uid) => pods.get(uid), containers: runtime, nodeName: 'node-a', logRoot, logger: silentLogger, pollMs: 5 });
  t.after(() => requests.cancelAll());
  const dir = join(logRoot, `shop_web_${UID}`, 'app');
  await mkdir(dir, { recursive: true });
  return { runtime, requests, peer: new FakePeer(), logRoot, dir, pods };
}

const logs = (id: string, extra: Partial<LogsRequestMessage> = {}): LogsRequestMessage => ({
  v: 1,
  type: 'logsRequest',
  id,
  uid: UID,
  container: 'app',
  follow: false,
  ...extra,
});

describe('agent: pod log requests', () => {
  it('answers with an empty first chunk, the log text, then logsEnd; the path relative to the pod log directory', async (t) => {
    const { runtime, requests, peer, dir } = await setup(t);
    await writeFile(join(dir, '1.log'), `${T} stdout F hello\n${T} stderr F oops\n`);
    runtime.list.set(`${UID}/app`, [{ id: 'c2', state: 'running', restartCount: 1 }]);
    runtime.paths.set('c2', 'app/1.log');
    requests.handle(logs('r1'), peer);
    await peer.waitFor((m) => m.type === 'logsEnd');
    assert.deepEqual(peer.got.map((m) => m.type), ['logsData', 'logsData', 'logsEnd']);
    assert.equal(peer.got[0]!.type === 'logsData' && peer.got[0]!.data, '');
    assert.equal(peer.text('r1'), 'hello\noops\n');
    assert.equal(peer.got[2]!.type === 'logsEnd' && peer.got[2]!.error, undefined);
  });

  it('reads the previous instance\'s log, and tails with timestamps', async (t) => {
    const { runtime, requests, peer, dir } = await setup(t);
    await writeFile(join(dir, '0.log'), `${T} stdout F before 1\n${T} stdout F before 2\n`);
    await writeFile(join(dir, '1.log'), `${T} stdout F now\n`);
    runtime.list.set(`${UID}/app`, [
      { id: 'c2', state: 'running', restartCount: 1 },
      { id: 'c1', state: 'exited', restartCount: 0 },
    ]);
    runtime.paths.set('c1', join(dir, '0.log'));
    runtime.paths.set('c2', join(dir, '1.log'));
    requests.handle(logs('prev', { previous: true, tailLines: 1, timestamps: true }), peer);
    await peer.waitFor((m) => m.type === 'logsEnd');
    assert.equal(peer.text('prev'), '2026-11-27T11:32:39.341100660Z before 2\n');
  });

  it('sends a big log in chunks of at most 64 KiB', async (t) => {
    const { runtime, requests, peer, dir } = await setup(t);
    const line = 'x'.repeat(1000);
    await writeFile(join(dir, '0.log'), `${T} stdout F ${line}\n`.repeat(300));
    runtime.list.set(`${UID}/app`, [{ id: 'c1', state: 'exited', restartCount: 0 }]);
    requests.handle(logs('big'), peer);
    await peer.waitFor((m) => m.type === 'logsEnd');
    const chunks = peer.got.filter((m) => m.type === 'logsData');
    assert.ok(chunks.length > 4);
    for (const c of chunks) assert.ok(c.type === 'logsData' && Buffer.byteLength(c.data) <= MAX_LOG_CHUNK_BYTES);
    assert.equal(peer.text('big'), `${line}\n`.repeat(300));
  });

  it('follows until cancelled, and until the container stops', async (t) => {
    const { runtime, requests, peer, dir } = await setup(t);
    const path = join(dir, '0.log');
    await writeFile(path, `${T} stdout F one\n`);
    runtime.list.set(`${UID}/app`, [{ id: 'c1', state: 'running', restartCount: 0 }]);
    runtime.running.add('c1');
    requests.handle(logs('f1', { follow: true }), peer);
    requests.handle(logs('f2', { follow: true }), peer);
    await peer.waitFor(() => peer.text('f1') === 'one\n' && peer.text('f2') === 'one\n');
    await appendFile(path, `${T} stdout F two\n`);
    await peer.waitFor(() => peer.text('f1') === 'one\ntwo\n' && peer.text('f2') === 'one\ntwo\n');
    requests.handle({ v: 1, type: 'logsCancel', id: 'f1' }, peer);
    await peer.waitFor((m) => m.type === 'logsEnd' && m.id === 'f1');
    await appendFile(path, `${T} stdout F three\n`);
    runtime.running.delete('c1');
    const end = await peer.waitFor((m) => m.type === 'logsEnd' && m.id === 'f2');
    assert.equal(end.type === 'logsEnd' && end.error, undefined);
    assert.equal(peer.text('f2'), 'one\ntwo\nthree\n');
    assert.equal(peer.text('f1'), 'one\ntwo\n', 'nothing more after the cancel');
  });

  it('stops a followed log once its socket is closed', async (t) => {
    const { runtime, requests, peer, dir } = await setup(t);
    const path = join(dir, '0.log');
    await writeFile(path, `${T} stdout F one\n`);
    runtime.list.set(`${UID}/app`, [{ id: 'c1', state: 'running', restartCount: 0 }]);
    runtime.running.add('c1');
    requests.handle(logs('f', { follow: true }), peer);
    await peer.waitFor(() => peer.text('f') === 'one\n');
    peer.open = false;
    await appendFile(path, `${T} stdout F two\n`);
    await peer.waitFor(() => peer.refused.some((m) => m.type === 'logsEnd'));
    assert.deepEqual(peer.refused.map((m) => m.type), ['logsData', 'logsEnd'], 'the refused chunk ended the stream');
  });

  it('says why there is no log: unknown pod or container, not started, no previous run', async (t) => {
    const { runtime, requests, peer } = await setup(t);
    const errorOf = async (id: string, extra: Partial<LogsRequestMessage>) => {
      requests.handle(logs(id, extra), peer);
      const end = await peer.waitFor((m) => m.type === 'logsEnd' && m.id === id);
      assert.equal(peer.got.filter((m) => m.type === 'logsData' && m.id === id).length, 0, 'no data before the error');
      return end.type === 'logsEnd' ? end.error : undefined;
    };
    assert.deepEqual(await errorOf('e1', { uid: 'nope' }), {
      code: 'NotFound',
      message: 'no pod with uid nope runs on node node-a (it may have been deleted, or not reached the node yet)',
    });
    assert.deepEqual(await errorOf('e2', { container: 'db' }), { code: 'NotFound', message: 'container db is not in pod shop/web; its containers: app, side, setup' });
    const status = { phase: 'Pending', conditions: [], containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: '', imageID: '', state: { waiting: { reason: 'ImagePullBackOff' } } }] };
    (pod as { status?: unknown }).status = status;
    t.after(() => delete (pod as { status?: unknown }).status);
    assert.deepEqual(await errorOf('e3', {}), { code: 'FailedPrecondition', message: 'container app in pod shop/web has not started yet (ImagePullBackOff)' });
    runtime.list.set(`${UID}/app`, [{ id: 'c1', state: 'running', restartCount: 0 }]);
    assert.deepEqual(await errorOf('e4', { previous: true }), { code: 'FailedPrecondition', message: 'container app in pod shop/web has not restarted: there is no previous log' });
    const gone = await errorOf('e5', {});
    assert.equal(gone?.code, 'NotFound');
    assert.match(gone?.message ?? '', /app\/0\.log does not exist/);
  });
});

describe('agent: exec requests', () => {
  const exec = (id: string, extra: Partial<ExecRequestMessage> = {}): ExecRequestMessage => ({
    v: 1,
    type: 'execRequest',
    id,
    uid: UID,
    container: 'app',
    command: ['echo', 'hi'],
    timeoutSeconds: 5,
    ...extra,
  });

  it('runs the command in the running instance and returns its output and exit code', async (t) => {
    const { runtime, requests, peer } = await setup(t);
    runtime.list.set(`${UID}/app`, [
      { id: 'c2', state: 'running', restartCount: 1 },
      { id: 'c1', state: 'exited', restartCount: 0 },
    ]);
    requests.handle(exec('x1'), peer);
    const r = await peer.waitFor((m) => m.type === 'execResult');
    assert.deepEqual(r, { v: 1, type: 'execResult', id: 'x1', stdout: 'hi\n', stderr: '', exitCode: 0 });
    assert.deepEqual(runtime.execs, [{ id: 'c2', command: ['echo', 'hi'], timeoutSeconds: 5 }]);

    runtime.execResult = async () => ({ stdout: Buffer.alloc(0), stderr: Buffer.from('no\n'), exitCode: 3 });
    requests.handle(exec('x2', { command: ['sh', '-c', 'echo no >&2; exit 3'] }), peer);
    const failed = await peer.waitFor((m) => m.type === 'execResult' && m.id === 'x2');
    assert.deepEqual(failed.type === 'execResult' && [failed.stdout, failed.stderr, failed.exitCode, failed.error], ['', 'no\n', 3, undefined]);
  });

  it('refuses a container that is not running, and reports the runtime\'s errors by kind', async (t) => {
    const { runtime, requests, peer } = await setup(t);
    runtime.list.set(`${UID}/app`, [{ id: 'c1', state: 'exited', restartCount: 0 }]);
    requests.handle(exec('n1'), peer);
    const notRunning = await peer.waitFor((m) => m.type === 'execResult' && m.id === 'n1');
    assert.deepEqual(notRunning.type === 'execResult' && notRunning.error, { code: 'FailedPrecondition', message: 'container app in pod shop/web is not running' });
    assert.equal(runtime.execs.length, 0);

    runtime.list.set(`${UID}/app`, [{ id: 'c2', state: 'running', restartCount: 1 }]);
    runtime.execResult = async () => {
      throw Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'command ["sleep","60"] timed out after 5s' });
    };
    requests.handle(exec('n2', { command: ['sleep', '60'] }), peer);
    const timedOut = await peer.waitFor((m) => m.type === 'execResult' && m.id === 'n2');
    assert.deepEqual(timedOut.type === 'execResult' && timedOut.error, {
      code: 'DeadlineExceeded',
      message: `exec in container app (pod uid ${UID}): command ["sleep","60"] timed out after 5s`,
    });
  });
});
