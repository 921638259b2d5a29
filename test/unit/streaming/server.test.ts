/**
 * The streaming server end to end on 127.0.0.1, driven by this package's SPDY client and by `ws`
 * as a WebSocket client, against the fake backend. (The real crictl drives it in the integration
 * test.)
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { StreamingServer, SpdySession, type SpdyStream } from '../../../src/streaming/index.js';
import { isKind } from '../../../src/lib/errors.js';
import { FakeBackend } from './fake-backend.js';
import { readAll } from './helpers.js';

let backend: FakeBackend;
let server: StreamingServer;
let echo: net.Server;
let echoPort: number;

before(async () => {
  backend = new FakeBackend();
  server = new StreamingServer({ backend });
  await server.start();
  echo = net.createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
});
after(async () => {
  await server.close();
  await new Promise((r) => echo.close(r));
});

interface Upgraded {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  session?: SpdySession;
}

/** Sends the upgrade request crictl sends, and opens a SPDY client session on a 101. */
function spdyUpgrade(url: string, protocols: string[] | undefined, method = 'POST'): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' };
    if (protocols) headers['X-Stream-Protocol-Version'] = protocols;
    const req = http.request(url, { method, headers });
    req.on('upgrade', (res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve({ status: res.statusCode!, headers: res.headers, body: '', session: new SpdySession(socket, { role: 'client' }) });
    });
    req.on('response', async (res) => {
      resolve({ status: res.statusCode!, headers: res.headers, body: (await readAll(res)).toString() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a stream and waits for the reply, as client-go does for each stream in turn. */
async function open(session: SpdySession, headers: Record<string, string>): Promise<SpdyStream> {
  const s = session.openStream(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])));
  await s.established;
  return s;
}

/** An exec/attach session the way client-go's remotecommand runs it over SPDY. */
async function spdyCommand(
  url: string,
  opts: { protocol?: string; stdin?: string; stderr?: boolean; tty?: boolean; resize?: string[]; stdout?: boolean } = {},
) {
  const up = await spdyUpgrade(url, [opts.protocol ?? 'v4.channel.k8s.io']);
  assert.equal(up.status, 101, up.body);
  const session = up.session!;
  try {
    const error = await open(session, { streamType: 'error' });
    const stdin = opts.stdin !== undefined ? await open(session, { streamType: 'stdin' }) : undefined;
    const stdout = opts.stdout === false ? undefined : await open(session, { streamType: 'stdout' });
    const stderr = opts.stderr && !opts.tty ? await open(session, { streamType: 'stderr' }) : undefined;
    const resize = opts.tty ? await open(session, { streamType: 'resize' }) : undefined;
    for (const r of opts.resize ?? []) resize!.write(r);
    if (stdin) stdin.end(opts.stdin);
    const [out, err, status] = await Promise.all([
      stdout ? readAll(stdout) : Buffer.alloc(0),
      stderr ? readAll(stderr) : Buffer.alloc(0),
      readAll(error),
    ]);
    return { protocol: up.headers['x-stream-protocol-version'], stdout: out.toString(), stderr: err.toString(), error: status.toString() };
  } finally {
    session.destroy();
  }
}

const SUCCESS = { metadata: {}, status: 'Success' };

test('exec over SPDY v4: stdin, stdout, stderr and a Success status', async () => {
  const cat = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['cat'], tty: false, stdin: true, stdout: true, stderr: true }), {
    stdin: 'hello\nworld\n',
    stderr: true,
  });
  assert.equal(cat.protocol, 'v4.channel.k8s.io');
  assert.equal(cat.stdout, 'hello\nworld\n');
  assert.deepEqual(JSON.parse(cat.error), SUCCESS);
  const err = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['echo-err', 'oops'], tty: false, stdin: false, stdout: true, stderr: true }), {
    stderr: true,
  });
  assert.equal(err.stderr, 'oops\n');
  assert.equal(err.stdout, '');
});

test('a non-zero exit code travels as a NonZeroExitCode status with the ExitCode cause', async () => {
  const r = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['sh', '-c', 'exit 3'], tty: false, stdin: false, stdout: true, stderr: true }), {
    stderr: true,
  });
  assert.deepEqual(JSON.parse(r.error), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: exit status 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
});

