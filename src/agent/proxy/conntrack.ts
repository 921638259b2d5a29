/**
 * Stale UDP conntrack entries. UDP has no connection end: once a client's flow to a ClusterIP or a
 * NodePort is DNATed to an endpoint, conntrack keeps sending it there (every packet refreshes the
 * entry) even after the endpoint left the rules, so the client talks to a dead address for ever.
 * After each sync, as kube-proxy does, the entries are deleted with the `conntrack` CLI:
 *   - an endpoint that got traffic and no longer does (removed, not ready, Service deleted): the
 *     entries to the ClusterIP:port, and to the NodePort, whose reply comes from that endpoint;
 *   - a UDP service port that had no endpoint and now has one: every entry to its ClusterIP:port
 *     and NodePort (a client that sent while it was rejected may hold an entry not NATed at all).
 * TCP needs nothing: a connection to a gone endpoint fails, and the client reconnects.
 */
import { execa, unavailable } from '../../lib/index.js';
import type { ResolvedState } from './compile.js';

export interface ConntrackFlush {
  /** The original destination (a ClusterIP); absent for a NodePort (any node address). */
  origDst?: string;
  /** The original destination port (the service port or the NodePort). */
  origPortDst: number;
  /** Only entries whose reply comes from this endpoint address; absent: every entry to the port. */
  replySrc?: string;
}

/**
 * Where UDP traffic is DNATed to: for each destination (a ClusterIP:port, or a NodePort on any node
 * address), the endpoint IPs. Absent or empty: no endpoint (the traffic is rejected).
 */
export type UdpDestinations = Map<string, { origDst?: string; port: number; endpoints: Set<string> }>;

const clusterKey = (ip: string, port: number) => `${ip}:${port}`;
const nodePortKey = (port: number) => `nodeport:${port}`;

function addTo(out: UdpDestinations, key: string, dst: { origDst?: string; port: number }, ips: Iterable<string>): void {
  let d = out.get(key);
  if (!d) out.set(key, (d = { ...dst, endpoints: new Set() }));
  for (const ip of ips) d.endpoints.add(ip);
}

/** The UDP destinations of a resolved state (what a sync programs). */
export function udpDestinations(state: ResolvedState): UdpDestinations {
  const out: UdpDestinations = new Map();
  for (const p of state.ports) {
    if (p.port.protocol !== 'UDP') continue;
    const ips = p.endpoints.map((e) => e.ip);
    addTo(out, clusterKey(p.service.clusterIP, p.port.port), { origDst: p.service.clusterIP, port: p.port.port }, ips);
    if (p.port.nodePort !== undefined) addTo(out, nodePortKey(p.port.nodePort), { port: p.port.nodePort }, ips);
  }
  return out;
}

type Json = unknown;
const concat = (v: Json): Json[] | undefined => {
  const c = (v as { concat?: unknown } | null)?.concat;
  return Array.isArray(c) ? c : undefined;
};
const gotoTarget = (v: Json): string | undefined => {
  const t = (v as { goto?: { target?: unknown } } | null)?.goto?.target;
  return typeof t === 'string' ? t : undefined;
};
const isUdp = (p: Json) => p === 'udp' || p === 17;
const portOf = (p: Json) => (typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536 ? p : undefined);
const ipOf = (a: Json) => (typeof a === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(a) ? a : undefined);

/**
 * The UDP destinations the proxy's table programs now, from `nft -j list table` (the full listing,
 * with elements): what an earlier agent left, so that the first sync after a restart deletes only
 * the conntrack entries its changes call for (and none when nothing changed). Read from
 * @backends(-udp) / @nodeport-backends(-udp) (spread service ports) and, for ClientIP affinity, @service-ips /
 * @service-nodeports pointing at service-KEY / external-KEY, whose endpoints are the chains
 * endpoint-KEY__IP/PORT. What it cannot read is left out (its traffic is taken as rejected).
 */
export function udpDestinationsOfTable(json: string): UdpDestinations {
  const out: UdpDestinations = new Map();
  const doc = JSON.parse(json) as { nftables?: Record<string, Json>[] };
  const maps = new Map<string, Json[]>();
  const affinityEndpoints = new Map<string, string[]>(); // KEY → endpoint IPs
  for (const item of doc.nftables ?? []) {
    const map = item.map as { name?: unknown; elem?: unknown } | undefined;
    if (map && typeof map.name === 'string' && Array.isArray(map.elem)) maps.set(map.name, map.elem as Json[]);
    const chain = (item.chain as { name?: unknown } | undefined)?.name;
    if (typeof chain === 'string' && chain.startsWith('endpoint-')) {
      const at = chain.lastIndexOf('__');
      const ip = at < 0 ? undefined : ipOf(chain.slice(at + 2).split('/')[0]);
      if (ip === undefined) continue;
      const key = chain.slice('endpoint-'.length, at);
      affinityEndpoints.set(key, [...(affinityEndpoints.get(key) ?? []), ip]);
    }
  }
  const elems = (name: string) => (maps.get(name) ?? []).filter(Array.isArray).map((e) => [concat((e as Json[])[0]), (e as Json[])[1]] as const);
  for (const [k, v] of [...elems('backends-udp'), ...elems('backends')]) {
    const [cip, proto, port] = [ipOf(k?.[0]), k?.[1], portOf(k?.[2])];
    const ep = ipOf(concat(v)?.[0]);
    if (cip !== undefined && isUdp(proto) && port !== undefined && ep !== undefined) addTo(out, clusterKey(cip, port), { origDst: cip, port }, [ep]);
  }
  for (const [k, v] of [...elems('nodeport-backends-udp'), ...elems('nodeport-backends')]) {
    const [proto, port] = [k?.[0], portOf(k?.[1])];
    const ep = ipOf(concat(v)?.[0]);
    if (isUdp(proto) && port !== undefined && ep !== undefined) addTo(out, nodePortKey(port), { port }, [ep]);
  }
  for (const [k, v] of elems('service-ips')) {
    const [cip, proto, port] = [ipOf(k?.[0]), k?.[1], portOf(k?.[2])];
    const target = gotoTarget(v);
    if (cip === undefined || !isUdp(proto) || port === undefined || !target?.startsWith('service-')) continue;
    addTo(out, clusterKey(cip, port), { origDst: cip, port }, affinityEndpoints.get(target.slice('service-'.length)) ?? []);
  }
  for (const [k, v] of elems('service-nodeports')) {
    const [proto, port] = [k?.[0], portOf(k?.[1])];
    const target = gotoTarget(v);
    if (!isUdp(proto) || port === undefined || !target?.startsWith('external-')) continue;
    addTo(out, nodePortKey(port), { port }, affinityEndpoints.get(target.slice('external-'.length)) ?? []);
  }
  return out;
}

