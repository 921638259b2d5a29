/**
 * Linux capabilities: names, the default set a container gets, and the CRI add/drop rules.
 */
import { failedPrecondition, invalidArgument } from '../../lib/index.js';
import type { OciCapabilities } from './types.js';

/** Every Linux capability up to CAP_CHECKPOINT_RESTORE (40), indexed by capability number. */
export const ALL_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
]);

/** The capabilities of an unprivileged container, the set containerd and Docker grant. */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

const CAP_NUMBER = new Map(ALL_CAPABILITIES.map((name, i) => [name, i]));

/**
 * A CRI capability name ("net_admin", "NET_ADMIN", or already "CAP_NET_ADMIN") as its OCI name.
 * Throws InvalidArgument for names the kernel does not know.
 */
export function toCapabilityName(name: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAP_NUMBER.has(full)) throw invalidArgument(`unknown capability "${name}"`);
  return full;
}

/** Sorts capability names by capability number and removes duplicates. */
export function sortCapabilities(caps: Iterable<string>): string[] {
  return [...new Set(caps)].sort((a, b) => (CAP_NUMBER.get(a) ?? 99) - (CAP_NUMBER.get(b) ?? 99));
}

/**
 * Decodes a capability mask as /proc/PID/status prints it (CapBnd: 000001fffeffffff) into names.
 */
export function parseCapabilityMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** The CRI capability request of a container. */
export interface CapabilityRequest {
  add?: readonly string[];
  drop?: readonly string[];
  addAmbient?: readonly string[];
}

export interface CapabilityOptions {
  privileged: boolean;
  /** The process runs as uid 0. */
  root: boolean;
  /** What the runtime itself holds; default: all. */
  available?: readonly string[];
}

const isAll = (name: string) => name.trim().toUpperCase() === 'ALL';

/** runc cannot raise a capability its own bounding set lacks: say so here rather than fail in runc. */
function requireAvailable(cap: string, available: ReadonlySet<string>): string {
  if (!available.has(cap)) {
    throw failedPrecondition(`capability ${cap} is not available to the runtime (missing from its bounding set)`);
  }
  return cap;
}

/**
 * The container's capability sets, following containerd: start from the default set; "ALL" in add
 * grants every capability and "ALL" in drop removes every one, before individual adds and then
 * drops are applied (so add [ALL] drop [CHOWN] is everything but CHOWN). Privileged grants all.
 * Ambient capabilities are also put in the inheritable, permitted, effective and bounding sets, as
 * the kernel requires. A non-root process keeps only its ambient capabilities across execve, so
 * its effective and permitted sets say exactly that.
 */
export function computeCapabilities(req: CapabilityRequest, opts: CapabilityOptions): OciCapabilities {
  const available = opts.available ?? ALL_CAPABILITIES;
  const availableSet = new Set(available);
  const add = req.add ?? [];
  const drop = req.drop ?? [];
  let caps: Set<string>;
  if (opts.privileged) {
    caps = new Set(available);
  } else {
    // A default the runtime lacks is silently left out: that is the host's limit, not the request's.
    caps = new Set(DEFAULT_CAPABILITIES.filter((c) => availableSet.has(c)));
    if (add.some(isAll)) caps = new Set(available);
    if (drop.some(isAll)) caps.clear();
    for (const c of add) if (!isAll(c)) caps.add(requireAvailable(toCapabilityName(c), availableSet));
    for (const c of drop) if (!isAll(c)) caps.delete(toCapabilityName(c));
  }
  const ambient = (req.addAmbient ?? []).map((c) => requireAvailable(toCapabilityName(c), availableSet));
  for (const c of ambient) caps.add(c);
  const bounding = sortCapabilities(caps);
  const amb = sortCapabilities(ambient);
  return {
    bounding,
    effective: opts.root ? bounding : amb,
    permitted: opts.root ? bounding : amb,
    inheritable: amb,
    ambient: amb,
  };
}