test('a backend failure is an InternalError status carrying its message', async () => {
  const r = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['fail'], tty: false, stdin: false, stdout: true, stderr: false }));
  const status = JSON.parse(r.error);
  assert.equal(status.status, 'Failure');
  assert.equal(status.reason, 'InternalError');
  assert.equal(status.message, 'container is not running');
});

test('older protocols: v2 reports failures as plain text and success as nothing', async () => {
  const url = () => server.requestExec({ containerId: 'c1', cmd: ['sh', '-c', 'exit 5'], tty: false, stdin: false, stdout: true, stderr: false });
  const v2 = await spdyCommand(url(), { protocol: 'v2.channel.k8s.io' });
  assert.equal(v2.protocol, 'v2.channel.k8s.io');
  assert.equal(v2.error, 'command terminated with non-zero exit code: exit status 5');
  const ok = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['echo', 'hi'], tty: false, stdin: false, stdout: true, stderr: false }), {
    protocol: 'channel.k8s.io',
  });
  assert.equal(ok.stdout, 'hi\n');
  assert.equal(ok.error, '');
});

test('the server picks the first protocol of the client it supports; none gives 403, no header 400', async () => {
  const url = () => server.requestExec({ containerId: 'c1', cmd: ['echo'], tty: false, stdin: false, stdout: true, stderr: false });
  const up = await spdyUpgrade(url(), ['v5.channel.k8s.io', 'v3.channel.k8s.io, v4.channel.k8s.io']);
  assert.equal(up.status, 101);
  assert.equal(up.headers['x-stream-protocol-version'], 'v3.channel.k8s.io');
  up.session!.destroy();
  const refused = await spdyUpgrade(url(), ['v9.channel.k8s.io']);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /unable to negotiate protocol/);
  assert.equal(refused.headers['x-accepted-stream-protocol-versions'], 'v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io');
  const missing = await spdyUpgrade(url(), undefined);
  assert.equal(missing.status, 400);
});

test('tokens: single use, bound to their kind, unknown ones 404; a plain request does not use one', async () => {
  const url = server.requestExec({ containerId: 'c1', cmd: ['echo', 'once'], tty: false, stdin: false, stdout: true, stderr: false });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{22}$/);
  const plain = await new Promise<http.IncomingMessage>((r) => http.get(url, r));
  assert.equal(plain.statusCode, 400);
  plain.resume();
  assert.equal((await spdyCommand(url)).stdout, 'once\n');
  assert.equal((await spdyUpgrade(url, ['v4.channel.k8s.io'])).status, 404, 'second use');
  const token = server.requestAttach({ containerId: 'c1', tty: false, stdin: false, stdout: true, stderr: false }).split('/').pop();
  assert.equal((await spdyUpgrade(`${server.url()}/exec/${token}`, ['v4.channel.k8s.io'])).status, 404, 'attach token on /exec');
  assert.equal((await spdyUpgrade(`${server.url()}/exec/nope`, ['v4.channel.k8s.io'])).status, 404);
});

test('requests are validated, and at most maxInFlight may wait', async () => {
  const base = { containerId: 'c1', tty: false, stdin: false, stdout: true, stderr: false };
  assert.throws(() => server.requestExec({ ...base, cmd: [] }), (e: unknown) => isKind(e, 'InvalidArgument'));
  assert.throws(() => server.requestExec({ ...base, cmd: ['x'], containerId: '' }), (e: unknown) => isKind(e, 'InvalidArgument'));
  assert.throws(() => server.requestExec({ ...base, cmd: ['x'], tty: true, stderr: true }), /tty and stderr cannot both be true/);
  assert.throws(() => server.requestAttach({ ...base, stdout: false }), /one of stdin, stdout or stderr/);
  assert.throws(() => server.requestPortForward({ podSandboxId: 'p', ports: [0] }), (e: unknown) => isKind(e, 'InvalidArgument'));
  const small = new StreamingServer({ backend, maxInFlight: 2 });
  await small.start();
  try {
    small.requestExec({ ...base, cmd: ['x'] });
    small.requestPortForward({ podSandboxId: 'p' });
    assert.throws(
      () => small.requestAttach(base),
      (e: unknown) => isKind(e, 'Unavailable') && /2 streaming requests are waiting/.test(String(e)),
    );
  } finally {
    await small.close();
  }
});

