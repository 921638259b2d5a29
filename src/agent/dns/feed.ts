/**
 * The feed between the agent and the node's DNS process (dns-process.ts): newline-delimited JSON over
 * a unix socket in the agent's state folder. The DNS process speaks first (`hello`: its protocol,
 * build and settings, so the agent can tell whether to keep it); the agent then sends a snapshot of
 * its view (`begin`, the objects as `service`/`slice` operations, `commit`: the DNS process answers
 * from the old view until the commit, then swaps), then one operation per view write (the
 * MemoryServiceView operations) and `allow` whenever the accepted sources change.
 *
 * The socket is a trust boundary (local, root only, but still another process): every line is
 * parsed and checked field by field here, a bad line names its field, and the DNS process drops the
 * connection on it (the agent reconnects and sends a fresh snapshot).
 */
import { isIPv4 } from 'node:net';
import { invalidArgument, parseIPv4Cidr, type IPv4Cidr } from '../../lib/index.js';
import type { DnsEndpoint, DnsPort, DnsServiceSpec, MemoryServiceView } from './service-view.js';

/** Bumped on any incompatible change of the messages below. */
export const FEED_PROTOCOL = 1;
/** The longest line either side accepts (a slice of 1,000 endpoints is about 100 KiB). */
export const FEED_MAX_LINE = 4 * 1024 * 1024;
/** Objects one snapshot may hold before the DNS process gives up on it (a bound, not a size guess). */
export const FEED_MAX_SNAPSHOT_OPS = 1_000_000;

/** What the DNS process runs with: the agent replaces a process whose settings or build differ. */
export interface DnsProcessSettings {
  readonly host: string;
  readonly port: number;
  readonly clusterDomain: string;
  readonly resolvConf: string;
}

/** DNS process → agent, once per connection. */
export interface HelloMessage {
  readonly op: 'hello';
  readonly protocol: number;
  readonly build: string;
  readonly pid: number;
  readonly settings: DnsProcessSettings;
}

/** Agent → DNS process. */
export type FeedOp =
  | { readonly op: 'begin' }
  | { readonly op: 'commit' }
  | { readonly op: 'service'; readonly spec: DnsServiceSpec }
  | { readonly op: 'delete-service'; readonly namespace: string; readonly name: string }
  | { readonly op: 'slice'; readonly namespace: string; readonly service: string; readonly slice: string; readonly endpoints: readonly DnsEndpoint[] }
  | { readonly op: 'delete-slice'; readonly namespace: string; readonly slice: string }
  /** The sources (IPv4 CIDRs) the DNS server answers besides the node's own addresses. */
  | { readonly op: 'allow'; readonly cidrs: readonly string[] }
  /** The DNS process exits (the agent replaces it, or the node stops for good). */
  | { readonly op: 'shutdown' };

const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

type Json = Record<string, unknown>;

function obj(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`${field} must be an object`);
  return v as Json;
}

