/**
 * The node's DNS server (the cluster DNS address of ClusterFirst pods): answers the cluster zone from
 * a ServiceView (cluster-answer.ts) and forwards everything else to the node's resolvers from a
 * resolv.conf (forwarder.ts), on one address over UDP and TCP.
 *
 * Every message is decoded by dns-packet and checked before use: shorter than a header or a response
 * → dropped; undecodable → FORMERR; not one question, or an opcode other than QUERY → FORMERR/NOTIMP;
 * EDNS version above 0 → BADVERS. A UDP answer larger than 512 bytes (or the client's EDNS size, at
 * most the 1232 this server advertises) first loses its additional section, then is sent truncated (TC, the question only) so the
 * client retries over TCP, as RFC 1035/2181 want. State is bounded: the forwarder's pending table, TCP
 * connections (count, idle time, queries in flight and unread output per connection). Sources outside
 * `allowSource` get REFUSED; ANY outside the cluster zone gets RFC 8482's minimal answer.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { invalidArgument, messageOf, silentLogger, type Logger } from '../../lib/index.js';
import { clusterAnswer, canonicalName, type ClusterAnswer } from './cluster-answer.js';
import { Forwarder, MAX_MESSAGE, type Upstream } from './forwarder.js';
import { parseResolvConf, RESOLV_CONF_MAX_BYTES } from './resolv-conf.js';
import type { ServiceView } from './service-view.js';

export interface DnsServerOptions {
  /** Services and endpoints to answer from. */
  readonly view: ServiceView;
  /** The cluster domain, e.g. `cluster.local`. */
  readonly clusterDomain: string;
  /** Address and port to listen on (UDP and TCP); port 0 picks one free for both. */
  readonly host: string;
  readonly port: number;
  /** The node's resolv.conf: its nameservers are the upstreams (re-read when it changes). */
  readonly resolvConfPath: string;
  /** The upstreams' port (53; tests point it elsewhere). */
  readonly upstreamPort?: number;
  /** Time one upstream gets before the next is asked (2 s). */
  readonly upstreamTimeoutMs?: number;
  /** UDP queries waiting on upstreams at once (1024); more get SERVFAIL. One source gets a quarter of them. */
  readonly maxPendingForwards?: number;
  /** Open TCP connections (256); more are refused. One source gets a quarter of them. */
  readonly maxTcpConnections?: number;
  /** A TCP connection idle this long is closed (10 s, RFC 7766's order of magnitude). */
  readonly tcpIdleTimeoutMs?: number;
  /**
   * Whether a query from this source address is answered (CoreDNS's acl `block`: the others get
   * REFUSED, echoing only the question). Default: everyone (tests); the node's DNS process passes
   * the cluster CIDR and the node's addresses (source-acl.ts).
   */
  readonly allowSource?: (address: string) => boolean;
  readonly logger?: Logger;
}

export interface RunningDnsServer {
  /** The address and port actually bound (UDP and TCP share the port). */
  readonly host: string;
  readonly port: number;
  /** The upstreams now forwarded to. */
  upstreams(): readonly Upstream[];
  /** Re-reads the resolv.conf now. */
  reloadUpstreams(): Promise<void>;
  close(): Promise<void>;
}

/** The EDNS UDP size this server advertises (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
/** The largest UDP datagram read as a query. */
const MAX_UDP_SIZE = 4096;
const MIN_UDP_SIZE = 512;
/** Queries in flight per TCP connection before reading pauses. */
const TCP_MAX_IN_FLIGHT = 16;
/** Unread answers a TCP client may leave queued before it is dropped. */
const TCP_MAX_UNREAD = 256 * 1024;
/** Received bytes a TCP connection may hold unprocessed (queries beyond the in-flight cap). */
const TCP_MAX_BUFFERED = 4 * (2 + MAX_MESSAGE);
/** How often the resolv.conf's mtime is looked at, at most. */
const RESOLV_CONF_CHECK_MS = 5000;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;
/** BADVERS (16): 0 in the header, 1 in the OPT record's extended RCODE. */
const BADVERS_EXTENDED = 1;