test('a TTY session gets the client\'s terminal sizes, the current one even before it listens', async () => {
  const r = await spdyCommand(server.requestExec({ containerId: 'c1', cmd: ['tty-test'], tty: true, stdin: true, stdout: true, stderr: false }), {
    tty: true,
    resize: ['{"Width":80,"Height":24}\n', '{"Width":100,', '"Height":50}\n'],
    stdin: 'q',
  });
  // The process starts once a size came; it hears the newest then (80x24 only if it started in between).
  assert.match(r.stdout, /^(size=80x24\r\n)?size=100x50\r\n/);
  assert.match(r.stdout, /got:q\r\n/);
  assert.deepEqual(JSON.parse(r.error), SUCCESS);
});

test('attach over SPDY', async () => {
  const r = await spdyCommand(server.requestAttach({ containerId: 'c7', tty: false, stdin: true, stdout: true, stderr: true }), {
    stdin: 'typed\n',
    stderr: true,
  });
  assert.equal(r.stdout, 'attached to c7\ntyped\n');
  assert.deepEqual(JSON.parse(r.error), SUCCESS);
});

test('a client going away aborts the running command', async () => {
  const up = await spdyUpgrade(server.requestExec({ containerId: 'c1', cmd: ['wait'], tty: false, stdin: false, stdout: true, stderr: false }), [
    'v4.channel.k8s.io',
  ]);
  await open(up.session!, { streamType: 'error' });
  const aborted = backend.nextAbort();
  await open(up.session!, { streamType: 'stdout' });
  up.session!.destroy();
  await aborted;
});

/** A WebSocket session as client-go's websocket executor runs it. */
async function wsCommand(url: string, protocols: string[], send: (ws: WebSocket) => void) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
  const channels = new Map<number, string>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const ch = isBinary ? data[0]! : data[0]! - 48;
    const payload = isBinary ? data.subarray(1) : Buffer.from(data.subarray(1).toString(), 'base64');
    channels.set(ch, (channels.get(ch) ?? '') + payload.toString());
  });
  await once(ws, 'open');
  send(ws);
  const [code] = await once(ws, 'close');
  return { protocol: ws.protocol, code: code as number, channels };
}

test('exec over WebSocket v5: channels, the stdin close signal, the status on channel 3, a normal close', async () => {
  const url = server.requestExec({ containerId: 'c1', cmd: ['cat'], tty: false, stdin: true, stdout: true, stderr: true });
  const r = await wsCommand(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], (ws) => {
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('over ws\n')]));
    ws.send(Buffer.from([255, 0]));
  });
  assert.equal(r.protocol, 'v5.channel.k8s.io');
  assert.equal(r.code, 1000);
  assert.equal(r.channels.get(1), 'over ws\n');
  assert.deepEqual(JSON.parse(r.channels.get(3)!), SUCCESS);

  const exit = await wsCommand(server.requestExec({ containerId: 'c1', cmd: ['sh', '-c', 'exit 7'], tty: false, stdin: false, stdout: true, stderr: true }), ['v5.channel.k8s.io'], () => {});
  assert.equal(JSON.parse(exit.channels.get(3)!).details.causes[0].message, '7');
});

test('exec over WebSocket with the base64 protocol and a TTY resize on channel 4', async () => {
  const url = server.requestExec({ containerId: 'c1', cmd: ['tty-test'], tty: true, stdin: true, stdout: true, stderr: false });
  const r = await wsCommand(url, ['v4.base64.channel.k8s.io'], (ws) => {
    ws.send('4' + Buffer.from('{"Width":33,"Height":11}').toString('base64'));
    ws.send('0' + Buffer.from('q').toString('base64'));
  });
  assert.equal(r.protocol, 'v4.base64.channel.k8s.io');
  assert.match(r.channels.get(1)!, /size=33x11\r\n/);
  assert.match(r.channels.get(1)!, /got:q/);
  assert.deepEqual(JSON.parse(r.channels.get(3)!), SUCCESS);
});

