import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errnoCode, invalidArgument, NODE_PATHS } from '../lib/index.js';
import { memoryBytes } from '../api/index.js';
import { detectCgroupMode, type CgroupMode } from '../host/index.js';
import { tryNormalizeReference } from './image/reference.js';
import { defaultCgroupDriver, parseCgroupDriver, parseSliceParent, refuseSliceUnderCgroupfs, type CgroupDriver } from '../host/index.js';

/** Default places, as a node daemon installed on a host uses them. */
export const DEFAULTS = {
  socket: NODE_PATHS.runtimeSocket,
  root: NODE_PATHS.runtimeRoot,
  state: NODE_PATHS.runtimeState,
  config: NODE_PATHS.runtimeConfig,
  registries: NODE_PATHS.registriesConfig,
  cniConfDir: NODE_PATHS.cniConfDir,
  cniBinDirs: NODE_PATHS.cniBinDirs,
  podSubnet: '10.89.0.0/16',
  bridge: 'corelet0',
  pauseImage: 'registry.k8s.io/pause:3.10',
  conmon: 'conmon',
  cgroupRoot: NODE_PATHS.cgroupRoot,
  netnsDir: NODE_PATHS.netnsDir,
} as const;

/** The runtime's configuration, compiled once at startup; nothing else reads env or files for it. */
export interface RuntimeConfig {
  readonly socket: string;
  /** Persistent state: images, sandbox and container records, CNI cache and IPAM. */
  readonly root: string;
  /** Volatile state (tmpfs): runc's state, conmon sockets and exit files. */
  readonly state: string;
  /** The OCI runtime; chosenBy says where the choice came from (logged once at start). */
  readonly ociRuntime: { readonly name: 'runc' | 'crun'; readonly path: string; readonly chosenBy?: string };
  readonly conmonPath: string;
  readonly registriesFile: string;
  readonly cni: {
    readonly confDir: string;
    readonly binDirs: readonly string[];
    readonly podSubnet: string;
    readonly bridge: string;
  };
  /** Image name reported for sandboxes; the pause rootfs itself is built in. */
  readonly pauseImage: string;
  /** Folder holding the built-in pause rootfs (rootfs/pause). */
  readonly pauseRootfs: string;
  readonly cgroupRoot: string;
  /**
   * Who makes the pods' cgroups: cgroupfs (runc writes folders; absent means this) or systemd (runc
   * and crun run with --systemd-cgroup: a container is the scope corelet-<id>.scope in its pod's
   * slice).
   */
  readonly cgroupDriver?: CgroupDriver;
  /** Why that driver: the flag, the config file, or which default. */
  readonly cgroupDriverChosenBy?: string;
  /**
   * Parent for pods whose request names none: a cgroupfs path (each pod gets PARENT/<id>), or under
   * systemd a slice (each pod gets its own slice in it, "corelet.slice" → corelet-pod<id>.slice).
   */
  readonly defaultCgroupParent: string;
  readonly netnsDir: string;
  /** The streaming server (exec, attach, port-forward URLs): address, port (0 = a free one), TLS. */
  readonly streaming: { readonly address: string; readonly port: number; readonly tls?: { readonly cert: string; readonly key: string } };
  /** Folder of corelet's helper binaries (corelet-io). */
  readonly helperDir: string;
  readonly logLevel: string;
  /**
   * conmon's --log-size-max: a container log file is never larger (conmon starts it anew, dropping
   * what it held) — the backstop for when nobody rotates logs (CRI-O's log_size_max). 0: no cap.
   */
  readonly logSizeMax?: number;
  /**
   * Images ListImages reports pinned, so the agent's image garbage collection never removes them
   * (CRI-O's pinned_images): references, or a name prefix ending in `*` (`corelet.local/zeus/*`).
   * For images that cannot be pulled again, e.g. imported from an archive.
   */
  readonly pinnedImages?: readonly string[];
  /**
   * Where pulled layers are applied: 'auto' (default: in a worker thread for images of 16 MiB or
   * more, so downloads and unpacking use two cores), 'always', or 'never' (on the event loop).
   */
  readonly imageUnpackWorker?: 'auto' | 'always' | 'never';
}