/**
 * The conntrack deletions that the change from `before` to `after` calls for, without duplicates.
 * `before`: the last sync's state, or what the table held (udpDestinationsOfTable) at the first
 * sync; undefined: nothing was programmed.
 */
export function staleUdpConntrack(before: ResolvedState | UdpDestinations | undefined, after: ResolvedState | UdpDestinations): ConntrackFlush[] {
  const prev = before === undefined ? new Map() : before instanceof Map ? before : udpDestinations(before);
  const next = after instanceof Map ? after : udpDestinations(after);
  const out = new Map<string, ConntrackFlush>();
  const add = (f: ConntrackFlush) => out.set(conntrackArgs(f).join(' '), f);
  const dst = (d: { origDst?: string; port: number }) => ({ ...(d.origDst === undefined ? {} : { origDst: d.origDst }), origPortDst: d.port });
  for (const [key, old] of prev as UdpDestinations) {
    const now = next.get(key);
    for (const ip of old.endpoints) if (now?.endpoints.has(ip) !== true) add({ ...dst(old), replySrc: ip });
  }
  for (const [key, now] of next) {
    if (now.endpoints.size === 0) continue;
    if ((prev.get(key)?.endpoints.size ?? 0) > 0) continue;
    add(dst(now));
  }
  return [...out.values()];
}

/** The `conntrack` arguments deleting one kind of entry. */
export function conntrackArgs(f: ConntrackFlush): string[] {
  return [
    '-D',
    '-p',
    'udp',
    ...(f.origDst === undefined ? [] : ['--orig-dst', f.origDst]),
    '--orig-port-dst',
    String(f.origPortDst),
    ...(f.replySrc === undefined ? [] : ['--reply-src', f.replySrc]),
  ];
}

/**
 * Deletes the entries with the `conntrack` CLI (`command`: the argv prefix, e.g. ['ip', 'netns',
 * 'exec', NS, 'conntrack']): all in one run, `conntrack -R -` reading one `-D ...` line per
 * deletion from stdin (conntrack-tools ≥ 1.4.6; a line matching nothing is no error there). When
 * that run fails (an older conntrack without -R), one run per deletion, where exit 1 with "0 flow
 * entries" (nothing matched) is no error. Throws Unavailable when the command is missing
 * (install-deps.sh installs the Debian package conntrack).
 */
export async function flushConntrack(entries: readonly ConntrackFlush[], command: readonly string[] = ['conntrack'], timeoutMs = 30_000): Promise<void> {
  const [file, ...prefix] = command;
  if (file === undefined) throw unavailable('flushConntrack: an empty conntrack command');
  const missing = (r: { code?: string; stderr?: unknown }) => r.code === 'ENOENT' || /exec of .* failed: No such file/.test(String(r.stderr));
  const notInstalled = () => unavailable(`${file} is not installed (the Debian package conntrack): stale UDP entries not deleted`);
  if (entries.length > 1) {
    const input = entries.map((f) => `${conntrackArgs(f).join(' ')}\n`).join('');
    const r = await execa(file, [...prefix, '-R', '-'], { reject: false, input, stdout: 'ignore', timeout: timeoutMs, forceKillAfterDelay: 2000 });
    if (missing(r as { code?: string; stderr?: unknown })) throw notInstalled();
    if (r.timedOut) throw unavailable(`${command.join(' ')} -R - did not finish in ${timeoutMs} ms; killed`);
    if (r.exitCode === 0) return;
  }
  for (const f of entries) {
    const r = await execa(file, [...prefix, ...conntrackArgs(f)], { reject: false, timeout: timeoutMs, forceKillAfterDelay: 2000 });
    if (missing(r as { code?: string; stderr?: unknown })) throw notInstalled();
    if (r.timedOut) throw unavailable(`${command.join(' ')} ${conntrackArgs(f).join(' ')} did not finish in ${timeoutMs} ms; killed`);
    if (r.exitCode === 0 || (r.exitCode === 1 && /0 flow entries/.test(String(r.stderr)))) continue;
    throw unavailable(`${command.join(' ')} ${conntrackArgs(f).join(' ')} failed (exit ${r.exitCode}): ${String(r.stderr).trim()}`);
  }
}
