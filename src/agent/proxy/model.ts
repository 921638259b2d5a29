/**
 * The service proxy's input model: what one node needs to know to program Services into the kernel
 * (kube-proxy's ServicePort and Endpoint views, reduced to what the nftables rules use). The agent
 * builds it from the scheduler's Services and EndpointSlices; the compiler (compile.ts) turns it into
 * one `nft -f` transaction. IPv4 only for now.
 *
 * Everything here ends up in nftables text, unquoted (nft refuses quoted chain and set names), so
 * every name and address is validated first (validate*), with an error naming the field.
 */
import { isIPv4 } from 'node:net';
import { invalidArgument, ipv4ToNumber, parseIPv4Cidr } from '../../lib/index.js';

export type ProxyProtocol = 'TCP' | 'UDP';

export interface ProxyServicePort {
  /** The port's name; '' for a Service's single unnamed port. */
  name: string;
  /** The port on the ClusterIP. */
  port: number;
  protocol: ProxyProtocol;
  /** Type NodePort: the port opened on every node address. */
  nodePort?: number;
}

export interface ProxyService {
  namespace: string;
  name: string;
  /** An IPv4 address; headless Services ('None') are not the proxy's business and are left out by the caller. */
  clusterIP: string;
  ports: ProxyServicePort[];
  /** sessionAffinity ClientIP with its timeout (spec.sessionAffinityConfig.clientIP.timeoutSeconds, default 10800). */
  sessionAffinity?: { timeoutSeconds: number };
}

/** One address of an EndpointSlice, for one port (the port already resolved from a named targetPort). */
export interface ProxyEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** The endpoints of one service port (merged over the Service's EndpointSlices). */
export interface ProxyServicePortEndpoints {
  namespace: string;
  /** The Service's name (the slices' kubernetes.io/service-name label). */
  service: string;
  /** The service port's name ('' for an unnamed port), as in the slice's ports[].name. */
  portName: string;
  protocol: ProxyProtocol;
  endpoints: ProxyEndpoint[];
}

/** Everything one sync programs. */
export interface ProxyState {
  services: ProxyService[];
  endpoints: ProxyServicePortEndpoints[];
  /** This node's IPv4 addresses: NodePorts answer on each of them. */
  nodeAddresses: string[];
  /**
   * The cluster's pod CIDR (e.g. 10.244.0.0/16): traffic to a ClusterIP from outside it (the node
   * itself, other hosts) is masqueraded so the reply comes back through this node, as kube-proxy's
   * --cluster-cidr. Without it, only hairpin and NodePort traffic is masqueraded.
   */
  clusterCIDR?: string;
}

/** Which table the rules live in: `inet corelet` in the agent, a name of their own in tests. */
export interface ProxyTable {
  family: 'inet' | 'ip';
  name: string;
}

export const DEFAULT_PROXY_TABLE: ProxyTable = { family: 'inet', name: 'corelet' };
/** The packet mark bit asking for masquerade in postrouting (kube-proxy's 0x4000). */
export const MASQUERADE_MARK = 0x4000;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A port name: IANA_SVC_NAME (lowercase letters, digits, '-', at least one letter, ≤ 15). */
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function fail(field: string, what: string): never {
  throw invalidArgument(`${field}: ${what}`);
}

function checkLabel(field: string, v: unknown, max: number): void {
  if (typeof v !== 'string' || v.length > max || !DNS_LABEL.test(v)) {
    fail(field, `${JSON.stringify(v)} is not a DNS label (lowercase letters, digits and '-', at most ${max})`);
  }
}

function checkPort(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) fail(field, `${JSON.stringify(v)} is not a port number (1-65535)`);
}

function checkIPv4(field: string, v: unknown): void {
  if (typeof v !== 'string' || !isIPv4(v)) fail(field, `${JSON.stringify(v)} is not an IPv4 address`);
}

function checkProtocol(field: string, v: unknown): void {
  if (v !== 'TCP' && v !== 'UDP') fail(field, `${JSON.stringify(v)} is not TCP or UDP`);
}

function checkPortName(field: string, v: unknown): void {
  if (v === '') return;
  if (typeof v !== 'string' || v.length > 15 || !PORT_NAME.test(v) || !/[a-z]/.test(v)) {
    fail(field, `${JSON.stringify(v)} is not a port name (lowercase letters, digits and '-', at least one letter, at most 15)`);
  }
}

