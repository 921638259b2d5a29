/**
 * Test helpers for the cluster DNS server: a stub resolver client (UDP, then TCP on TC, as glibc
 * does) and a fake upstream resolver (UDP + TCP on 127.0.0.x) that records how it was asked.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** A decoded message (the types leave out the rcode dns-packet sets). */
export type Decoded = dnsPacket.DecodedPacket & { rcode: string };

/** A safety net so a broken server fails a test instead of hanging it (never a timing assertion). */
const SAFETY_MS = 10_000;

export function query(name: string, type: dnsPacket.RecordType, opts: { id?: number; edns?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/** Sends datagrams from one socket and returns the first `count` replies, in arrival order. */
export function udpExchange(port: number, messages: Buffer[], count = 1, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no ${count} UDP replies within ${SAFETY_MS} ms (got ${replies.length})`));
    }, SAFETY_MS);
    sock.on('message', (msg) => {
      replies.push(msg);
      if (replies.length === count) {
        clearTimeout(timer);
        sock.close();
        resolve(replies);
      }
    });
    for (const m of messages) sock.send(m, port, host);
  });
}

export async function udpQuery(port: number, message: Buffer): Promise<Decoded> {
  const [reply] = await udpExchange(port, [message]);
  return dnsPacket.decode(reply) as Decoded;
}

/** Sends length-prefixed messages on one TCP connection; resolves with `count` replies, or with what came when the server closed. */
export function tcpExchange(port: number, frames: Buffer[], count = 1, host = '127.0.0.1'): Promise<{ replies: Buffer[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ replies, closed });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no ${count} TCP replies within ${SAFETY_MS} ms (got ${replies.length})`));
    }, SAFETY_MS);
    sock.on('connect', () => sock.write(Buffer.concat(frames)));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= count) finish(false);
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
  });
}

export function frame(message: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(message.length, 0);
  return Buffer.concat([len, message]);
}

export async function tcpQuery(port: number, message: Buffer): Promise<Decoded> {
  const { replies } = await tcpExchange(port, [frame(message)]);
  if (replies.length !== 1) throw new Error('the TCP connection closed without an answer');
  return dnsPacket.decode(replies[0]) as Decoded;
}

/** A stub resolver: UDP first, TCP when the answer is truncated. */
export async function resolve(port: number, name: string, type: dnsPacket.RecordType, edns?: number): Promise<{ packet: Decoded; via: 'udp' | 'tcp' }> {
  const q = query(name, type, { edns });
  const packet = await udpQuery(port, q);
  if (!packet.flag_tc) return { packet, via: 'udp' };
  return { packet: await tcpQuery(port, q), via: 'tcp' };
}

/** What the fake upstream answers: records for a name, or an rcode. */
export type UpstreamBehaviour = (q: dnsPacket.Question, transport: 'udp' | 'tcp') => { answers?: dnsPacket.Answer[]; rcode?: number; tc?: boolean } | 'silent';

export interface FakeUpstream {
  readonly host: string;
  readonly port: number;
  /** Every query seen, in order. */
  readonly seen: { name: string; type: string; transport: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

/** Starts a fake upstream resolver on host:port (port 0: any free port usable for both UDP and TCP). */
export async function startFakeUpstream(host: string, port: number, behaviour: UpstreamBehaviour): Promise<FakeUpstream> {
  const seen: FakeUpstream['seen'] = [];
  const answer = (raw: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(raw);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question) return undefined;
    seen.push({ name: question.name, type: question.type, transport });
    const b = behaviour(question, transport);
    if (b === 'silent') return undefined;
    return dnsPacket.encode({
      id: q.id,
      type: 'response',
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (b.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (b.rcode ?? 0),
      questions: [question],
      answers: b.tc ? [] : b.answers ?? [],
    });
  };
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((res) => udp.bind({ address: host, port }, () => res()));
    const boundPort = udp.address().port;
    const tcp = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('error', () => undefined);
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (reply) sock.write(frame(reply));
        }
      });
    });
    const ok = await new Promise<boolean>((res) => {
      tcp.once('error', () => res(false));
      tcp.listen({ host, port: boundPort }, () => res(true));
    });
    if (!ok) {
      udp.close();
      if (port !== 0 || attempt > 10) throw new Error(`fake upstream: cannot listen on ${host}:${boundPort}`);
      continue;
    }
    let closed = false;
    udp.on('message', (msg, rinfo) => {
      const reply = answer(msg, 'udp');
      if (reply && !closed) udp.send(reply, rinfo.port, rinfo.address);
    });
    return {
      host,
      port: boundPort,
      seen,
      close: async () => {
        closed = true;
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}