/** The default cap of one container log file: ten times the agent's default rotation size. */
export const DEFAULT_LOG_SIZE_MAX = 100 * 1024 * 1024;

/** Flags given on the command line; each overrides the config file, which overrides DEFAULTS. */
export interface RuntimeFlags {
  socket?: string;
  root?: string;
  state?: string;
  config?: string;
  runtime?: string;
  logLevel?: string;
  /** systemd or cgroupfs; default {@link defaultCgroupDriver}. */
  cgroupDriver?: string;
}

/** The YAML config file's shape (all optional). */
interface FileConfig {
  socket?: string;
  root?: string;
  state?: string;
  runtime?: string;
  conmon?: string;
  registries?: string;
  pauseImage?: string;
  cgroupParent?: string;
  cgroupDriver?: string;
  cni?: { confDir?: string; binDirs?: string[]; podSubnet?: string; bridge?: string };
  streaming?: { address?: string; port?: number; tlsCert?: string; tlsKey?: string };
  logLevel?: string;
  logSizeMax?: string | number;
  pinnedImages?: unknown;
  imageUnpackWorker?: unknown;
}

const FILE_KEYS = ['socket', 'root', 'state', 'runtime', 'conmon', 'registries', 'pauseImage', 'cgroupParent', 'cgroupDriver', 'cni', 'streaming', 'logLevel', 'logSizeMax', 'pinnedImages', 'imageUnpackWorker'];

/** logSizeMax: a quantity ("100Mi") or bytes; 0 or -1 turns the cap off (CRI-O's -1). */
function parseLogSizeMax(v: string | number | undefined): number {
  if (v === undefined) return DEFAULT_LOG_SIZE_MAX;
  if (v === 0 || v === -1 || v === '0' || v === '-1') return 0;
  let n: number;
  try {
    n = typeof v === 'number' ? v : memoryBytes(String(v));
  } catch {
    n = Number.NaN;
  }
  if (!Number.isSafeInteger(n) || n < 8192) throw invalidArgument(`logSizeMax must be a size of at least 8Ki (e.g. 100Mi), or 0 for no cap; got ${JSON.stringify(v)}`);
  return n;
}

/** imageUnpackWorker: auto, always or never. */
function parseUnpackWorker(v: unknown): 'auto' | 'always' | 'never' {
  if (v === undefined || v === null) return 'auto';
  if (v === 'auto' || v === 'always' || v === 'never') return v;
  throw invalidArgument(`imageUnpackWorker must be auto, always or never, got ${JSON.stringify(v)}`);
}

/** pinnedImages: a list of references or `PREFIX*` globs. */
function parsePinnedImages(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgument(`pinnedImages must be a list of image references, got ${JSON.stringify(v)}`);
  return v.map((ref: unknown, i) => {
    const ok = typeof ref === 'string' && (ref.endsWith('*') ? /^[^\s*]+\*$/.test(ref) : tryNormalizeReference(ref) !== undefined);
    if (!ok) throw invalidArgument(`pinnedImages[${i}] must be an image reference or a name prefix ending in *, got ${JSON.stringify(ref)}`);
    return ref as string;
  });
}

/**
 * The OCI runtime when neither --runtime nor the config file names one: crun where it works best, a
 * cgroup v2 host (one unified hierarchy at /sys/fs/cgroup) with crun installed, as Fedora/RHEL's
 * CRI-O ship it; runc elsewhere (cgroup v1 or hybrid hosts, or no crun), as containerd does.
 */
