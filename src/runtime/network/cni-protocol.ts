/**
 * The CNI protocol as pure functions: the environment and stdin a plugin gets, chaining of a config
 * list (name, cniVersion, prevResult, runtimeConfig), and reading what a plugin prints back.
 */
import { isIP } from 'node:net';
import { CoreletError, invalidArgument, type ErrorKind } from '../../lib/index.js';
import type { NetworkConfigList, PluginConfig } from './cni-config.js';
import type { CniInterface, CniIpConfig, CniResult, PodNetworkArgs, PortMapping } from './types.js';

/** The interface name the pod's network device gets inside its netns. */
export const POD_IFNAME = 'eth0';

export type CniCommand = 'ADD' | 'DEL';

/** What one invocation of a config list is about (the CNI "runtime" side). */
export interface CniRuntimeArgs {
  containerId: string;
  /** Path of the netns; '' on DEL when it is already gone (plugins must then release what they can). */
  netns: string;
  ifName: string;
  /** The CNI_ARGS string. */
  args: string;
  /** Capability values; a plugin gets only those it declares in `capabilities`. */
  runtimeConfig: Record<string, unknown>;
}

/** The portmap plugin's runtimeConfig entry. */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

// CNI spec: a container id is alphanumerics plus "_", "." and "-". It also names our cache file.
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Checks a sandbox id can be a CNI container id (and a file name); returns it. */
export function checkContainerId(id: string): string {
  if (!CONTAINER_ID.test(id) || id.length > 255) {
    throw invalidArgument(`sandbox id "${id}" is not a valid CNI container id (letters, digits, "_", ".", "-")`);
  }
  return id;
}

/**
 * The CNI_ARGS string Kubernetes runtimes pass: pod namespace, name, infra (sandbox) container id
 * and UID, plus IgnoreUnknown=1 so plugins that do not know these keys accept them.
 */
export function buildCniArgs(pod: Pick<PodNetworkArgs, 'podNamespace' | 'podName' | 'sandboxId' | 'podUid'>): string {
  const pairs: [string, string][] = [
    ['K8S_POD_NAMESPACE', pod.podNamespace],
    ['K8S_POD_NAME', pod.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.sandboxId],
    ['K8S_POD_UID', pod.podUid],
    ['IgnoreUnknown', '1'],
  ];
  for (const [key, value] of pairs) {
    // ";" separates pairs and "=" key from value: either inside a value would change its meaning.
    if (/[;=\0]/.test(value)) throw invalidArgument(`${key} "${value}" must not contain ";", "=" or NUL`);
  }
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

/** The environment variables of one plugin invocation. */
export function cniEnv(command: CniCommand, rt: CniRuntimeArgs, binDirs: readonly string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifName,
    CNI_ARGS: rt.args,
    CNI_PATH: binDirs.join(':'),
  };
}

/**
 * Port mappings as the portMappings capability wants them: only those published on the host
 * (hostPort > 0), lower-case protocol, hostIP only when one is set.
 */
export function portMappingsCapability(mappings: readonly PortMapping[]): CniPortMapping[] {
  const out: CniPortMapping[] = [];
  for (const m of mappings) {
    const protocol = m.protocol.toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') {
      throw invalidArgument(`port mapping protocol must be TCP, UDP or SCTP, got "${m.protocol}"`);
    }
    const inRange = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
    if (!inRange(m.containerPort)) throw invalidArgument(`container port ${m.containerPort} is not in 1..65535`);
    if (m.hostPort === 0) continue;
    if (!inRange(m.hostPort)) throw invalidArgument(`host port ${m.hostPort} is not in 0..65535`);
    if (m.hostIp && isIP(m.hostIp) === 0) throw invalidArgument(`host IP "${m.hostIp}" is not an IP address`);
    out.push({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol,
      ...(m.hostIp ? { hostIP: m.hostIp } : {}),
    });
  }
  return out;
}

/** The runtimeConfig values corelet offers: port mappings when the pod publishes any. */
export function runtimeConfigFor(mappings: readonly PortMapping[]): Record<string, unknown> {
  const portMappings = portMappingsCapability(mappings);
  return portMappings.length > 0 ? { portMappings } : {};
}

/**
 * The JSON one plugin of a list gets on stdin: its own config plus the list's name and cniVersion,
 * the previous result when there is one, and runtimeConfig holding only the capabilities it
 * declares.
 */
export function pluginStdin(
  list: NetworkConfigList,
  plugin: PluginConfig,
  prevResult: unknown,
  runtimeConfig: Record<string, unknown>,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const offered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(runtimeConfig)) {
    if (plugin.capabilities?.[key] === true) offered[key] = value;
  }
  if (Object.keys(offered).length > 0) conf.runtimeConfig = offered;
  return conf;
}

