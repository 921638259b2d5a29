/**
 * The pod proxy against a fake node session: what it asks the agent, and what the caller sees of
 * the agent's answers, failures and silences. Also the strict checks of the new messages.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  MAX_LOG_CHUNK_BYTES,
  decodePods,
  encodeMessage,
  parseMessage,
  type Message,
  type Pod,
} from '../../../src/api/index.js';
import { CoreletError } from '../../../src/lib/index.js';
import { NodeSessions, SessionPodProxy, resolveContainer, type NodeConnection } from '../../../src/scheduler/server/index.js';

function makePod(yaml: string): Pod {
  return decodePods(yaml, 'test').pods[0]!;
}

const pod = makePod(`apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  nodeName: n1
  containers: [{name: app, image: busybox}]
`);

/** A node session that records what the scheduler sends, as the agent would parse it. */
function connect(sessions: NodeSessions, node = 'n1') {
  const sent: Message[] = [];
  const conn: NodeConnection = {
    send: (text) => void sent.push(parseMessage(text, { receiver: 'agent' })),
    close: () => undefined,
  };
  sessions.attach(node, conn);
  return { sent, conn };
}

/** A Writable collecting what is written (empty writes included, as separate entries). */
function sink() {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { out, writes };
}

function setup(opts: ConstructorParameters<typeof SessionPodProxy>[1] = {}) {
  const sessions = new NodeSessions();
  let n = 0;
  const proxy = new SessionPodProxy(sessions, { newId: () => `req-${++n}`, ...opts });
  return { sessions, proxy };
}

/** Lets queued callbacks (writes) run. */
const tick = () => new Promise((r) => setImmediate(r));

