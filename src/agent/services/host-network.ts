/**
 * The node-side bits the Services data plane owns outside its nft table: the cluster DNS address on
 * `lo` (NodeLocal DNSCache's way, with `lo` instead of a dummy link), and the conntrack entries of
 * the table's cluster IPs and node ports when the node stops for good.
 */
import { execa, messageOf, unavailable } from '../../lib/index.js';

/** Runs a command; ENOENT becomes Unavailable naming the Debian package. */
async function run(argv: readonly string[], pkg: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  if (file === undefined) throw unavailable('an empty command');
  const r = await execa(file, args, { reject: false, timeout: 30_000, forceKillAfterDelay: 2000 });
  if ((r as { code?: string }).code === 'ENOENT') throw unavailable(`${file} is not installed (the Debian package ${pkg})`);
  if (r.timedOut) throw unavailable(`${argv.join(' ')} did not finish in 30 s; killed`);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Whether `ip` is on `lo` (as a /32). */
export async function hasLoopbackAddress(ip: string, ipCmd: readonly string[] = ['ip']): Promise<boolean> {
  const r = await run([...ipCmd, '-4', '-o', 'addr', 'show', 'dev', 'lo'], 'iproute2');
  if (r.exitCode !== 0) throw unavailable(`ip addr show dev lo failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n').some((line) => line.includes(` inet ${ip}/32 `));
}

/** Puts `ip`/32 on `lo` unless it is there; true when it was added. */
export async function ensureLoopbackAddress(ip: string, ipCmd: readonly string[] = ['ip']): Promise<boolean> {
  if (await hasLoopbackAddress(ip, ipCmd)) return false;
  const r = await run([...ipCmd, 'addr', 'add', `${ip}/32`, 'dev', 'lo'], 'iproute2');
  if (r.exitCode !== 0 && !/File exists/.test(r.stderr)) throw unavailable(`cannot put the cluster DNS address ${ip}/32 on lo: ${r.stderr.trim()}`);
  return r.exitCode === 0;
}

/** Removes `ip`/32 from `lo`; a missing address is no error. */
export async function removeLoopbackAddress(ip: string, ipCmd: readonly string[] = ['ip']): Promise<void> {
  if (!(await hasLoopbackAddress(ip, ipCmd))) return;
  const r = await run([...ipCmd, 'addr', 'del', `${ip}/32`, 'dev', 'lo'], 'iproute2');
  if (r.exitCode !== 0 && !/Cannot assign requested address/.test(r.stderr)) throw unavailable(`cannot remove ${ip}/32 from lo: ${r.stderr.trim()}`);
}

/** The cluster IPs and node ports a proxy table holds (from `nft -j list table` output). */
export function tableServiceAddresses(json: string): { clusterIPs: string[]; nodePorts: { protocol: string; port: number }[] } {
  const out = { clusterIPs: [] as string[], nodePorts: [] as { protocol: string; port: number }[] };
  const doc = JSON.parse(json) as { nftables?: Record<string, { name?: unknown; elem?: unknown }>[] };
  for (const item of doc.nftables ?? []) {
    const set = item.set;
    if (set?.name === 'cluster-ips' && Array.isArray(set.elem)) {
      for (const e of set.elem) if (typeof e === 'string') out.clusterIPs.push(e);
    }
    const map = item.map;
    if (map?.name === 'service-nodeports' && Array.isArray(map.elem)) {
      // each element: [ {concat: ["tcp", 30080]}, {goto: …} ]
      for (const e of map.elem as unknown[]) {
        const concat = Array.isArray(e) ? (e[0] as { concat?: unknown } | undefined)?.concat : undefined;
        if (Array.isArray(concat) && typeof concat[0] === 'string' && typeof concat[1] === 'number') out.nodePorts.push({ protocol: concat[0], port: concat[1] });
      }
    }
  }
  return out;
}

/**
 * Deletes the conntrack entries of connections to these cluster IPs (every protocol) and node ports
 * (NATed ones only: a node port's entries are those whose destination was rewritten). "0 flow
 * entries" is no error.
 */
export async function flushServiceConntrack(addrs: { clusterIPs: readonly string[]; nodePorts: readonly { protocol: string; port: number }[] }, conntrack: readonly string[] = ['conntrack']): Promise<void> {
  const runs: string[][] = [
    ...addrs.clusterIPs.map((ip) => ['-D', '--orig-dst', ip]),
    ...addrs.nodePorts.map((p) => ['-D', '-p', p.protocol, '--orig-port-dst', String(p.port), '--status', 'DST_NAT']),
  ];
  // every run is tried: one failure (an address conntrack refuses) must not leave the others' entries
  const failures: string[] = [];
  for (const args of runs) {
    let r;
    try {
      r = await run([...conntrack, ...args], 'conntrack');
    } catch (err) {
      if (/is not installed/.test(messageOf(err))) throw err; // the same for every run
      failures.push(messageOf(err));
      continue;
    }
    if (r.exitCode === 0 || (r.exitCode === 1 && /0 flow entries/.test(r.stderr))) continue;
    failures.push(`${[...conntrack, ...args].join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  if (failures.length > 0) throw unavailable(`${failures.length} of ${runs.length} conntrack deletions failed: ${failures.join('; ')}`);
}