function str(o: Json, key: string, field: string, re: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || !re.test(v)) throw invalidArgument(`${field}.${key} must match ${re.source}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

function arr(o: Json, key: string, field: string, max: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw invalidArgument(`${field}.${key} must be an array`);
  if (v.length > max) throw invalidArgument(`${field}.${key} has ${v.length} entries, at most ${max}`);
  return v;
}

function ports(o: Json, field: string): DnsPort[] {
  return arr(o, 'ports', field, 256).map((p, i) => {
    const f = `${field}.ports[${i}]`;
    const po = obj(p, f);
    const port = po.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(`${f}.port must be 1..65535, got ${JSON.stringify(port)}`);
    if (typeof po.protocol !== 'string' || !PROTOCOLS.has(po.protocol)) throw invalidArgument(`${f}.protocol must be TCP, UDP or SCTP, got ${JSON.stringify(po.protocol)}`);
    const name = po.name === undefined ? undefined : str(po, 'name', f, PORT_NAME);
    return { ...(name !== undefined ? { name } : {}), port, protocol: po.protocol as DnsPort['protocol'] };
  });
}

function ipv4(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isIPv4(v)) throw invalidArgument(`${field} must be an IPv4 address, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

/** `a.b.c.d/n`, normalized to its network address. */
export function parseCidr(v: unknown, field: string): IPv4Cidr {
  const cidr = typeof v === 'string' ? parseIPv4Cidr(v) : undefined;
  if (!cidr) throw invalidArgument(`${field} must be an IPv4 CIDR such as 10.244.0.0/16, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return cidr;
}

/** Parses and checks one line from the agent; throws InvalidArgument naming the field. */
export function parseFeedOp(line: string): FeedOp {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw invalidArgument('feed message: not JSON');
  }
  const o = obj(v, 'message');
  switch (o.op) {
    case 'begin':
    case 'commit':
    case 'shutdown':
      return { op: o.op };
    case 'service': {
      const s = obj(o.spec, 'service.spec');
      const clusterIP = s.clusterIP === null ? null : ipv4(s.clusterIP, 'service.spec.clusterIP');
      return {
        op: 'service',
        spec: { namespace: str(s, 'namespace', 'service.spec', OBJECT_NAME), name: str(s, 'name', 'service.spec', OBJECT_NAME), clusterIP, ports: ports(s, 'service.spec') },
      };
    }
    case 'delete-service':
      return { op: 'delete-service', namespace: str(o, 'namespace', 'delete-service', OBJECT_NAME), name: str(o, 'name', 'delete-service', OBJECT_NAME) };
    case 'slice': {
      const endpoints = arr(o, 'endpoints', 'slice', 100_000).map((e, i) => {
        const f = `slice.endpoints[${i}]`;
        const eo = obj(e, f);
        const hostname = eo.hostname === undefined ? undefined : str(eo, 'hostname', f, HOSTNAME);
        return { ip: ipv4(eo.ip, `${f}.ip`), ...(hostname !== undefined ? { hostname } : {}), ports: ports(eo, f) };
      });
      return {
        op: 'slice',
        namespace: str(o, 'namespace', 'slice', OBJECT_NAME),
        service: str(o, 'service', 'slice', OBJECT_NAME),
        slice: str(o, 'slice', 'slice', OBJECT_NAME),
        endpoints,
      };
    }
    case 'delete-slice':
      return { op: 'delete-slice', namespace: str(o, 'namespace', 'delete-slice', OBJECT_NAME), slice: str(o, 'slice', 'delete-slice', OBJECT_NAME) };
    case 'allow':
      return { op: 'allow', cidrs: arr(o, 'cidrs', 'allow', 256).map((c, i) => parseCidr(c, `allow.cidrs[${i}]`).text) };
    default:
      throw invalidArgument(`message.op must be begin, commit, service, delete-service, slice, delete-slice, allow or shutdown, got ${JSON.stringify(o.op)?.slice(0, 40)}`);
  }
}

/** Parses and checks the DNS process's hello (the agent's side of the boundary). */
export function parseHello(line: string): HelloMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw invalidArgument('DNS process hello: not JSON');
  }
  const o = obj(v, 'hello');
  if (o.op !== 'hello') throw invalidArgument(`hello.op must be hello, got ${JSON.stringify(o.op)?.slice(0, 40)}`);
  if (typeof o.protocol !== 'number' || typeof o.build !== 'string' || typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid < 1) {
    throw invalidArgument('hello must carry protocol (number), build (string) and pid (positive integer)');
  }
  const s = obj(o.settings, 'hello.settings');
  if (typeof s.host !== 'string' || typeof s.port !== 'number' || typeof s.clusterDomain !== 'string' || typeof s.resolvConf !== 'string') {
    throw invalidArgument('hello.settings must carry host, port, clusterDomain and resolvConf');
  }
  return { op: 'hello', protocol: o.protocol, build: o.build, pid: o.pid, settings: { host: s.host, port: s.port, clusterDomain: s.clusterDomain, resolvConf: s.resolvConf } };
}

/** Applies a view operation (not begin/commit/allow/shutdown) to a view. */
export function applyFeedOp(view: MemoryServiceView, op: FeedOp): void {
  switch (op.op) {
    case 'service':
      return view.setService(op.spec);
    case 'delete-service':
      return view.deleteService(op.namespace, op.name);
    case 'slice':
      return view.setEndpointSlice(op.namespace, op.service, op.slice, op.endpoints);
    case 'delete-slice':
      return view.deleteEndpointSlice(op.namespace, op.slice);
    default:
      return;
  }
}

/** The snapshot of a view as feed lines: begin, its objects, commit. */
export function* snapshotOps(view: MemoryServiceView): Generator<FeedOp> {
  yield { op: 'begin' };
  const snap = view.snapshot();
  for (const spec of snap.services) yield { op: 'service', spec };
  for (const s of snap.slices) yield { op: 'slice', ...s };
  yield { op: 'commit' };
}

/**
 * Splits a byte stream into lines, at most `max` characters each (a longer line is an error: the
 * caller drops the connection).
 */
export class LineSplitter {
  private buf = '';
  constructor(private readonly max = FEED_MAX_LINE) {}

  push(chunk: string): string[] {
    this.buf += chunk;
    const parts = this.buf.split('\n');
    this.buf = parts.pop()!;
    if (this.buf.length > this.max || parts.some((p) => p.length > this.max)) throw invalidArgument(`feed message: a line longer than ${this.max} characters`);
    return parts.filter((p) => p !== '');
  }
}
