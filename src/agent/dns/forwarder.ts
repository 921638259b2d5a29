/**
 * Forwarding to the node's own resolvers: a query the cluster zone does not own goes, as sent, to
 * each upstream in turn (resolv.conf order) until one answers in time. UDP queries go over UDP from
 * one socket per address family with a fresh random ID each (the answer must come from the upstream
 * asked, carry that ID and the same question); TCP queries over a new TCP connection each. The
 * pending table is capped: a query beyond it fails at once (SERVFAIL) instead of growing memory.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** A resolver to forward to. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export interface ForwarderOptions {
  /** How long one upstream gets to answer before the next is asked. */
  readonly attemptTimeoutMs: number;
  /** At most this many UDP queries wait for an upstream at once. */
  readonly maxPending: number;
}

interface Pending {
  readonly upstream: Upstream;
  readonly question: dnsPacket.Question;
  readonly resolve: (answer: Buffer | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

/** The largest DNS message (TCP's two-byte length prefix). */
export const MAX_MESSAGE = 65535;

/** True when `response` answers `question` (same name, case-insensitive, type and class). */
function answersQuestion(response: Buffer, question: dnsPacket.Question): boolean {
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(response);
  } catch {
    return false;
  }
  const q = decoded.questions?.[0];
  return (
    decoded.type === 'response' &&
    decoded.questions?.length === 1 &&
    q !== undefined &&
    q.name.toLowerCase() === question.name.toLowerCase() &&
    q.type === question.type &&
    (q.class ?? 'IN') === (question.class ?? 'IN')
  );
}

export class Forwarder {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private readonly tcpSockets = new Set<net.Socket>();
  private closed = false;

  constructor(private readonly opts: ForwarderOptions) {}

  /** Forwards a UDP query; the upstream's answer with the query's ID, or undefined when none answered. */
  async forwardUdp(query: Buffer, question: dnsPacket.Question, upstreams: readonly Upstream[]): Promise<Buffer | undefined> {
    for (const upstream of upstreams) {
      if (this.closed) return undefined;
      const answer = await this.udpAttempt(query, question, upstream);
      if (answer) return answer;
    }
    return undefined;
  }

  /** Forwards a TCP query over a new connection per upstream tried. */
  async forwardTcp(query: Buffer, question: dnsPacket.Question, upstreams: readonly Upstream[]): Promise<Buffer | undefined> {
    for (const upstream of upstreams) {
      if (this.closed) return undefined;
      const answer = await this.tcpAttempt(query, question, upstream);
      if (answer) return answer;
    }
    return undefined;
  }

  /** Closes the sockets; waiting queries end unanswered. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const s of this.tcpSockets) s.destroy();
    this.tcpSockets.clear();
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
      s.on('message', (msg, rinfo) => this.onUdpAnswer(msg, rinfo));
      s.on('error', () => {
        // A send error (unreachable upstream) surfaces as the attempt's timeout.
      });
      this.sockets.set(family, s);
    }
    return s;
  }

  private udpAttempt(query: Buffer, question: dnsPacket.Question, upstream: Upstream): Promise<Buffer | undefined> {
    if (this.pending.size >= this.opts.maxPending) return Promise.resolve(undefined);
    const family = net.isIP(upstream.host) === 6 ? 6 : 4;
    let id = randomInt(0, 65536);
    for (let i = 0; this.pending.has(id); i++) {
      if (i > 16) return Promise.resolve(undefined);
      id = randomInt(0, 65536);
    }
    const originalId = query.readUInt16BE(0);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.opts.attemptTimeoutMs);
      this.pending.set(id, {
        upstream,
        question,
        timer,
        resolve: (answer) => {
          if (answer) answer.writeUInt16BE(originalId, 0);
          resolve(answer);
        },
      });
      this.socket(family).send(out, upstream.port, upstream.host, (err) => {
        if (err) this.settle(id, undefined);
      });
    });
  }

  private onUdpAnswer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    // Only the upstream asked may answer, with the same question (a stray or spoofed datagram is dropped).
    if (!p || rinfo.port !== p.upstream.port || normalizeHost(rinfo.address) !== normalizeHost(p.upstream.host)) return;
    if (!answersQuestion(msg, p.question)) return;
    this.settle(id, Buffer.from(msg));
  }

  private settle(id: number, answer: Buffer | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(answer);
  }

  private tcpAttempt(query: Buffer, question: dnsPacket.Question, upstream: Upstream): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: upstream.host, port: upstream.port });
      this.tcpSockets.add(sock);
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (answer: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.tcpSockets.delete(sock);
        sock.destroy();
        resolve(answer);
      };
      const timer = setTimeout(() => finish(undefined), this.opts.attemptTimeoutMs);
      sock.on('error', () => finish(undefined));
      sock.on('close', () => finish(undefined));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length, 0);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > 2 + MAX_MESSAGE) return finish(undefined);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const answer = Buffer.from(buf.subarray(2, 2 + len));
        if (answer.length < 12 || answer.readUInt16BE(0) !== query.readUInt16BE(0) || !answersQuestion(answer, question)) return finish(undefined);
        finish(answer);
      });
    });
  }
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one host. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}
