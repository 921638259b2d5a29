/**
 * Works around a known gap in the bridge and ptp plugins (containernetworking/plugins#810): a DEL
 * without a netns releases the IP but leaves the per-pod masquerade chain in the nat table, because
 * the plugin learns the pod's addresses from the interface it can no longer see. We know them from
 * the cached ADD result, so we remove that chain the way the plugin would have.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { execa } from '../../lib/index.js'; // execa, loaded on first use
import type { Logger } from '../../lib/index.js';
import type { NetworkConfigList } from './cni-config.js';

/** Name of the per-pod chain the bridge/ptp plugins create for ipMasq ("CNI-" + 24 hex digits). */
export function ipMasqChainName(networkName: string, containerId: string): string {
  return `CNI-${createHash('sha512').update(networkName + containerId).digest('hex').slice(0, 24)}`;
}

/** The rule comment those plugins put on the per-pod rules. */
export function ipMasqComment(networkName: string, containerId: string): string {
  return `name: "${networkName}" id: "${containerId}"`;
}

/** True when the list has a plugin known to leave its ipMasq chain behind on a netns-less DEL. */
export function leaksIpMasqWithoutNetns(list: NetworkConfigList): boolean {
  return list.plugins.some((p) => (p.type === 'bridge' || p.type === 'ptp') && p.ipMasq === true);
}

/**
 * Deletes the POSTROUTING jump for each pod address and the per-pod chain. Every step may find
 * nothing (the plugin or a reboot already cleaned up); failures are logged, never thrown, as this
 * is best-effort tidying after a successful DEL.
 */
export async function removeIpMasqChain(networkName: string, containerId: string, ips: readonly string[], logger: Logger): Promise<void> {
  const chain = ipMasqChainName(networkName, containerId);
  const comment = ipMasqComment(networkName, containerId);
  for (const [tool, family] of [['iptables', 4], ['ip6tables', 6]] as const) {
    const addrs = ips.filter((ip) => isIP(ip) === family);
    if (addrs.length === 0) continue;
    const steps = [
      ...addrs.map((ip) => ['-t', 'nat', '-D', 'POSTROUTING', '-s', ip, '-j', chain, '-m', 'comment', '--comment', comment]),
      ['-t', 'nat', '-F', chain],
      ['-t', 'nat', '-X', chain],
    ];
    for (const args of steps) {
      const r = await execa(tool, ['-w', ...args], { reject: false });
      if (r.exitCode !== 0) logger.debug({ tool, args, stderr: String(r.stderr).trim() }, 'ipMasq cleanup step found nothing to do');
    }
  }
}