export function defaultOciRuntime(host: { cgroupMode: CgroupMode; crunPath: string | undefined; runcStateInUse?: boolean }): { name: 'runc' | 'crun'; chosenBy: string } {
  if (host.cgroupMode !== 'v2') return { name: 'runc', chosenBy: `default: runc on a cgroup ${host.cgroupMode} host` };
  if (host.crunPath === undefined) return { name: 'runc', chosenBy: 'default: runc, crun is not on PATH' };
  // Containers an earlier start made under runc (before crun became the default) stay runc's.
  if (host.runcStateInUse) return { name: 'runc', chosenBy: "default: runc, the state folder holds runc's containers" };
  return { name: 'crun', chosenBy: 'default: crun on a cgroup v2 host' };
}

/**
 * The cgroup driver when neither --cgroup-driver nor the config file names one: the host's default
 * (systemd where it is PID 1 on a cgroup v2 tree), except that pods an earlier start made under the
 * other driver and still running keep theirs, so an upgraded node goes on managing them and an agent
 * started before it goes on being served. The new default takes over once they are gone.
 */
export function chooseDefaultCgroupDriver(host: { hostDefault: CgroupDriver; running: CgroupDriver | undefined }): { driver: CgroupDriver; chosenBy: string } {
  if (host.running !== undefined && host.running !== host.hostDefault) {
    return { driver: host.running, chosenBy: `default: ${host.running}, the driver of the pods still running from an earlier start` };
  }
  return { driver: host.hostDefault, chosenBy: `default: ${host.hostDefault} on this host` };
}

/**
 * The driver the pods still running from an earlier start were made under (any build): the sandbox
 * record (ROOT/sandboxes/<id>/sandbox.json) of a pod whose pause the OCI runtime's state in STATE
 * still holds names a slice only under systemd. Undefined when no such pod is found.
 */
export function runningPodsCgroupDriver(root: string, state: string): CgroupDriver | undefined {
  for (const oci of ['runc', 'crun']) {
    let ids: string[];
    try {
      ids = readdirSync(join(state, oci));
    } catch {
      continue;
    }
    for (const id of ids) {
      let rec: unknown;
      try {
        rec = JSON.parse(readFileSync(join(root, 'sandboxes', id, 'sandbox.json'), 'utf8'));
      } catch {
        continue; // a container's id, or no record
      }
      if (typeof rec !== 'object' || rec === null) continue;
      const slice = (rec as { cgroupSlice?: unknown }).cgroupSlice;
      return typeof slice === 'string' && slice !== '' ? 'systemd' : 'cgroupfs';
    }
  }
  return undefined;
}

/** Whether dir exists and holds anything. */
function dirHasEntries(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** Finds an executable by name on PATH (absolute paths are returned as they are). */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...extraDirs];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