function kindOf(kind: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CoreletError, String(err));
    assert.equal(err.kind, kind, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('pod proxy: which container, which node', () => {
  it('picks the named container, the default-container annotation, or the only one', () => {
    const two = makePod(`apiVersion: v1
kind: Pod
metadata: {name: two, annotations: {kubectl.kubernetes.io/default-container: side}}
spec:
  initContainers: [{name: init, image: busybox}]
  containers: [{name: app, image: busybox}, {name: side, image: busybox}]
`);
    assert.equal(resolveContainer(pod), 'app');
    assert.equal(resolveContainer(two), 'side');
    assert.equal(resolveContainer(two, 'init'), 'init');
    delete two.metadata.annotations['kubectl.kubernetes.io/default-container'];
    assert.throws(() => resolveContainer(two), kindOf('InvalidArgument', /pod default\/two has several containers \(app, side, init\): name one \(-c NAME\)/));
    assert.throws(() => resolveContainer(two, 'db'), kindOf('NotFound', /container db is not in pod default\/two; its containers: app, side, init/));
  });

  it('refuses a pod not yet on a node, and a node without a session', async () => {
    const { proxy } = setup();
    const unbound = makePod('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n');
    await assert.rejects(proxy.logs(unbound, { follow: false }, sink().out, new AbortController().signal), kindOf('FailedPrecondition', /pod default\/p is not scheduled to a node yet/));
    await assert.rejects(proxy.logs(pod, { follow: false }, sink().out, new AbortController().signal), kindOf('Unavailable', /^node n1 is not connected/));
    await assert.rejects(proxy.exec(pod, { command: ['true'] }), kindOf('Unavailable', /^node n1 is not connected/));
  });
});

describe('pod proxy: logs', () => {
  it('asks the node for the log and writes what it sends until logsEnd', async () => {
    const { sessions, proxy } = setup();
    const { sent } = connect(sessions);
    const { out, writes } = sink();
    const done = proxy.logs(pod, { follow: true, tailLines: 10, timestamps: true }, out, new AbortController().signal);
    assert.deepEqual(sent, [{ v: 1, type: 'logsRequest', id: 'req-1', uid: pod.metadata.uid, container: 'app', follow: true, tailLines: 10, timestamps: true }]);
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: '' });
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'one\n' });
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: '' });
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'two\n' });
    sessions.deliver('n1', { v: 1, type: 'logsEnd', id: 'req-1' });
    await done;
    await tick();
    assert.deepEqual(writes, ['', 'one\n', 'two\n'], 'the first (empty) write marks the start; later empty chunks are not written');
  });

  it('rejects with the agent\'s error kind, before writing anything', async () => {
    const { sessions, proxy } = setup();
    connect(sessions);
    const cases = [
      ['NotFound', 'no pod with uid x runs on node n1'],
      ['FailedPrecondition', 'container app in pod shop/web has not started yet (ContainerCreating)'],
      ['Internal', 'disk on fire'],
    ] as const;
    for (const [i, [code, message]] of cases.entries()) {
      const { out, writes } = sink();
      const done = proxy.logs(pod, { follow: false, previous: true }, out, new AbortController().signal);
      sessions.deliver('n1', { v: 1, type: 'logsEnd', id: `req-${i + 1}`, error: { code, message } });
      await assert.rejects(done, kindOf(code, new RegExp(`^${message.replace(/[()]/g, '\\$&')}$`)));
      assert.deepEqual(writes, []);
    }
  });

  it('tells the agent to stop when the reader goes away, and resolves', async () => {
    const { sessions, proxy } = setup();
    const { sent } = connect(sessions);
    const { out, writes } = sink();
    const reader = new AbortController();
    const done = proxy.logs(pod, { follow: true }, out, reader.signal);
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'one\n' });
    reader.abort();
    await done;
    assert.deepEqual(sent.map((m) => m.type), ['logsRequest', 'logsCancel']);
    assert.equal(sent[1]!.id, 'req-1');
    // What the agent sent before it saw the cancel goes nowhere.
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'late\n' });
    await tick();
    assert.deepEqual(writes, ['one\n']);
  });

  it('stops like an abort when writing to the reader fails', async () => {
    const { sessions, proxy } = setup();
    const { sent } = connect(sessions);
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('the client went away'));
      },
    });
    const done = proxy.logs(pod, { follow: true }, broken, new AbortController().signal);
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: '' });
    await done;
    assert.deepEqual(sent.map((m) => m.type), ['logsRequest', 'logsCancel']);
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'more\n' });
  });

  it('fails with Unavailable when the node disconnects or does not answer, and ignores other nodes\' answers', async () => {
    const { sessions, proxy } = setup({ answerTimeoutMs: 50 });
    const { conn } = connect(sessions);
    connect(sessions, 'n2');
    const { out, writes } = sink();
    const done = proxy.logs(pod, { follow: true }, out, new AbortController().signal);
    sessions.deliver('n2', { v: 1, type: 'logsData', id: 'req-1', data: 'forged\n' });
    sessions.deliver('n1', { v: 1, type: 'logsData', id: 'req-1', data: 'real\n' });
    sessions.detach('n1', conn);
    await assert.rejects(done, kindOf('Unavailable', /^node n1 disconnected while sending the log of container app in pod shop\/web$/));
    await tick();
    assert.deepEqual(writes, ['real\n']);

    connect(sessions);
    const silent = proxy.logs(pod, { follow: false }, sink().out, new AbortController().signal);
    await assert.rejects(silent, kindOf('Unavailable', /^node n1 did not answer the request for the log of container app in pod shop\/web within 0.05s/));
  });

  it('checks tailLines, and does nothing for a reader already gone', async () => {
    const { sessions, proxy } = setup();
    const { sent } = connect(sessions);
    await assert.rejects(proxy.logs(pod, { follow: false, tailLines: -1 }, sink().out, new AbortController().signal), kindOf('InvalidArgument', /tailLines/));
    await proxy.logs(pod, { follow: false }, sink().out, AbortSignal.abort());
    assert.deepEqual(sent, []);
  });
});