/** True when a CNI version passes the cached ADD result to DEL (0.4.0 and later). */
export function delTakesPrevResult(cniVersion: string): boolean {
  return cniVersion === '0.4.0' || cniVersion.startsWith('1.');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a plugin's ADD result (0.3.x, 0.4.0 and 1.0.0 share the layout); throws on anything else. */
export function parseCniResult(raw: unknown, source: string): CniResult {
  const bad = (why: string) => new CoreletError('Internal', `${source}: invalid CNI result: ${why}`);
  if (!isObject(raw)) throw bad('not a JSON object');
  if (typeof raw.cniVersion !== 'string') throw bad('"cniVersion" is missing');
  const interfaces: CniInterface[] = [];
  if (raw.interfaces !== undefined) {
    if (!Array.isArray(raw.interfaces)) throw bad('"interfaces" is not an array');
    for (const i of raw.interfaces) {
      if (!isObject(i) || typeof i.name !== 'string') throw bad('an interface has no "name"');
      interfaces.push({
        name: i.name,
        ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
        ...(typeof i.mtu === 'number' ? { mtu: i.mtu } : {}),
        ...(typeof i.sandbox === 'string' ? { sandbox: i.sandbox } : {}),
      });
    }
  }
  const ips: CniIpConfig[] = [];
  if (raw.ips !== undefined) {
    if (!Array.isArray(raw.ips)) throw bad('"ips" is not an array');
    for (const ip of raw.ips) {
      if (!isObject(ip) || typeof ip.address !== 'string' || isIP(ip.address.split('/')[0]!) === 0) {
        throw bad(`an ips entry has no valid "address": ${JSON.stringify(ip)}`);
      }
      ips.push({
        address: ip.address,
        ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}),
        ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
      });
    }
  }
  return { cniVersion: raw.cniVersion, interfaces, ips };
}

/**
 * The pod's addresses from a result: those on ifName inside the sandbox (or not tied to an
 * interface), without prefix length, IPv4 before IPv6 so the first one is the CRI pod IP.
 */
export function podIps(result: CniResult, ifName: string): string[] {
  const ips: string[] = [];
  for (const ip of result.ips) {
    if (ip.interface !== undefined) {
      const iface = result.interfaces[ip.interface];
      // An index pointing at a host-side interface (the bridge, the veth peer) is not the pod's.
      if (iface && (iface.name !== ifName || !iface.sandbox)) continue;
    }
    const addr = ip.address.split('/')[0]!;
    if (!ips.includes(addr)) ips.push(addr);
  }
  return [...ips.filter((a) => isIP(a) === 4), ...ips.filter((a) => isIP(a) === 6)];
}

const CNI_ERROR_NAMES: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
};

/** A failed plugin invocation, with the CNI error fields when the plugin printed them. */
export class CniPluginError extends CoreletError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly plugin: string,
    readonly command: CniCommand,
    /** CNI error code from the plugin's error JSON, if it printed one. */
    readonly code: number | undefined,
    readonly details: string,
  ) {
    super(kind, message);
    this.name = 'CniPluginError';
  }
}

/** What running a plugin binary gave. */
export interface PluginOutput {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function clip(s: string, max = 2000): string {
  const t = s.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * Turns a failed invocation into a clear error: the spec's {code, msg, details} JSON on stdout when
 * the plugin printed one, else its exit status and stderr (plugins log there).
 */
export function pluginFailure(plugin: string, command: CniCommand, out: PluginOutput): CniPluginError {
  if (out.timedOut) {
    return new CniPluginError('DeadlineExceeded', `CNI plugin ${plugin} ${command} timed out`, plugin, command, undefined, clip(out.stderr));
  }
  let doc: unknown;
  try {
    doc = JSON.parse(out.stdout);
  } catch {
    doc = undefined;
  }
  if (isObject(doc) && typeof doc.code === 'number' && typeof doc.msg === 'string') {
    const details = typeof doc.details === 'string' ? doc.details : '';
    const name = CNI_ERROR_NAMES[doc.code];
    const message =
      `CNI plugin ${plugin} ${command} failed: ${doc.msg}` +
      (details ? ` (${details})` : '') +
      ` [CNI error ${doc.code}${name ? `: ${name}` : ''}]`;
    return new CniPluginError(doc.code === 11 ? 'Unavailable' : 'Internal', message, plugin, command, doc.code, details);
  }
  const output = clip(out.stderr) || clip(out.stdout) || 'no output';
  return new CniPluginError(
    'Internal',
    `CNI plugin ${plugin} ${command} failed with exit status ${out.exitCode ?? 'unknown'}: ${output}`,
    plugin,
    command,
    undefined,
    output,
  );
}
