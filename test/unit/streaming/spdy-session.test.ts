import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SpdySession, type SpdyStream } from '../../../src/streaming/spdy-session.js';
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  GoawayStatus,
  RstStatus,
  encodeData,
  encodeGoaway,
  encodePing,
  encodeRstStream,
  encodeSynStream,
  encodeWindowUpdate,
} from '../../../src/streaming/spdy-frames.js';
import { duplexPair, RawPeer, readAll } from './helpers.js';

function sessions(opts: { clientFlowControl?: 'strict' | 'peer-driven'; serverFlowControl?: 'strict' | 'peer-driven' } = {}) {
  const [a, b] = duplexPair();
  const client = new SpdySession(a, { role: 'client', flowControl: opts.clientFlowControl });
  const server = new SpdySession(b, { role: 'server', flowControl: opts.serverFlowControl });
  return { client, server, close: () => client.destroy() };
}

function nextStream(session: SpdySession): Promise<SpdyStream> {
  return once(session, 'stream').then(([s]) => s as SpdyStream);
}

test('a client stream opens with headers, carries data both ways and half-closes each way', async () => {
  const { client, server, close } = sessions();
  try {
    const incoming = nextStream(server);
    const out = client.openStream({ streamtype: ['stdin'], port: ['80'] });
    const s = await incoming;
    assert.equal(s.id, 1);
    assert.equal(s.header('streamType'), 'stdin');
    assert.equal(s.header('port'), '80');
    s.reply({ answer: ['yes'] });
    await out.established;
    assert.deepEqual(out.headers, { answer: ['yes'] });
    const closed = Promise.all([once(s, 'close'), once(out, 'close')]);

    out.end('from client');
    assert.equal((await readAll(s)).toString(), 'from client');
    // The server may still answer after the client's FIN.
    s.end('from server');
    assert.equal((await readAll(out)).toString(), 'from server');
    await closed;
    assert.equal(s.resetStatus, undefined, 'a stream closed by both FINs is not reset');
    assert.equal(server.streamCount, 0);
    assert.equal(client.streamCount, 0);
  } finally {
    close();
  }
});

test('writes on an incoming stream wait for our reply; on an outgoing one for the peer\'s', async () => {
  const { client, server, close } = sessions();
  try {
    const incoming = nextStream(server);
    const out = client.openStream({});
    out.write('early');
    const s = await incoming;
    s.write('before reply');
    s.reply();
    assert.equal((await once(s, 'data'))[0].toString(), 'early');
    assert.equal((await once(out, 'data'))[0].toString(), 'before reply');
  } finally {
    close();
  }
});

test('strict flow control: a sender stops at the 64 KiB window and resumes on WINDOW_UPDATE', async () => {
  const { client, server, close } = sessions({ serverFlowControl: 'strict' });
  try {
    const incoming = nextStream(server);
    const out = client.openStream({});
    const s = await incoming;
    s.reply();
    await out.established;
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    s.end(payload);
    // The reader has not read yet: after a ping round trip everything sent has arrived.
    await client.ping();
    assert.equal(out.readableLength, DEFAULT_WINDOW, 'exactly one window in flight');
    // Reading reopens the window (WINDOW_UPDATE) until all data is through.
    assert.deepEqual(await readAll(out), payload);
  } finally {
    close();
  }
});

test('receiving: WINDOW_UPDATEs for the stream and the session follow what the reader consumes', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    const incoming = nextStream(server);
    peer.write(encodeSynStream(1, 0, peer.headerBlock({ streamtype: ['stdin'] })));
    const s = await incoming;
    s.reply();
    await peer.waitFor('syn_reply');
    let got = 0;
    s.on('data', (c: Buffer) => (got += c.length));
    peer.write(encodeData(1, Buffer.alloc(40_000, 1), false));
    const streamUpdate = await peer.waitFor('window_update', (f) => f.streamId === 1);
    const sessionUpdate = await peer.waitFor('window_update', (f) => f.streamId === 0);
    assert.equal(got, 40_000);
    assert.equal(streamUpdate.delta, 40_000);
    assert.equal(sessionUpdate.delta, 40_000);
  } finally {
    server.destroy();
  }
});

test('peer-driven flow control: a peer that never sends WINDOW_UPDATE (spdystream) still gets all output', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    const incoming = nextStream(server);
    peer.write(encodeSynStream(1, 0, peer.headerBlock({ streamtype: ['stdout'] })));
    const s = await incoming;
    s.reply();
    s.end(Buffer.alloc(300_000, 2));
    await peer.waitFor('data', (f) => (f.flags & FLAG_FIN) !== 0);
    assert.equal(peer.dataOn(1).length, 300_000);
  } finally {
    server.destroy();
  }
});

