/**
 * Pod sysctls: only namespaced ones are allowed, and only when the pod owns the namespace they
 * belong to (the same safety rule the kubelet applies).
 */
import { invalidArgument } from '../../lib/index.js';

/**
 * "net/ipv4/conf/eth0.100/rp_filter" → "net.ipv4.conf.eth0/100.rp_filter": a name whose first
 * separator is "/" uses the slash convention, in which "." and "/" swap meaning.
 */
export function normalizeSysctlName(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  if (slash < 0 || (dot >= 0 && dot < slash)) return name;
  return name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

/** Which namespace a sysctl lives in, or undefined when it is not namespaced (node-wide). */
export function sysctlNamespace(name: string): 'ipc' | 'network' | undefined {
  if (name === 'kernel.sem' || name.startsWith('kernel.shm') || name.startsWith('kernel.msg') || name.startsWith('fs.mqueue.')) return 'ipc';
  if (name.startsWith('net.')) return 'network';
  return undefined;
}

/**
 * Validates and normalises the pod's sysctls. Node-wide sysctls are InvalidArgument, as are network
 * ones for a host-network pod and IPC ones for a host-IPC pod (they would change the node).
 */
export function validateSysctls(
  sysctls: Readonly<Record<string, string>> | undefined,
  opts: { hostNetwork: boolean; hostIpc: boolean },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(sysctls ?? {})) {
    const name = normalizeSysctlName(rawName.trim());
    if (!/^[a-z0-9_]+(\.[A-Za-z0-9_\-/:@+]+)+$/.test(name)) throw invalidArgument(`invalid sysctl name "${rawName}"`);
    const ns = sysctlNamespace(name);
    if (!ns) throw invalidArgument(`sysctl "${rawName}" is not namespaced and cannot be set for a pod`);
    if (ns === 'network' && opts.hostNetwork) throw invalidArgument(`sysctl "${rawName}" is not allowed: the pod uses the host network namespace`);
    if (ns === 'ipc' && opts.hostIpc) throw invalidArgument(`sysctl "${rawName}" is not allowed: the pod uses the host IPC namespace`);
    out[name] = value;
  }
  return out;
}
