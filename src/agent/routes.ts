/**
 * Host-gw pod routes: for every other node, "its pod CIDR via its InternalIP" in this node's main
 * routing table, so a pod here reaches a pod there by its IP with no tunnel (the nodes must share a
 * link, as with flannel's host-gw backend). The scheduler's `peers` message says what the nodes are;
 * {@link planRoutes} (pure) turns that and the current table into changes; {@link IpRouteTable} is the
 * `ip` adapter. Our routes carry their own protocol number, so we only ever change or remove routes
 * we added, never a route someone else set up.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { execa, messageOf } from '../lib/index.js'; // execa, loaded on first use
import type { PeerNode } from '../api/index.js';
import { CoreletError, silentLogger, type Logger } from '../lib/index.js';

/**
 * The routing protocol number our routes carry (`ip route ... proto 199`). Not 188: that one is
 * "ospf" in /etc/iproute2/rt_protos, so an OSPF daemon's routes would look like ours. 199 is
 * unassigned there.
 */
export const ROUTE_PROTOCOL = 199;

/** A route this agent wants: pods in dst (a CIDR) are reached via a peer node's address. */
export interface PodRoute {
  dst: string;
  via: string;
}

/** A route of the main table as listed: ours when it carries {@link ROUTE_PROTOCOL}. */
export interface HostRoute {
  dst: string;
  via?: string;
  ours: boolean;
}

/** What this node is, so it does not route to itself. */
export interface RouteSelf {
  nodeName: string;
  /** This host's own addresses: a peer at one of them is on this machine, its pods already local. */
  addresses: ReadonlySet<string>;
}

/**
 * The routes to the peers' pod CIDRs, skipping this node (by name or by one of its addresses), peers
 * whose CIDR and address are of different IP families, and a CIDR claimed twice (the first name wins).
 */
export function wantedRoutes(peers: readonly PeerNode[], self: RouteSelf): PodRoute[] {
  const out = new Map<string, PodRoute>();
  const sorted = [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of sorted) {
    if (peer.name === self.nodeName || self.addresses.has(peer.address)) continue;
    const dst = normalizeDst(peer.podCIDR);
    const cidrFamily = isIP(dst.slice(0, dst.indexOf('/')));
    if (cidrFamily === 0 || cidrFamily !== isIP(peer.address) || out.has(dst)) continue;
    out.set(dst, { dst, via: peer.address });
  }
  return [...out.values()];
}

/** What {@link planRoutes} decided. */
export interface RoutePlan {
  /** Ours to add or point at a new address (`ip route replace`). */
  replace: PodRoute[];
  /** Ours that no peer wants any more. */
  remove: HostRoute[];
  /** Wanted, but someone else's route already holds that destination: left alone. */
  conflicts: PodRoute[];
}

/**
 * The changes that make the table hold exactly the wanted routes among ours. Routes that are not
 * ours are never replaced or removed; a wanted destination they hold is reported as a conflict.
 */
export function planRoutes(wanted: readonly PodRoute[], current: readonly HostRoute[]): RoutePlan {
  const foreign = new Set(current.filter((r) => !r.ours).map((r) => normalizeDst(r.dst)));
  const ours = current.filter((r) => r.ours);
  const plan: RoutePlan = { replace: [], remove: [], conflicts: [] };
  const wantedDsts = new Set<string>();
  for (const w of wanted) {
    const dst = normalizeDst(w.dst);
    wantedDsts.add(dst);
    if (foreign.has(dst)) plan.conflicts.push(w);
    else if (!ours.some((r) => normalizeDst(r.dst) === dst && r.via === w.via)) plan.replace.push(w);
  }
  for (const r of ours) if (!wantedDsts.has(normalizeDst(r.dst))) plan.remove.push(r);
  return plan;
}

/** "10.0.0.5" → "10.0.0.5/32" (ip lists host routes without the prefix). */
function normalizeDst(dst: string): string {
  if (dst.includes('/') || dst === 'default') return dst;
  return `${dst}/${isIP(dst) === 6 ? 128 : 32}`;
}

/**
 * Parses `ip -j route show` output into routes (ours: protocol {@link ROUTE_PROTOCOL}). Throws
 * Internal when it is not the JSON list ip prints.
 */
export function parseIpRoutes(text: string): HostRoute[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch (err) {
    throw new CoreletError('Internal', `cannot read the output of "ip -j route show": ${execErrorMessage(err)}`);
  }
  if (!Array.isArray(rows)) throw new CoreletError('Internal', 'cannot read the output of "ip -j route show": expected a JSON list');
  return rows.flatMap((row: unknown) => {
    if (typeof row !== 'object' || row === null) return [];
    const r = row as { dst?: unknown; gateway?: unknown; protocol?: unknown };
    if (typeof r.dst !== 'string') return [];
    return [{
      dst: normalizeDst(r.dst),
      ...(typeof r.gateway === 'string' ? { via: r.gateway } : {}),
      ours: String(r.protocol) === String(ROUTE_PROTOCOL),
    }];
  });
}

/** The routing table and forwarding switch of one network namespace (the adapter's interface). */
export interface RouteTable {
  /** Every route of the main table. */
  list(): Promise<HostRoute[]>;
  /** Adds route, or points an existing one of ours at its new address, tagged as ours. */
  replace(route: PodRoute): Promise<void>;
  /** Removes one of our routes; a route already gone is fine. */
  remove(route: HostRoute): Promise<void>;
  /** Turns on IPv4 forwarding, so traffic between pods and other nodes passes through this host. */
  enableForwarding(): Promise<void>;
}

