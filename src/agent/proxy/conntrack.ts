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
import type { ResolvedServicePort, ResolvedState } from './compile.js';

export interface ConntrackFlush {
  /** The original destination (a ClusterIP); absent for a NodePort (any node address). */
  origDst?: string;
  /** The original destination port (the service port or the NodePort). */
  origPortDst: number;
  /** Only entries whose reply comes from this endpoint address; absent: every entry to the port. */
  replySrc?: string;
}

interface UdpPortView {
  clusterIP: string;
  port: number;
  nodePort?: number;
  endpoints: Set<string>;
}

function udpView(ports: readonly ResolvedServicePort[]): Map<string, UdpPortView> {
  const out = new Map<string, UdpPortView>();
  for (const p of ports) {
    if (p.port.protocol !== 'UDP') continue;
    out.set(p.key, {
      clusterIP: p.service.clusterIP,
      port: p.port.port,
      ...(p.port.nodePort === undefined ? {} : { nodePort: p.port.nodePort }),
      endpoints: new Set(p.endpoints.map((e) => e.ip)),
    });
  }
  return out;
}

/** The conntrack deletions that the change from `before` to `after` (two resolved states) calls for, without duplicates. */
export function staleUdpConntrack(before: ResolvedState | undefined, after: ResolvedState): ConntrackFlush[] {
  const prev = udpView(before?.ports ?? []);
  const next = udpView(after.ports);
  const out = new Map<string, ConntrackFlush>();
  const add = (f: ConntrackFlush) => out.set(conntrackArgs(f).join(' '), f);
  for (const [key, old] of prev) {
    const now = next.get(key);
    for (const ip of old.endpoints) {
      if (now?.endpoints.has(ip) === true && now.clusterIP === old.clusterIP) continue;
      add({ origDst: old.clusterIP, origPortDst: old.port, replySrc: ip });
      if (old.nodePort !== undefined) add({ origPortDst: old.nodePort, replySrc: ip });
    }
  }
  for (const [key, now] of next) {
    if (now.endpoints.size === 0) continue;
    const old = prev.get(key);
    if (old !== undefined && old.endpoints.size > 0) continue;
    add({ origDst: now.clusterIP, origPortDst: now.port });
    if (now.nodePort !== undefined) add({ origPortDst: now.nodePort });
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
 * 'exec', NS, 'conntrack']). conntrack exits 1 when nothing matched, which is no error here. Throws
 * Unavailable when the command is missing (install-deps.sh installs the Debian package conntrack).
 */
export async function flushConntrack(entries: readonly ConntrackFlush[], command: readonly string[] = ['conntrack']): Promise<void> {
  const [file, ...prefix] = command;
  if (file === undefined) throw unavailable('flushConntrack: an empty conntrack command');
  for (const f of entries) {
    const r = await execa(file, [...prefix, ...conntrackArgs(f)], { reject: false });
    if ((r as { code?: string }).code === 'ENOENT' || /exec of .* failed: No such file/.test(String(r.stderr))) {
      throw unavailable(`${file} is not installed (the Debian package conntrack): stale UDP entries not deleted`);
    }
    if (r.exitCode === 0 || (r.exitCode === 1 && /0 flow entries/.test(String(r.stderr)))) continue;
    throw unavailable(`${command.join(' ')} ${conntrackArgs(f).join(' ')} failed (exit ${r.exitCode}): ${String(r.stderr).trim()}`);
  }
}