test('a TTY process starts with the client\'s first size, even one sent after the handshake; without one, after a wait', async () => {
  // A wait long enough that the size, not the timer, starts the process here.
  const patient = new StreamingServer({ backend, firstSizeWaitMs: 600_000 });
  await patient.start();
  const impatient = new StreamingServer({ backend, firstSizeWaitMs: 1 });
  await impatient.start();
  try {
    const req = { containerId: 'c1', cmd: ['start-size'], tty: true, stdin: false, stdout: true, stderr: false };
    const late = await wsCommand(patient.requestExec(req), ['v5.channel.k8s.io'], (ws) => {
      setImmediate(() => ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":101,"Height":37}')])));
    });
    assert.equal(late.channels.get(1), 'start=101x37\r\n');
    const none = await wsCommand(impatient.requestExec(req), ['v5.channel.k8s.io'], () => {});
    assert.equal(none.channels.get(1), 'start=none\r\n');
  } finally {
    await Promise.all([patient.close(), impatient.close()]);
  }
});

test('a WebSocket client offering only unknown protocols is refused', async () => {
  const url = server.requestExec({ containerId: 'c1', cmd: ['echo'], tty: false, stdin: false, stdout: true, stderr: false });
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v9.channel.k8s.io']);
  const [, res] = await once(ws, 'unexpected-response');
  assert.equal((res as http.IncomingMessage).statusCode, 403);
  ws.on('error', () => {}); // terminate() reports the aborted handshake as an error
  ws.terminate();
});

/** One forwarded connection, the way client-go's port forwarder opens it. */
async function forwardOnce(session: SpdySession, port: number, requestId: number, payload: string) {
  const error = await open(session, { streamType: 'error', port: String(port), requestID: String(requestId) });
  error.end();
  const data = await open(session, { streamType: 'data', port: String(port), requestID: String(requestId) });
  data.end(payload);
  const [echoed, message] = await Promise.all([readAll(data), readAll(error)]);
  return { echoed: echoed.toString(), error: message.toString() };
}

test('port-forward over SPDY: stream pairs by requestID, each a TCP connection both ways', async () => {
  const up = await spdyUpgrade(server.requestPortForward({ podSandboxId: 'pod1' }), ['portforward.k8s.io']);
  assert.equal(up.status, 101);
  assert.equal(up.headers['x-stream-protocol-version'], 'portforward.k8s.io');
  try {
    const results = await Promise.all([0, 1, 2].map((i) => forwardOnce(up.session!, echoPort, i, `conn ${i}`.repeat(10_000))));
    results.forEach((r, i) => assert.deepEqual(r, { echoed: `conn ${i}`.repeat(10_000), error: '' }));
  } finally {
    up.session!.destroy();
  }
});

test('port-forward failures come back on the error stream', async () => {
  const up = await spdyUpgrade(server.requestPortForward({ podSandboxId: 'pod1', ports: [echoPort] }), ['portforward.k8s.io']);
  try {
    const refused = await forwardOnce(up.session!, 1, 0, 'x');
    assert.match(refused.error, /^port 1 is not among the ports of this port-forward request/);
    assert.equal((await forwardOnce(up.session!, echoPort, 1, 'allowed')).echoed, 'allowed');
  } finally {
    up.session!.destroy();
  }
  const any = await spdyUpgrade(server.requestPortForward({ podSandboxId: 'pod1' }), ['portforward.k8s.io']);
  try {
    const closed = await forwardOnce(any.session!, 1, 0, 'x');
    assert.match(closed.error, /^error forwarding port 1 to pod pod1: connect ECONNREFUSED/);
  } finally {
    any.session!.destroy();
  }
});

test('close() ends every open session; their commands see the abort', async () => {
  const other = new StreamingServer({ backend });
  await other.start();
  const up = await spdyUpgrade(other.requestExec({ containerId: 'c1', cmd: ['wait'], tty: false, stdin: false, stdout: true, stderr: false }), [
    'v4.channel.k8s.io',
  ]);
  await open(up.session!, { streamType: 'error' });
  const aborted = backend.nextAbort();
  await open(up.session!, { streamType: 'stdout' });
  const sessionClosed = once(up.session!, 'close');
  await other.close();
  await Promise.all([aborted, sessionClosed]);
  assert.equal(other.connectionCount, 0);
});
