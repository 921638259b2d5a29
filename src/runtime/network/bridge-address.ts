/**
 * Keeping the pod bridge's gateway address in step with the pod CIDR. The CNI bridge plugin
 * (isGateway) gives the bridge the first address of the range on ADD, but refuses to when the
 * bridge already holds another IPv4 address ("already has an IP address different from …"), so
 * after a pod CIDR change every new sandbox failed. corelet re-addresses the bridge itself: the new
 * gateway first (the plugin accepts the bridge once it meets its own address first), then the
 * old gateway addresses whose ranges still hold pods, so pods that kept an old address keep their
 * gateway and run on until they are recreated; an old address without pods is dropped.
 */
import { isIPv4 } from 'node:net';
import { execa } from '../../lib/index.js'; // execa, loaded on first use
import { internal, type Logger } from '../../lib/index.js';

/** An IPv4 address as a 32-bit number. */
function v4(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function v4String(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Whether ip lies in cidr (IPv4 only; false for anything else). */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!isIPv4(ip) || !net || !isIPv4(net) || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(v4(ip) / size) === Math.floor(v4(net) / size);
}

/** The gateway host-local hands out for an IPv4 subnet (its first address), as "ip/prefix". */
export function gatewayAddress(subnet: string): string | undefined {
  const [net, bitsText] = subnet.split('/');
  const bits = Number(bitsText);
  if (!net || !isIPv4(net) || !(bits >= 0 && bits <= 30)) return undefined;
  const size = 2 ** (32 - bits);
  return `${v4String(Math.floor(v4(net) / size) * size + 1)}/${bits}`;
}

/** Whether a bridge address looks like a gateway corelet gave it: the first address of its range. */
function isGatewayAddress(a: string): boolean {
  const [, bits] = a.split('/');
  return gatewayAddress(a) === a && bits !== undefined;
}

/**
 * The IPv4 addresses the bridge should hold, in order: the new gateway, then each current address
 * whose range still has a pod (inUse: pod IPs), and any address that is not a gateway (first address
 * of its range) of ours: an address an admin added stays. Pure, for the decision and its test.
 */
export function plannedBridgeAddresses(current: readonly string[], newGateway: string, inUse: readonly string[]): string[] {
  const keep = current.filter((a) => a !== newGateway && (!isGatewayAddress(a) || inUse.some((ip) => inCidr(ip, a))));
  return [newGateway, ...keep];
}

/** The bridge's IPv4 addresses in the kernel's order and the changes to them: injectable for tests. */
export interface BridgeIp {
  /** "ip/prefix" in the kernel's order, or undefined when there is no such link. */
  list(bridge: string): Promise<string[] | undefined>;
  add(bridge: string, address: string): Promise<void>;
  del(bridge: string, address: string): Promise<void>;
}

/** ip(8). */
export const hostBridgeIp: BridgeIp = {
  async list(bridge) {
    const r = await execa('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge], { reject: false });
    if (r.exitCode !== 0) return undefined;
    return r.stdout
      .split('\n')
      .map((l) => /\binet ([0-9.]+\/\d+)/.exec(l)?.[1])
      .filter((a): a is string => a !== undefined);
  },
  async add(bridge, a) {
    const r = await execa('ip', ['addr', 'add', a, 'dev', bridge], { reject: false });
    if (r.exitCode !== 0 && !/File exists/.test(r.stderr)) throw internal(`adding ${a} to bridge ${bridge}: ${r.stderr.trim()}`);
  },
  async del(bridge, a) {
    const r = await execa('ip', ['addr', 'del', a, 'dev', bridge], { reject: false });
    if (r.exitCode !== 0 && !/Cannot assign/.test(r.stderr)) throw internal(`removing ${a} from bridge ${bridge}: ${r.stderr.trim()}`);
  },
};

/** The host side of re-addressing, injectable so tests never touch a real bridge. */
export interface BridgeAddressPort {
  ensureGateway(bridge: string, subnet: string, inUse: readonly string[], logger: Logger): Promise<boolean>;
}

/** The real one (ip(8)). */
export const hostBridgeAddresses: BridgeAddressPort = { ensureGateway: (b, s, u, l) => ensureBridgeGateway(b, s, u, l) };

/**
 * Gives the bridge the gateway of subnet as its first IPv4 address, keeping old gateways whose
 * ranges still have pods (inUse) and addresses that are not gateways of ours. A missing bridge is
 * left to the plugin; IPv6 subnets need nothing (the plugin allows several non-overlapping IPv6
 * addresses). Returns whether it changed.
 *
 * Crash-safe order: the missing addresses are added first, then the unwanted old gateways removed,
 * and only then are the addresses listed before the new gateway removed and added again (the
 * kernel appends) to make the gateway first. Killed at any point, the bridge still holds the new
 * gateway or the old ones, and the next start finishes the job.
 */
export async function ensureBridgeGateway(
  bridge: string,
  subnet: string,
  inUse: readonly string[],
  logger: Logger,
  ip: BridgeIp = hostBridgeIp,
): Promise<boolean> {
  const gateway = gatewayAddress(subnet);
  if (!gateway) return false;
  const current = await ip.list(bridge);
  if (!current) return false;
  const planned = plannedBridgeAddresses(current, gateway, inUse);
  if (planned.length === current.length && planned.every((a, i) => a === current[i])) return false;
  for (const a of planned) if (!current.includes(a)) await ip.add(bridge, a);
  for (const a of current) if (!planned.includes(a)) await ip.del(bridge, a);
  const now = (await ip.list(bridge)) ?? [];
  const at = now.indexOf(gateway);
  for (const a of now.slice(0, Math.max(at, 0))) {
    await ip.del(bridge, a);
    await ip.add(bridge, a);
  }
  logger.info({ bridge, from: current, to: planned }, 'pod bridge re-addressed for the pod CIDR');
  return true;
}