test('peer-driven flow control: once the peer sends a WINDOW_UPDATE its windows are honoured', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    const incoming = nextStream(server);
    peer.write(encodeSynStream(1, 0, peer.headerBlock({})));
    peer.write(encodeWindowUpdate(0, 1)); // session window: 64 KiB + 1
    const s = await incoming;
    s.reply();
    s.end(Buffer.alloc(100_000, 3));
    peer.write(encodePing(1));
    await peer.waitFor('ping');
    assert.equal(peer.dataOn(1).length, DEFAULT_WINDOW, 'stopped at the stream window');
    peer.write(encodeWindowUpdate(1, 100_000));
    peer.write(encodeWindowUpdate(0, 100_000));
    await peer.waitFor('data', (f) => (f.flags & FLAG_FIN) !== 0);
    assert.equal(peer.dataOn(1).length, 100_000);
  } finally {
    server.destroy();
  }
});

test('a peer overrunning the window while our reader lags pauses the transport, and nothing is lost', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    const incoming = nextStream(server);
    peer.write(encodeSynStream(1, 0, peer.headerBlock({})));
    const s = await incoming;
    s.reply();
    const chunk = Buffer.alloc(32 * 1024, 4);
    for (let i = 0; i < 10; i++) peer.write(encodeData(1, chunk, i === 9));
    await new Promise((r) => setImmediate(r));
    assert.ok(b.isPaused(), 'transport paused while 320 KiB wait for a reader');
    assert.equal((await readAll(s)).length, 10 * chunk.length);
    assert.ok(!b.isPaused(), 'resumed once read');
  } finally {
    server.destroy();
  }
});

test('PING is echoed; our pings resolve on the echo', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    peer.write(encodePing(41));
    assert.equal((await peer.waitFor('ping')).id, 41);
    const pong = server.ping();
    const ours = await peer.waitFor('ping', (f) => f.id % 2 === 0);
    peer.write(encodePing(ours.id));
    await pong;
  } finally {
    server.destroy();
  }
});

test('RST_STREAM from the peer destroys the stream quietly; destroying ours sends CANCEL', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    const streams: SpdyStream[] = [];
    server.on('stream', (s: SpdyStream) => {
      s.reply();
      streams.push(s);
    });
    peer.write(encodeSynStream(5, 0, peer.headerBlock({})));
    peer.write(encodeSynStream(7, 0, peer.headerBlock({})));
    await peer.waitFor('syn_reply', (f) => f.streamId === 7);
    const [s5, s7] = streams as [SpdyStream, SpdyStream];
    peer.write(encodeRstStream(5, RstStatus.CANCEL));
    await once(s5, 'close');
    assert.equal(s5.resetStatus, RstStatus.CANCEL);
    s7.destroy();
    const rst = await peer.waitFor('rst_stream', (f) => f.streamId === 7);
    assert.equal(rst.status, RstStatus.CANCEL);
  } finally {
    server.destroy();
  }
});

test('streams with a bad id are refused, and so is everything when nobody listens', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  try {
    peer.write(encodeSynStream(2, 0, peer.headerBlock({}))); // even: a server's id
    assert.equal((await peer.waitFor('rst_stream', (f) => f.streamId === 2)).status, RstStatus.PROTOCOL_ERROR);
    peer.write(encodeSynStream(1, 0, peer.headerBlock({}))); // nobody listens
    assert.equal((await peer.waitFor('rst_stream', (f) => f.streamId === 1)).status, RstStatus.REFUSED_STREAM);
    peer.write(encodeData(9, Buffer.from('x'), false)); // never opened
    assert.equal((await peer.waitFor('rst_stream', (f) => f.streamId === 9)).status, RstStatus.INVALID_STREAM);
  } finally {
    server.destroy();
  }
});

test('a malformed frame ends the session with GOAWAY PROTOCOL_ERROR; a GOAWAY from the peer is reported', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(b, { role: 'server' });
  const peer = new RawPeer(a);
  const goaway = once(server, 'goaway');
  peer.write(encodeGoaway(0, GoawayStatus.OK));
  assert.deepEqual(await goaway, [GoawayStatus.OK]);
  assert.ok(server.peerWentAway);
  const closed = once(server, 'close');
  peer.write(Buffer.from([0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1])); // SPDY/2 ping
  await closed;
  const frame = await peer.waitFor('goaway');
  assert.equal(frame.status, GoawayStatus.PROTOCOL_ERROR);
  assert.ok(server.isClosed);
});

test('when the transport goes, every stream closes and the session reports close', async () => {
  const { client, server } = sessions();
  const incoming = nextStream(server);
  const out = client.openStream({});
  const s = await incoming;
  s.reply();
  await out.established;
  const closed = Promise.all([once(server, 'close'), once(s, 'close'), once(out, 'close')]);
  client.destroy();
  await closed;
  assert.ok(server.isClosed);
});