async function readFileConfig(path: string, explicit: boolean): Promise<FileConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!explicit && errnoCode(err) === 'ENOENT') return {};
    throw invalidArgument(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw invalidArgument(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument(`config file ${path}: expected a mapping at the top`);
  for (const key of Object.keys(doc as object)) {
    if (!FILE_KEYS.includes(key)) throw invalidArgument(`config file ${path}: unknown field "${key}" (known: ${FILE_KEYS.join(', ')})`);
  }
  return doc as FileConfig;
}

/**
 * Compiles flags + config file + defaults into the readonly RuntimeConfig. When --root is given and
 * --state is not, volatile state goes under ROOT/run so that several runtimes can run side by side.
 */
export async function loadRuntimeConfig(flags: RuntimeFlags, pauseRootfs: string, helperDir = ''): Promise<RuntimeConfig> {
  const file = await readFileConfig(flags.config ?? DEFAULTS.config, flags.config !== undefined);
  const root = resolve(flags.root ?? file.root ?? DEFAULTS.root);
  const state = resolve(flags.state ?? file.state ?? (root === DEFAULTS.root ? DEFAULTS.state : join(root, 'run')));
  const chosen = flags.runtime !== undefined ? { name: flags.runtime, chosenBy: '--runtime' } : file.runtime !== undefined ? { name: file.runtime, chosenBy: 'config file' } : defaultOciRuntime({ cgroupMode: detectCgroupMode(DEFAULTS.cgroupRoot), crunPath: findExecutable('crun'), runcStateInUse: dirHasEntries(join(state, 'runc')) });
  const runtimeName = chosen.name;
  const runtimeBase = runtimeName.split('/').pop()!;
  if (runtimeBase !== 'runc' && runtimeBase !== 'crun') throw invalidArgument(`--runtime must be runc or crun (or a path to one), got "${runtimeName}"`);
  const runtimePath = findExecutable(runtimeName);
  if (!runtimePath) throw invalidArgument(`OCI runtime "${runtimeName}" not found on PATH; install it (apt-get install ${runtimeBase})`);
  const conmonPath = findExecutable(file.conmon ?? DEFAULTS.conmon);
  if (!conmonPath) throw invalidArgument(`conmon not found on PATH; install it (apt-get install conmon)`);
  const driverChoice =
    flags.cgroupDriver !== undefined
      ? { driver: parseCgroupDriver(flags.cgroupDriver), chosenBy: '--cgroup-driver' }
      : file.cgroupDriver !== undefined
        ? { driver: parseCgroupDriver(file.cgroupDriver, 'cgroupDriver'), chosenBy: 'config file' }
        : chooseDefaultCgroupDriver({ hostDefault: defaultCgroupDriver({ cgroupRoot: DEFAULTS.cgroupRoot }), running: runningPodsCgroupDriver(root, state) });
  const cgroupDriver = driverChoice.driver;
  let defaultCgroupParent = file.cgroupParent ?? (cgroupDriver === 'systemd' ? 'corelet.slice' : '/corelet');
  if (cgroupDriver === 'systemd') defaultCgroupParent = parseSliceParent(defaultCgroupParent, 'cgroupParent');
  else refuseSliceUnderCgroupfs(defaultCgroupParent, 'cgroupParent');
  const st = file.streaming ?? {};
  if (st.port !== undefined && (!Number.isInteger(st.port) || st.port < 0 || st.port > 65535)) throw invalidArgument(`streaming.port must be 0..65535, got ${st.port}`);
  if ((st.tlsCert === undefined) !== (st.tlsKey === undefined)) throw invalidArgument('streaming.tlsCert and streaming.tlsKey go together');
  return {
    socket: resolve(flags.socket ?? file.socket ?? DEFAULTS.socket),
    root,
    state,
    ociRuntime: { name: runtimeBase, path: runtimePath, chosenBy: chosen.chosenBy },
    conmonPath,
    registriesFile: file.registries ?? DEFAULTS.registries,
    cni: {
      confDir: file.cni?.confDir ?? DEFAULTS.cniConfDir,
      binDirs: file.cni?.binDirs ?? DEFAULTS.cniBinDirs,
      podSubnet: file.cni?.podSubnet ?? DEFAULTS.podSubnet,
      bridge: file.cni?.bridge ?? DEFAULTS.bridge,
    },
    pauseImage: file.pauseImage ?? DEFAULTS.pauseImage,
    pauseRootfs,
    cgroupRoot: DEFAULTS.cgroupRoot,
    cgroupDriver,
    cgroupDriverChosenBy: driverChoice.chosenBy,
    defaultCgroupParent,
    netnsDir: DEFAULTS.netnsDir,
    streaming: {
      address: st.address ?? '127.0.0.1',
      port: st.port ?? 0,
      tls: st.tlsCert && st.tlsKey ? { cert: st.tlsCert, key: st.tlsKey } : undefined,
    },
    helperDir,
    logLevel: flags.logLevel ?? file.logLevel ?? 'info',
    logSizeMax: parseLogSizeMax(file.logSizeMax),
    pinnedImages: parsePinnedImages(file.pinnedImages),
    imageUnpackWorker: parseUnpackWorker(file.imageUnpackWorker),
  };
}