describe('pod proxy: exec', () => {
  it('runs the command through the node and returns output and exit code', async () => {
    const { sessions, proxy } = setup();
    const { sent } = connect(sessions);
    const done = proxy.exec(pod, { command: ['sh', '-c', 'exit 3'], timeoutSeconds: 7 });
    assert.deepEqual(sent, [{ v: 1, type: 'execRequest', id: 'req-1', uid: pod.metadata.uid, container: 'app', command: ['sh', '-c', 'exit 3'], timeoutSeconds: 7 }]);
    sessions.deliver('n1', { v: 1, type: 'execResult', id: 'req-1', stdout: 'out', stderr: 'err', exitCode: 3 });
    assert.deepEqual(await done, { stdout: 'out', stderr: 'err', exitCode: 3 });

    const defaulted = proxy.exec(pod, { command: ['true'] });
    assert.equal(sent[1]!.type === 'execRequest' && sent[1]!.timeoutSeconds, 300);
    sessions.deliver('n1', { v: 1, type: 'execResult', id: 'req-2', stdout: '', stderr: '', exitCode: 0 });
    await defaulted;
  });

  it('rejects with the agent\'s error, a refusal, or a lost session', async () => {
    const { sessions, proxy } = setup();
    const { conn } = connect(sessions);
    const timedOut = proxy.exec(pod, { command: ['sleep', '9'], timeoutSeconds: 1 });
    sessions.deliver('n1', { v: 1, type: 'execResult', id: 'req-1', stdout: '', stderr: '', exitCode: -1, error: { code: 'DeadlineExceeded', message: 'command timed out after 1s' } });
    await assert.rejects(timedOut, kindOf('DeadlineExceeded', /^command timed out after 1s$/));

    const refused = proxy.exec(pod, { command: ['true'] });
    sessions.deliver('n1', { v: 1, type: 'error', code: 'InvalidMessage', message: 'message.type: unsupported value', replyTo: 'req-2' });
    await assert.rejects(refused, kindOf('Internal', /^node n1 refused the exec in container app of pod shop\/web: message.type: unsupported value$/));

    const lost = proxy.exec(pod, { command: ['true'] });
    // A newer connection for the node replaces this one: the answer will not come.
    connect(sessions);
    await assert.rejects(lost, kindOf('Unavailable', /disconnected during the exec/));
    void conn;

    const closing = proxy.exec(pod, { command: ['true'] });
    proxy.close();
    await assert.rejects(closing, kindOf('Unavailable'));
  });

  it('checks the command and timeout', async () => {
    const { proxy } = setup();
    await assert.rejects(proxy.exec(pod, { command: [] }), kindOf('InvalidArgument', /needs a command/));
    await assert.rejects(proxy.exec(pod, { command: ['true'], timeoutSeconds: 0 }), kindOf('InvalidArgument', /from 1 to 86400/));
  });
});

describe('logs and exec messages', () => {
  const valid: Message[] = [
    { v: 1, type: 'logsRequest', id: 'a', uid: 'u', container: 'app', follow: true, tailLines: 0, previous: false, timestamps: true },
    { v: 1, type: 'logsData', id: 'a', data: '' },
    { v: 1, type: 'logsEnd', id: 'a', error: { code: 'NotFound', message: 'gone' } },
    { v: 1, type: 'logsCancel', id: 'a' },
    { v: 1, type: 'execRequest', id: 'b', uid: 'u', container: 'app', command: ['sh', '-c', ''], timeoutSeconds: 1 },
    { v: 1, type: 'execResult', id: 'b', stdout: 'x', stderr: '', exitCode: 3 },
  ];

  it('round-trip, each in its direction only', () => {
    for (const m of valid) {
      const receiver = m.type === 'logsRequest' || m.type === 'logsCancel' || m.type === 'execRequest' ? 'agent' : 'scheduler';
      assert.deepEqual(parseMessage(encodeMessage(m), { receiver }), m);
      assert.throws(() => parseMessage(encodeMessage(m), { receiver: receiver === 'agent' ? 'scheduler' : 'agent' }), /does not accept it/);
    }
  });

  it('are checked strictly, naming each bad field', () => {
    const problems = (m: unknown) => {
      try {
        parseMessage(m);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(problems({ v: 1, type: 'logsCancel' }), /message\.logsCancel\.id: required value \(it pairs requests with their answers\)/);
    assert.match(problems({ v: 1, type: 'logsRequest', id: 'a', uid: 'u', container: 'App_1' }), /message\.logsRequest\.container: invalid value "App_1".*message\.logsRequest\.follow: required value/);
    assert.match(problems({ v: 1, type: 'logsRequest', id: 'a', uid: 'u', container: 'c', follow: false, tailLines: -1, since: 1 }), /tailLines: must be greater than or equal to 0.*message\.logsRequest\.since: unknown field/);
    assert.match(problems({ v: 1, type: 'logsData', id: 'a', data: 'x'.repeat(MAX_LOG_CHUNK_BYTES + 1) }), /message\.logsData\.data: too long: 65537 bytes \(at most 65536\)/);
    assert.match(problems({ v: 1, type: 'logsEnd', id: 'a', error: { code: 'Oops', message: '' } }), /error\.code: unsupported value.*error\.message: required value/);
    assert.match(problems({ v: 1, type: 'execRequest', id: 'b', uid: 'u', container: 'c', command: [], timeoutSeconds: 0 }), /command: must name a program to run.*timeoutSeconds: must be between 1 and 86400/);
    assert.match(problems({ v: 1, type: 'execRequest', id: 'b', uid: 'u', container: 'c', command: ['ls', 1], timeoutSeconds: 5 }), /command\[1\]: expected string/);
    assert.match(problems({ v: 1, type: 'execResult', id: 'b', exitCode: 1.5 }), /stdout: required value.*stderr: required value.*exitCode: expected integer/);
  });
});