export function validateProxyTable(t: ProxyTable): void {
  if (t.family !== 'inet' && t.family !== 'ip') fail('table.family', `${JSON.stringify(t.family)} is not inet or ip`);
  if (typeof t.name !== 'string' || !TABLE_NAME.test(t.name)) {
    fail('table.name', `${JSON.stringify(t.name)} is not a table name (a letter, then letters, digits, '_' or '-', at most 64)`);
  }
}

/** An IPv4 CIDR, normalized (host bits cleared): "10.244.3.7/16" → "10.244.0.0/16". */
export function normalizeIPv4Cidr(field: string, v: unknown): string {
  if (typeof v !== 'string') fail(field, `${JSON.stringify(v)} is not a CIDR`);
  const cidr = parseIPv4Cidr(v);
  if (!cidr) fail(field, `${JSON.stringify(v)} is not an IPv4 CIDR (a.b.c.d/n)`);
  return cidr.text;
}

export function validateNodeAddresses(addrs: unknown): void {
  if (!Array.isArray(addrs)) fail('nodeAddresses', 'not a list');
  addrs.forEach((a, i) => checkIPv4(`nodeAddresses[${i}]`, a));
}

/** Throws an InvalidArgument error naming the first bad field of one Service (field paths start at `at`). */
export function validateProxyService(s: ProxyService, at: string): void {
  checkLabel(`${at}.namespace`, s.namespace, 63);
  checkLabel(`${at}.name`, s.name, 63);
  checkIPv4(`${at}.clusterIP`, s.clusterIP);
  if (!Array.isArray(s.ports) || s.ports.length === 0) fail(`${at}.ports`, 'a Service needs at least one port');
  const seen = new Set<string>();
  s.ports.forEach((p, i) => {
    const f = `${at}.ports[${i}]`;
    checkPortName(`${f}.name`, p.name);
    checkPort(`${f}.port`, p.port);
    checkProtocol(`${f}.protocol`, p.protocol);
    if (p.nodePort !== undefined) checkPort(`${f}.nodePort`, p.nodePort);
    for (const key of [`name ${p.name}/${p.protocol}`, `port ${p.port}/${p.protocol}`]) {
      if (seen.has(key)) fail(f, `the ${key} is used by another port of this Service`);
      seen.add(key);
    }
  });
  if (s.sessionAffinity !== undefined) {
    const t = s.sessionAffinity.timeoutSeconds;
    if (!Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) {
      fail(`${at}.sessionAffinity.timeoutSeconds`, `${JSON.stringify(t)} is not between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS}`);
    }
  }
}

export function validateProxyEndpoints(e: ProxyServicePortEndpoints, at: string): void {
  checkLabel(`${at}.namespace`, e.namespace, 63);
  checkLabel(`${at}.service`, e.service, 63);
  checkPortName(`${at}.portName`, e.portName);
  checkProtocol(`${at}.protocol`, e.protocol);
  if (!Array.isArray(e.endpoints)) fail(`${at}.endpoints`, 'not a list');
  e.endpoints.forEach((ep, i) => {
    checkIPv4(`${at}.endpoints[${i}].ip`, ep.ip);
    checkPort(`${at}.endpoints[${i}].port`, ep.port);
    for (const c of ['ready', 'serving', 'terminating'] as const) {
      if (typeof ep[c] !== 'boolean') fail(`${at}.endpoints[${i}].${c}`, 'not true or false');
    }
  });
}

/** The key of one service port: namespace/name/protocol/portName, as in chain names. */
export function servicePortKey(namespace: string, service: string, protocol: ProxyProtocol, portName: string): string {
  return `${namespace}/${service}/${protocol.toLowerCase()}/${portName}`;
}

/**
 * The endpoints that get traffic, as kube-proxy picks them: the ready ones; when none is ready, the
 * serving-and-terminating ones (so a Service whose every pod is shutting down gracefully keeps
 * answering until they stop serving); otherwise none (the Service rejects). Sorted by ip then port
 * and without duplicates (a pod in two slices), so the rules only change when the set does.
 */
export function usedEndpoints(endpoints: readonly ProxyEndpoint[]): ProxyEndpoint[] {
  const ready = endpoints.filter((e) => e.ready);
  const chosen = ready.length > 0 ? ready : endpoints.filter((e) => e.serving && e.terminating);
  const byKey = new Map<string, ProxyEndpoint>();
  for (const e of chosen) byKey.set(`${e.ip}:${e.port}`, e);
  // the address as a number once per endpoint, not per comparison
  const keyed = [...byKey.values()].map((e) => ({ e, n: ipv4ToNumber(e.ip) }));
  keyed.sort((a, b) => a.n - b.n || a.e.port - b.e.port);
  return keyed.map((k) => k.e);
}