/** Options of {@link IpRouteTable}. */
export interface IpRouteTableOptions {
  /** A named network namespace (under /run/netns) to work in instead of the agent's own. */
  netns?: string;
  /** The ip binary (default "ip" from PATH). */
  ip?: string;
}

/** {@link RouteTable} through iproute2's `ip` command. */
export class IpRouteTable implements RouteTable {
  private readonly ipBin: string;

  constructor(private readonly opts: IpRouteTableOptions = {}) {
    this.ipBin = opts.ip ?? 'ip';
  }

  async list(): Promise<HostRoute[]> {
    // Our protocol has no name in rt_protos, so ip prints it as the number.
    return parseIpRoutes(await this.ip(['-j', 'route', 'show', 'table', 'main']));
  }

  async replace(route: PodRoute): Promise<void> {
    await this.ip(['route', 'replace', route.dst, 'via', route.via, 'proto', String(ROUTE_PROTOCOL)]).catch((err: unknown) => {
      throw new CoreletError(
        'Unavailable',
        `cannot route ${route.dst} via ${route.via}: ${execErrorMessage(err)}; the peer's address must be on a network this node is directly attached to (use --node-ip for the right interface)`,
        { cause: err },
      );
    });
  }

  async remove(route: HostRoute): Promise<void> {
    const args = ['route', 'del', route.dst, ...(route.via ? ['via', route.via] : []), 'proto', String(ROUTE_PROTOCOL)];
    await this.ip(args).catch((err: unknown) => {
      // "No such process" is netlink's ESRCH: the route is already gone.
      if (/No such process/i.test(execErrorMessage(err))) return;
      throw new CoreletError('Unavailable', `cannot remove the route to ${route.dst}: ${execErrorMessage(err)}`, { cause: err });
    });
  }

  async enableForwarding(): Promise<void> {
    if (this.opts.netns) {
      await execa(this.ipBin, ['netns', 'exec', this.opts.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      return;
    }
    const file = '/proc/sys/net/ipv4/ip_forward';
    if ((await readFile(file, 'utf8')).trim() !== '1') await writeFile(file, '1\n');
  }

  private async ip(args: string[]): Promise<string> {
    const full = this.opts.netns ? ['-n', this.opts.netns, ...args] : args;
    const { stdout } = await execa(this.ipBin, full);
    return stdout;
  }
}

function execErrorMessage(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  if (typeof e?.stderr === 'string' && e.stderr.trim() !== '') return e.stderr.trim();
  return messageOf(err);
}

/** The addresses of this host's interfaces. */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) out.add(a.address);
  return out;
}

/** What one {@link PodRoutes.sync} did. */
export interface RouteSyncResult {
  added: PodRoute[];
  removed: HostRoute[];
  conflicts: PodRoute[];
  /** Changes that failed, with why (they are tried again on the next sync). */
  failed: { route: PodRoute | HostRoute; error: string }[];
}

/** Options of {@link PodRoutes}. */
export interface PodRoutesOptions {
  table: RouteTable;
  nodeName: string;
  /** This host's addresses, read at each sync (default: the interfaces' addresses). */
  localAddresses?: () => ReadonlySet<string>;
  logger?: Logger;
}

/**
 * Keeps the node's routes to its peers' pod CIDRs in line with the latest `peers` list: syncs run one
 * at a time, in order, and {@link PodRoutes.resyncEvery} re-applies the last list now and then (a
 * link that went down takes its routes with it).
 */
export class PodRoutes {
  private last: readonly PeerNode[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(private readonly opts: PodRoutesOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  /** Makes our routes match peers (after any sync already running). */
  sync(peers: readonly PeerNode[]): Promise<RouteSyncResult> {
    this.last = peers;
    const run = this.queue.then(() => this.apply(peers));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Re-applies the last peers list every intervalMs until {@link PodRoutes.stop}. */
  resyncEvery(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.last) this.sync(this.last).catch((err) => this.logger.warn({ err: execErrorMessage(err) }, 'pod route resync failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async apply(peers: readonly PeerNode[]): Promise<RouteSyncResult> {
    const { table } = this.opts;
    const self: RouteSelf = { nodeName: this.opts.nodeName, addresses: (this.opts.localAddresses ?? localAddresses)() };
    const wanted = wantedRoutes(peers, self);
    await table.enableForwarding();
    const plan = planRoutes(wanted, await table.list());
    const result: RouteSyncResult = { added: [], removed: [], conflicts: plan.conflicts, failed: [] };
    for (const c of plan.conflicts) {
      this.logger.warn({ dst: c.dst, via: c.via }, `not routing ${c.dst} via ${c.via}: a route to ${c.dst} that corelet did not add exists; remove it if pods there should be reached through the peer node`);
    }
    // Each change on its own: one that fails is reported and tried again on the next sync.
    const change = async <R extends PodRoute | HostRoute>(routes: readonly R[], op: (r: R) => Promise<void>, done: R[]) => {
      for (const r of routes) {
        try {
          await op(r);
          done.push(r);
        } catch (err) {
          result.failed.push({ route: r, error: execErrorMessage(err) });
        }
      }
    };
    await change(plan.remove, (r) => table.remove(r), result.removed);
    await change(plan.replace, (r) => table.replace(r), result.added);
    for (const f of result.failed) this.logger.warn({ dst: f.route.dst }, f.error);
    if (result.added.length + result.removed.length > 0) {
      this.logger.info({ added: result.added.map((r) => `${r.dst} via ${r.via}`), removed: result.removed.map((r) => r.dst) }, 'pod routes updated');
    }
    return result;
  }
}
