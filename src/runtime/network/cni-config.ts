import { readdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { errnoCode, invalidArgument } from '../../lib/index.js';

/** CNI spec versions this executor speaks (all share the 0.3+ result layout). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** One plugin's configuration object, as written in the file (type plus plugin-specific keys). */
export interface PluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A network configuration list (a .conf file is turned into a list of one). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: PluginConfig[];
}

/** A config list with the file it came from. */
export interface LoadedNetworkConfig {
  file: string;
  config: NetworkConfigList;
}

/** File name of the config written when the conf dir holds none. */
export const DEFAULT_CONFIG_FILE = '10-corelet.conflist';

const CONFIG_EXTENSIONS = ['.conf', '.conflist', '.json'];
// Plugin types become file names under the bin dirs: no path separators, no dot-dot.
const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPlugin(raw: unknown, where: string): PluginConfig {
  if (!isObject(raw)) throw invalidArgument(`${where}: a plugin must be a JSON object`);
  if (typeof raw.type !== 'string' || !PLUGIN_TYPE.test(raw.type)) {
    throw invalidArgument(`${where}: "type" must name a plugin binary, got ${JSON.stringify(raw.type)}`);
  }
  if (raw.capabilities !== undefined && !isObject(raw.capabilities)) {
    throw invalidArgument(`${where}: "capabilities" must be an object`);
  }
  if (raw.ipam !== undefined) {
    if (!isObject(raw.ipam)) throw invalidArgument(`${where}: "ipam" must be an object`);
    if (raw.ipam.type !== undefined && (typeof raw.ipam.type !== 'string' || !PLUGIN_TYPE.test(raw.ipam.type))) {
      throw invalidArgument(`${where}: "ipam.type" must name a plugin binary, got ${JSON.stringify(raw.ipam.type)}`);
    }
  }
  return raw as PluginConfig;
}

/**
 * Parses one CNI config file's text. A document with a `plugins` array is a config list; one with a
 * `type` is a single plugin config and becomes a list of one (the spec's .conf form), whatever the
 * file's extension says.
 */
export function parseNetworkConfig(text: string, source: string): NetworkConfigList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalidArgument(`${source}: expected a JSON object`);
  if (typeof doc.name !== 'string' || doc.name === '') throw invalidArgument(`${source}: "name" is missing`);
  if (typeof doc.cniVersion !== 'string') throw invalidArgument(`${source}: "cniVersion" is missing`);
  if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(doc.cniVersion)) {
    throw invalidArgument(
      `${source}: cniVersion ${doc.cniVersion} is not supported (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`,
    );
  }
  let plugins: PluginConfig[];
  if (doc.plugins !== undefined) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) {
      throw invalidArgument(`${source}: "plugins" must be a non-empty array`);
    }
    plugins = doc.plugins.map((p, i) => checkPlugin(p, `${source}: plugins[${i}]`));
  } else if (doc.type !== undefined) {
    plugins = [checkPlugin(doc, source)];
  } else {
    throw invalidArgument(`${source}: neither "plugins" (a config list) nor "type" (a single plugin config)`);
  }
  return { cniVersion: doc.cniVersion, name: doc.name, plugins };
}

/** The config file names of a conf dir listing, in the order CNI picks them (lexical). */
export function configFileNames(entries: readonly string[]): string[] {
  return entries.filter((e) => CONFIG_EXTENSIONS.some((ext) => e.endsWith(ext))).sort();
}

/**
 * Loads the network config from confDir: the lexically first config file that parses. Files that do
 * not parse are skipped and reported in `skipped`, so one broken file does not hide a good one and
 * the status message can say what is wrong. `loaded` is undefined when no file is usable.
 */
export async function loadNetworkConfig(
  confDir: string,
): Promise<{ loaded?: LoadedNetworkConfig; skipped: string[]; fileCount: number }> {
  let entries: string[];
  try {
    entries = await readdir(confDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { skipped: [], fileCount: 0 };
    throw err;
  }
  const names = configFileNames(entries);
  const skipped: string[] = [];
  for (const name of names) {
    const file = join(confDir, name);
    try {
      const config = parseNetworkConfig(await readFile(file, 'utf8'), file);
      return { loaded: { file, config }, skipped, fileCount: names.length };
    } catch (err) {
      // A folder or unreadable file named *.conf is skipped like a malformed one.
      skipped.push((err as Error).message);
    }
  }
  return { skipped, fileCount: names.length };
}

/** What the default config list is built from. */
export interface DefaultConfigOptions {
  networkName: string;
  bridgeName: string;
  /** Pod subnet in CIDR form: IPv4 or IPv6. */
  subnet: string;
  /** host-local's allocation folder; each runtime gets its own so they never share IPAM. */
  ipamDataDir: string;
}

/** Checks a CIDR ("10.89.0.0/16", "fd00::/64"); returns it unchanged. */
export function checkCidr(cidr: string, what: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? isIP(m[1]!) : 0;
  const bits = m ? Number(m[2]) : -1;
  if (family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw invalidArgument(`${what} must be a CIDR such as 10.89.0.0/16, got "${cidr}"`);
  }
  return cidr;
}

/** Checks a Linux interface name (at most 15 bytes, no slash or whitespace). */
export function checkInterfaceName(name: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(name)) {
    throw invalidArgument(`${what} must be a network interface name of 1 to 15 letters, digits, ".", "_" or "-", got "${name}"`);
  }
  return name;
}

/**
 * The config list corelet writes when the conf dir has none: a bridge with host-local IPAM (the node
 * is the gateway and masquerades pod traffic leaving it; hairpin lets a pod reach itself through its
 * own service or host port) followed by portmap for hostPort mappings. Loopback is not in the list:
 * the netns is created with lo already up.
 */
export function defaultNetworkConfig(opts: DefaultConfigOptions): NetworkConfigList {
  const v6 = isIP(opts.subnet.split('/')[0]!) === 6;
  return {
    cniVersion: '1.0.0',
    name: opts.networkName,
    plugins: [
      {
        type: 'bridge',
        bridge: opts.bridgeName,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: opts.subnet }]],
          routes: [{ dst: v6 ? '::/0' : '0.0.0.0/0' }],
          dataDir: opts.ipamDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** Every binary a config list names: each plugin's type and its IPAM plugin's type, in order, once. */
export function pluginBinaryNames(config: NetworkConfigList): string[] {
  const names: string[] = [];
  for (const p of config.plugins) {
    for (const n of [p.type, p.ipam?.type]) {
      if (typeof n === 'string' && n !== '' && !names.includes(n)) names.push(n);
    }
  }
  return names;
}