/** Query flags the answer echoes: the opcode (bits 11-14) and RD. */
function echoedFlags(rawFlags: number): number {
  return rawFlags & (0x7800 | dnsPacket.RECURSION_DESIRED);
}

/** A response that carries only a header (and the question when it can be echoed). */
function bareResponse(id: number, rawFlags: number, rcode: Rcode, question?: dnsPacket.Question, opt?: dnsPacket.Answer): Buffer {
  return dnsPacket.encode({
    id,
    type: 'response',
    flags: echoedFlags(rawFlags) | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
    questions: question ? [question] : [],
    additionals: opt ? [opt] : [],
  });
}

function ourOpt(extendedRcode = 0): dnsPacket.Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

/** True when dns-packet can write the question back (a class it does not know would be written as 0). */
function echoable(q: dnsPacket.Question): boolean {
  return q.class === undefined || !String(q.class).startsWith('UNKNOWN_');
}

/** Validated query, or the reply that refuses it (undefined: drop silently). */
type Parsed =
  | { ok: true; id: number; rawFlags: number; question: dnsPacket.Question; opt: dnsPacket.Answer | undefined; maxUdp: number }
  | { ok: false; reply: Buffer | undefined };

/** Checks a raw query (exported for the tests of the rules). */
export function parseQuery(raw: Buffer): Parsed {
  if (raw.length < 12) return { ok: false, reply: undefined };
  const id = raw.readUInt16BE(0);
  const rawFlags = raw.readUInt16BE(2);
  if (rawFlags & 0x8000) return { ok: false, reply: undefined }; // a response sent to us: never answer it (no loops)
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(raw);
  } catch {
    return { ok: false, reply: bareResponse(id, rawFlags, 'FORMERR') };
  }
  const opts = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  const opt = opts[0] as (dnsPacket.Answer & { udpPayloadSize: number; ednsVersion: number }) | undefined;
  const questions = packet.questions ?? [];
  if (questions.length !== 1 || opts.length > 1 || (opt && opt.name !== '.')) {
    return { ok: false, reply: bareResponse(id, rawFlags, 'FORMERR', undefined, opt ? ourOpt() : undefined) };
  }
  const question = questions[0];
  const q = echoable(question) ? question : undefined;
  if (((rawFlags >> 11) & 0xf) !== 0) return { ok: false, reply: bareResponse(id, rawFlags, 'NOTIMP', q, opt ? ourOpt() : undefined) };
  if (opt && opt.ednsVersion > 0) return { ok: false, reply: bareResponse(id, rawFlags, 'NOERROR', q, ourOpt(BADVERS_EXTENDED)) };
  // A client's EDNS size is taken up to what this server advertises (1232: no IP fragmentation, and
  // an answer at most ~20x a minimal query, not 70x as with 4096).
  const maxUdp = opt ? Math.min(EDNS_UDP_SIZE, Math.max(MIN_UDP_SIZE, opt.udpPayloadSize)) : MIN_UDP_SIZE;
  return { ok: true, id, rawFlags, question, opt, maxUdp };
}

/**
 * Fits an answer into a UDP limit: as is; else without its additional section (allowed without TC);
 * else truncated (TC) with as many whole answer records as fit, as CoreDNS truncates: glibc retries
 * over TCP, and a resolver that does not (musl before 1.2.4) still gets some addresses. dns-packet
 * does not compress names, so answers are larger than a compressing server's.
 */
function fitUdp(packet: dnsPacket.Packet, limit: number): Buffer {
  const full = dnsPacket.encode(packet);
  if (full.length <= limit) return full;
  const opt = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  const lean: dnsPacket.Packet = { ...packet, additionals: opt };
  const leanBuf = dnsPacket.encode(lean);
  if (leanBuf.length <= limit) return leanBuf;
  const answers = packet.answers ?? [];
  const truncated = (n: number): dnsPacket.Packet => ({
    ...lean,
    flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: answers.slice(0, n),
    authorities: [],
  });
  // The most answers that fit (binary search over the count).
  let lo = 0;
  let hi = answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength(truncated(mid)) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return dnsPacket.encode(truncated(lo));
}

/** Entries of the encoded-answer cache before it is emptied (a bound, not a working-set guess). */
const ANSWER_CACHE_MAX = 10_000;
/** Entries one hash bucket may hold: a lookup compares at most this many (names crafted to collide cost no more). */
const ANSWER_CACHE_CHAIN_MAX = 4;

/** 1 for the name bytes the answer cache takes (letters, digits, '-', '_'), 0 for the rest. */
const PLAIN_BYTE = new Uint8Array(256);
/** ASCII lower case of a byte (the others as they are). */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (/^[A-Za-z0-9_-]$/.test(String.fromCharCode(c))) PLAIN_BYTE[c] = 1;
  LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** FNV-1a step. */
function fnv(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

/** The most bytes a plain query may have: a header, a name, type and class, an OPT record with up to 64 bytes of options. */
const PLAIN_QUERY_MAX = 12 + 255 + 4 + 11 + 64;

/**
 * The answer-cache hash of a plain UDP query, or -1 for any other: opcode QUERY, one question of
 * class IN whose name is letters, digits, '-' and '_' only (so ASCII case folding is the whole story),
 * then nothing, or one OPT record (EDNS version 0, its options' bytes exactly its RDATA) and nothing
 * after it. The hash covers what the answer depends on: the lower-cased name and every byte after it
 * (type, class, the whole OPT record: the client's UDP size), and the RD bit (the only query flag the
 * answer echoes); `seed` varies it per server. Read straight from the bytes: no decoding, no string,
 * no allocation.
 */
export function plainQueryHash(raw: Uint8Array, seed = 0x811c9dc5): number {
  const len = raw.length;
  if (len < 17 || len > PLAIN_QUERY_MAX) return -1;
  if ((raw[2]! & 0xf8) !== 0) return -1; // a response, or an opcode other than QUERY
  // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1
  if (raw[4] !== 0 || raw[5] !== 1 || raw[6] !== 0 || raw[7] !== 0 || raw[8] !== 0 || raw[9] !== 0 || raw[10] !== 0 || raw[11]! > 1) return -1;
  let h = fnv(seed, raw[2]! & 1); // RD
  let i = 12;
  for (;;) {
    const l = raw[i];
    if (l === undefined || l > 63) return -1; // cut, or a compression pointer
    h = fnv(h, l);
    i++;
    if (l === 0) break;
    const end = i + l;
    if (end > len) return -1;
    for (; i < end; i++) {
      const c = raw[i]!;
      if (PLAIN_BYTE[c] === 0) return -1;
      h = fnv(h, LOWER[c]!);
    }
  }
  if (i + 4 > len || raw[i + 2] !== 0 || raw[i + 3] !== 1) return -1; // class IN
  const opt = i + 4;
  if (raw[11] === 0) {
    if (opt !== len) return -1; // nothing after the question
  } else {
    // the OPT record: root name, type 41, UDP size, extended RCODE, version 0, flags, RDLENGTH = the rest
    if (opt + 11 > len || raw[opt] !== 0 || raw[opt + 1] !== 0 || raw[opt + 2] !== 41 || raw[opt + 6] !== 0) return -1;
    if (((raw[opt + 9]! << 8) | raw[opt + 10]!) !== len - opt - 11) return -1;
    // options: each code, length and exactly that many bytes, up to the end
    let o = opt + 11;
    while (o < len) {
      if (o + 4 > len) return -1;
      o += 4 + ((raw[o + 2]! << 8) | raw[o + 3]!);
    }
    if (o !== len) return -1;
  }
  for (let j = i; j < len; j++) h = fnv(h, raw[j]!);
  return h & 0x3fffffff; // a small integer: a cheap Map key
}

/** Where the question's name ends in a plain query (plainQueryHash ≥ 0). */
function nameEnd(raw: Uint8Array): number {
  let i = 12;
  while (raw[i] !== 0) i += raw[i]! + 1;
  return i + 1;
}

interface CacheEntry {
  /** The query from its name on: the name lower-cased, then every byte after it as received. */
  readonly question: Buffer;
  /** The length of the name in `question`. */
  readonly nameLength: number;
  readonly rd: number;
  readonly answer: Buffer;
  /** Where the answer holds the asked name in its wire form (the question, owner names). */
  readonly spellings: readonly number[];
  readonly next: CacheEntry | undefined;
  readonly depth: number;
}

/** The name with the case of every ASCII letter swapped. */
function flipCase(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out += String.fromCharCode((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? c ^ 0x20 : c);
  }
  return out;
}

/**
 * The offsets where `answer` carries the wire name of `query` (a plain query) as spelled, found by
 * `flipped`, the answer to the same question with every letter's case swapped: a name copied from
 * the question is there as asked in one and flipped in the other. Undefined when the two answers
 * differ in length (then the answer is not cached).
 */
function spellingOffsets(query: Buffer, answer: Buffer, flipped: Buffer): number[] | undefined {
  if (answer.length !== flipped.length) return undefined;
  const start = 12;
  const n = nameEnd(query) - start;
  const out: number[] = [];
  for (let o = 0; o + n <= answer.length; o++) {
    let j = 0;
    for (; j < n; j++) {
      const c = query[start + j]!;
      const f = PLAIN_BYTE[c] === 1 && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a ? c ^ 0x20 : c;
      if (answer[o + j] !== c || flipped[o + j] !== f) break;
    }
    if (j === n) out.push(o);
  }
  return out;
}

/** Whether a plain query (plainQueryHash ≥ 0) is the entry's, but for its ID and the name's case. */
function sameQuestion(e: CacheEntry, raw: Uint8Array): boolean {
  const q = e.question;
  const n = q.length;
  if (raw.length - 12 !== n || (raw[2]! & 1) !== e.rd) return false;
  const m = e.nameLength;
  for (let j = 0; j < m; j++) if (LOWER[raw[12 + j]!] !== q[j]) return false;
  for (let j = m; j < n; j++) if (raw[12 + j] !== q[j]) return false;
  return true;
}

/**
 * Encoded answers of plain UDP queries for cluster names, by plainQueryHash (a hit is confirmed by
 * comparing the question bytes), valid while the view's generation stays the same. A hit is the
 * stored message with the query's ID and the client's spelling of the name wherever the full path
 * would echo it (the question: resolvers using 0x20 case randomization compare it; owner names):
 * byte for byte what the full path answers.
 */
class AnswerCache {
  private readonly buckets = new Map<number, CacheEntry>();
  private size = 0;
  private generation: number | undefined;
  /** Random per server: which names share a bucket cannot be worked out from outside. */
  private readonly seed = randomBytes(4).readUInt32BE(0);

  constructor(private readonly view: ServiceView) {}

  private current(): boolean {
    const g = this.view.generation?.();
    if (g === undefined) return false;
    if (g !== this.generation) {
      this.buckets.clear();
      this.size = 0;
      this.generation = g;
    }
    return true;
  }

  /** The query's hash here, or -1 when the query is not one the cache takes. */
  hash(query: Uint8Array): number {
    return plainQueryHash(query, this.seed);
  }

  /** The answer to a plain query of hash `h` (≥ 0), or undefined. */
  lookup(h: number, query: Buffer): Buffer | undefined {
    if (!this.current()) return undefined;
    for (let e = this.buckets.get(h); e !== undefined; e = e.next) {
      if (!sameQuestion(e, query)) continue;
      const stored = e.answer;
      const out = Buffer.allocUnsafe(stored.length);
      stored.copy(out);
      out[0] = query[0]!;
      out[1] = query[1]!;
      for (const o of e.spellings) query.copy(out, o, 12, 12 + e.nameLength);
      return out;
    }
    return undefined;
  }

  /**
   * Stores an answer just computed from the view (synchronously, so at its current generation), with
   * the answer to the same question spelled with every letter's case flipped (see spellingOffsets).
   */
  store(h: number, query: Buffer, answer: Buffer, flipped: Buffer): void {
    if (!this.current()) return;
    const spellings = spellingOffsets(query, answer, flipped);
    if (spellings === undefined) return;
    let head = this.buckets.get(h);
    if (head !== undefined && head.depth >= ANSWER_CACHE_CHAIN_MAX) return;
    for (let e = head; e !== undefined; e = e.next) if (sameQuestion(e, query)) return;
    if (this.size >= ANSWER_CACHE_MAX) {
      this.buckets.clear();
      this.size = 0;
      head = undefined;
    }
    const nameLength = nameEnd(query) - 12;
    const question = Buffer.allocUnsafeSlow(query.length - 12);
    for (let j = 0; j < nameLength; j++) question[j] = LOWER[query[12 + j]!]!;
    query.copy(question, nameLength, 12 + nameLength);
    this.buckets.set(h, { question, nameLength, rd: query[2]! & 1, answer, spellings, next: head, depth: (head?.depth ?? 0) + 1 });
    this.size++;
  }
}

/** Starts the server; throws when the resolv.conf cannot be read or the address cannot be bound. */
export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const zone = canonicalName(options.clusterDomain);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(zone)) {
    throw invalidArgument(`cluster DNS: clusterDomain ${JSON.stringify(options.clusterDomain)} is not a DNS name`);
  }
  if (net.isIP(options.host) === 0) throw invalidArgument(`cluster DNS: listen address ${JSON.stringify(options.host)} is not an IP address`);
  const log = options.logger ?? silentLogger;
  const upstreamPort = options.upstreamPort ?? 53;
  const forwarder = new Forwarder({ attemptTimeoutMs: options.upstreamTimeoutMs ?? 2000, maxPending: options.maxPendingForwards ?? 1024 });

  // Upstreams from the resolv.conf, minus this server itself (a loop).
  let upstreams: Upstream[] = [];
  let resolvMtime = -1;
  let lastCheck = 0;
  let bound = { host: options.host, port: options.port };
  const readResolvConf = async (): Promise<void> => {
    const st = await fs.stat(options.resolvConfPath);
    if (st.mtimeMs === resolvMtime) return;
    const fh = await fs.open(options.resolvConfPath, 'r');
    let text: string;
    try {
      const buf = Buffer.alloc(Math.min(RESOLV_CONF_MAX_BYTES, Math.max(0, st.size)));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    resolvMtime = st.mtimeMs;
    upstreams = parseResolvConf(text)
      .nameservers.map((host) => ({ host, port: upstreamPort }))
      .filter((u) => !(u.port === bound.port && (u.host === bound.host || (bound.host === '0.0.0.0' && net.isIP(u.host) === 4))));
    if (upstreams.length === 0) log.warn({ path: options.resolvConfPath }, 'cluster DNS: the resolv.conf names no usable nameserver; names outside the cluster get SERVFAIL');
  };
  const maybeReload = () => {
    const now = Date.now();
    if (now - lastCheck < RESOLV_CONF_CHECK_MS) return;
    lastCheck = now;
    readResolvConf().catch((err) => log.warn({ err: messageOf(err), path: options.resolvConfPath }, 'cluster DNS: re-reading the resolv.conf failed; keeping its last nameservers'));
  };
  try {
    await readResolvConf();
    lastCheck = Date.now();
  } catch (err) {
    throw invalidArgument(`cluster DNS: reading the node's resolv.conf ${options.resolvConfPath}: ${messageOf(err)}`, err);
  }

  const cache = new AnswerCache(options.view);

  const allowSource = options.allowSource ?? (() => true);
  /** Forwards in flight per source address, and the share one source may hold. */
  const forwardsBySource = new Map<string, number>();
  const perSourceForwards = Math.max(1, Math.floor((options.maxPendingForwards ?? 1024) / 4));

  /** Answers one raw query; undefined: send nothing. `cacheHash`: its AnswerCache hash, when ≥ 0 (UDP only). */
  const handle = async (raw: Buffer, transport: 'udp' | 'tcp', source: string, cacheHash = -1): Promise<Buffer | undefined> => {
    const parsed = parseQuery(raw);
    if (!parsed.ok) return parsed.reply;
    const { id, rawFlags, question, opt, maxUdp } = parsed;
    if (!allowSource(source)) return bareResponse(id, rawFlags, 'REFUSED', echoable(question) ? question : undefined, opt ? ourOpt() : undefined);
    const limit = transport === 'udp' ? maxUdp : MAX_MESSAGE;
    const klass = question.class ?? 'IN';
    let answer: ClusterAnswer;
    const name = canonicalName(question.name);
    const inZone = name === zone || name.endsWith(`.${zone}`);
    if ((question.type as string) === 'ANY' && !inZone) {
      // RFC 8482: a minimal answer (one synthesized HINFO), never forwarded (ANY is the amplifier's
      // query of choice). Cluster names answer ANY with their address records (a subset, as allowed).
      return fitUdp(
        {
          id,
          type: 'response',
          flags: echoedFlags(rawFlags) | dnsPacket.RECURSION_AVAILABLE,
          questions: echoable(question) ? [question] : [],
          answers: [{ type: 'HINFO', name: question.name, ttl: 8482, data: { cpu: 'RFC8482', os: '' } }],
          additionals: opt ? [ourOpt()] : [],
        },
        limit,
      );
    }
    if (inZone && options.view.ready?.() === false) {
      // No complete view yet (a DNS process just started, the agent's first snapshot not in): a
      // name may exist that we don't know of. SERVFAIL makes resolvers retry; NXDOMAIN would be final.
      return bareResponse(id, rawFlags, 'SERVFAIL', echoable(question) ? question : undefined, opt ? ourOpt() : undefined);
    }
    if (klass === 'IN' || klass === 'ANY') {
      answer = clusterAnswer(options.view, zone, question.name, question.type);
    } else {
      answer = inZone ? { kind: 'answer', rcode: 'NOTIMP', answers: [], authorities: [], additionals: [] } : { kind: 'forward' };
    }
    if (answer.kind === 'answer') {
      const encode = (q: dnsPacket.Question, a: typeof answer & { kind: 'answer' }) =>
        fitUdp(
          {
            id,
            type: 'response',
            flags: echoedFlags(rawFlags) | dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | RCODE[a.rcode],
            questions: echoable(q) ? [q] : [],
            answers: a.answers,
            authorities: a.authorities,
            additionals: [...a.additionals, ...(opt ? [ourOpt()] : [])],
          },
          limit,
        );
      const reply = encode(question, answer);
      if (cacheHash >= 0) {
        // The answer echoes the asked spelling in its records' names too: the same answer for the
        // name with every letter's case flipped shows where, so that a hit writes its own spelling there.
        const flippedName = flipCase(question.name);
        const other = clusterAnswer(options.view, zone, flippedName, question.type);
        if (other.kind === 'answer') cache.store(cacheHash, raw, reply, encode({ ...question, name: flippedName }, other));
      }
      return reply;
    }
    maybeReload();
    const q = echoable(question) ? question : undefined;
    // one source (a pod asking names whose servers black-hole) cannot take every pending slot
    const mine = forwardsBySource.get(source) ?? 0;
    if (mine >= perSourceForwards) return bareResponse(id, rawFlags, 'SERVFAIL', q, opt ? ourOpt() : undefined);
    forwardsBySource.set(source, mine + 1);
    let reply: Buffer | undefined;
    try {
      reply = transport === 'udp' ? await forwarder.forwardUdp(raw, question, upstreams) : await forwarder.forwardTcp(raw, question, upstreams);
    } finally {
      const n = (forwardsBySource.get(source) ?? 1) - 1;
      if (n > 0) forwardsBySource.set(source, n);
      else forwardsBySource.delete(source);
    }
    if (!reply) return bareResponse(id, rawFlags, 'SERVFAIL', q, opt ? ourOpt() : undefined);
    if (reply.length <= limit) return reply;
    // Larger than the client can take over UDP: send it truncated, the client asks again over TCP.
    try {
      const decoded = dnsPacket.decode(reply);
      return dnsPacket.encode({
        id,
        type: 'response',
        flags: (decoded.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
        questions: decoded.questions,
        additionals: opt ? [ourOpt()] : [],
      });
    } catch {
      return bareResponse(id, rawFlags, 'SERVFAIL', q, opt ? ourOpt() : undefined);
    }
  };

  const tcp = net.createServer();
  tcp.maxConnections = options.maxTcpConnections ?? 256;
  const perSourceTcp = Math.max(1, Math.floor(tcp.maxConnections / 4));
  const tcpBySource = new Map<string, number>();
  const idleMs = options.tcpIdleTimeoutMs ?? 10_000;
  const conns = new Set<net.Socket>();
  let closed = false;

  tcp.on('connection', (sock) => {
    const source = sock.remoteAddress ?? '';
    if (!allowSource(source)) {
      sock.destroy(); // a refused source gets no connection slot (each REFUSED answer would keep it open)
      return;
    }
    const held = tcpBySource.get(source) ?? 0;
    if (held >= perSourceTcp) {
      sock.destroy(); // one source cannot hold every connection (and so stop everyone's TCP retries)
      return;
    }
    tcpBySource.set(source, held + 1);
    conns.add(sock);
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('close', () => {
      conns.delete(sock);
      const n = (tcpBySource.get(source) ?? 1) - 1;
      if (n > 0) tcpBySource.set(source, n);
      else tcpBySource.delete(source);
    });
    let buf: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    const pump = () => {
      while (buf.length >= 2 && inFlight < TCP_MAX_IN_FLIGHT) {
        const len = buf.readUInt16BE(0);
        if (len < 12) {
          sock.destroy(); // no message is shorter than its header: the framing is broken
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        inFlight++;
        handle(msg, 'tcp', source)
          .then(
            (reply) => {
              if (!reply || sock.destroyed) return;
              if (sock.writableLength > TCP_MAX_UNREAD) return sock.destroy();
              const len2 = Buffer.alloc(2);
              len2.writeUInt16BE(reply.length, 0);
              sock.write(Buffer.concat([len2, reply]));
            },
            (err) => log.warn({ err: messageOf(err) }, 'cluster DNS: a TCP query failed'),
          )
          .finally(() => {
            inFlight--;
            if (sock.isPaused()) sock.resume();
            pump();
          });
      }
      if (inFlight >= TCP_MAX_IN_FLIGHT) sock.pause();
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length > TCP_MAX_BUFFERED) return sock.destroy();
      pump();
    });
  });

  const { udp, port: boundPort } = await bindBoth(tcp, options.host, options.port);
  bound = { host: options.host, port: boundPort };
  tcp.on('error', (err) => log.warn({ err: messageOf(err) }, 'cluster DNS: TCP listener error'));
  udp.on('message', (msg, rinfo) => {
    if (msg.length > MAX_UDP_SIZE) return;
    // The fast path: a plain query answered before from the same view, from a source that may ask.
    const h = cache.hash(msg);
    if (h >= 0 && allowSource(rinfo.address)) {
      const hit = cache.lookup(h, msg);
      if (hit !== undefined) {
        if (!closed) udp.send(hit, rinfo.port, rinfo.address);
        return;
      }
    }
    handle(msg, 'udp', rinfo.address, h).then(
      (reply) => {
        if (reply && !closed) udp.send(reply, rinfo.port, rinfo.address);
      },
      (err) => log.warn({ err: messageOf(err) }, 'cluster DNS: a UDP query failed'),
    );
  });
  udp.on('error', (err) => log.warn({ err: messageOf(err) }, 'cluster DNS: UDP socket error'));

  // The loop filter needs the bound port.
  upstreams = upstreams.filter((u) => !(u.port === bound.port && u.host === bound.host));
  log.info({ host: bound.host, port: bound.port, zone, upstreams: upstreams.map((u) => u.host) }, 'cluster DNS listening');

  return {
    host: bound.host,
    port: bound.port,
    upstreams: () => upstreams,
    reloadUpstreams: async () => {
      resolvMtime = -1;
      await readResolvConf();
    },
    close: async () => {
      closed = true;
      forwarder.close();
      for (const s of conns) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/**
 * The UDP socket's "resolver": it only ever sends to the source address of a datagram it received,
 * an IP literal, so the address is passed through at once. (dgram's default, dns.lookup, answers a
 * literal too, but a tick later: a deferred call and a closure per answer.)
 */
function literalLookup(address: string, family: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, family === 6 ? 6 : 4);
}

/** Binds UDP then TCP on the same port; with port 0, retries when the free UDP port is taken on TCP. */
async function bindBoth(tcp: net.Server, host: string, port: number): Promise<{ udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket({ type: net.isIP(host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const udpPort = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: udpPort }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, port: udpPort };
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if (port !== 0 || attempt >= 10) throw err;
    }
  }
}
