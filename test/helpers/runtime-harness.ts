/**
 * Runs a real `corelet runtime` (the built dist/ binary) on a private socket, root and CNI network,
 * and drives it with the real crictl, as a user would. Everything it creates is removed by stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile, readdir } from 'node:fs/promises';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
/** The binary under test; CORELET_TEST_BIN runs a test against another build (e.g. to reproduce an attack before its fix). */
export const CORELET = process.env.CORELET_TEST_BIN ?? join(REPO, 'dist', 'src', 'cli', 'main.js');
export const BUSYBOX = '127.0.0.1:5000/e2e-test-images/busybox:1.29-2';

let counter = 0;

export interface HarnessOptions {
  /** Pod network bridge and subnet; each harness in a run gets its own. */
  bridge?: string;
  subnet?: string;
  /** Content of the runtime's registries.yaml (mirrors, credentials). */
  registries?: string;
  /** Images pulled once the daemon answers (a failed pull stops the harness and rejects). */
  pull?: string[];
  /** The OCI runtime (runtime.yaml's runtime: runc or crun); without it the runtime's default. */
  ociRuntime?: string;
  /**
   * Runs the daemon in a private mount namespace with the cgroup v2 mount of a hybrid host hidden (a
   * v1 host to it and its children). crun 1.x refuses a hybrid host whose v2 mount holds a
   * controller ("cgroups in hybrid mode not supported"), as this host's does (hugetlb).
   */
  hideCgroupV2?: boolean;
  /** Prefix of the temp folder, default bridge and cgroup parent (default corelet-it- / cltest / corelet-test-). */
  prefix?: string;
}

export class RuntimeHarness {
  readonly dir: string;
  readonly socket: string;
  readonly root: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly cniConfDir: string;
  readonly cgroupParent: string;
  private proc: ChildProcess | undefined;
  private logFile: string;
  private readonly hideCgroupV2: boolean;

  private constructor(dir: string, opts: HarnessOptions) {
    const n = `${process.pid % 1000}${counter++}`;
    this.dir = dir;
    this.socket = join(dir, 'corelet.sock');
    this.root = join(dir, 'root');
    this.cniConfDir = join(dir, 'net.d');
    this.bridge = opts.bridge ?? `${opts.prefix ?? 'cltest'}${n}`.slice(0, 15);
    this.subnet = opts.subnet ?? `10.${200 + (counter % 50)}.${process.pid % 250}.0/24`;
    this.cgroupParent = `/${opts.prefix ?? 'corelet-test-'}${n}`;
    this.logFile = join(dir, 'runtime.log');
    this.hideCgroupV2 = opts.hideCgroupV2 ?? false;
  }

  /** Creates the folders and config, and starts the daemon. */
  static async start(opts: HarnessOptions = {}): Promise<RuntimeHarness> {
    const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? 'corelet-it-'));
    const h = new RuntimeHarness(dir, opts);
    await mkdir(h.cniConfDir, { recursive: true });
    if (opts.registries) await writeFile(join(dir, 'registries.yaml'), opts.registries);
    await writeFile(
      join(dir, 'runtime.yaml'),
      [
        `registries: ${join(dir, 'registries.yaml')}`,
        // cgroupfs paths everywhere (a systemd v2 host would default to the systemd driver)
        'cgroupDriver: cgroupfs',
        `cgroupParent: ${h.cgroupParent}`,
        ...(opts.ociRuntime ? [`runtime: ${opts.ociRuntime}`] : []),
        'cni:',
        `  confDir: ${h.cniConfDir}`,
        `  podSubnet: ${h.subnet}`,
        `  bridge: ${h.bridge}`,
        '',
      ].join('\n'),
    );
    await h.startDaemon();
    try {
      for (const image of opts.pull ?? []) await h.crictl(['pull', image]);
    } catch (err) {
      await h.stop();
      throw err;
    }
    return h;
  }

  /** Starts (or restarts) the daemon and waits until crictl can talk to it. */
  async startDaemon(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    const argv = [process.execPath, CORELET, 'runtime', '--socket', this.socket, '--root', this.root, '--config', join(this.dir, 'runtime.yaml'), '--log-level', 'debug'];
    // exec keeps the daemon's pid the one this harness signals; the namespace ends with its processes.
    const hide = ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c', HIDE_CGROUP_V2, 'sh', join(this.dir, 'cgroup-v1')];
    const [file, ...args] = this.hideCgroupV2 ? [...hide, ...argv] : argv;
    this.proc = spawn(file!, args, { stdio: ['ignore', out, out] });
    const proc = this.proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`runtime exited with ${code}; log:\n${this.logTail()}`))));
    for (let i = 0; i < 100; i++) {
      const r = await Promise.race([execa('crictl', ['--runtime-endpoint', `unix://${this.socket}`, '--timeout', '2s', 'version'], { reject: false }), exited]);
      if (r.exitCode === 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`runtime did not answer on ${this.socket}; log:\n${await this.log()}`);
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** The daemon's pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  /** kill -9 the daemon (containers must survive it). */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((res) => p.once('exit', res));
    p.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM, then wait for the daemon to exit. */
  async terminate(): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return p?.exitCode ?? null;
    const gone = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
    p.kill('SIGTERM');
    return gone;
  }

  /** Runs crictl against this runtime; rejects with crictl's stderr on failure. */
  async crictl(args: string[], opts: { reject?: boolean; input?: string; timeoutMs?: number } = {}) {
    return execa('crictl', ['--runtime-endpoint', `unix://${this.socket}`, '--image-endpoint', `unix://${this.socket}`, '--timeout', '60s', ...args], {
      reject: opts.reject ?? true,
      input: opts.input,
      timeout: opts.timeoutMs ?? 120_000,
    });
  }

  /** crictl ... -o json, parsed. */
  async crictlJson<T = any>(args: string[]): Promise<T> {
    // urfave/cli stops at the first positional argument: flags go right after the verb
    return JSON.parse((await this.crictl([args[0]!, '-o', 'json', ...args.slice(1)])).stdout) as T;
  }

  /** Writes a pod sandbox config for `crictl runp` and returns its path. */
  async podConfig(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const path = join(this.dir, `pod-${name}.json`);
    const config = {
      metadata: { name, namespace: 'corelet-test', uid: `uid-${name}-${counter++}`, attempt: 0 },
      hostname: name,
      log_directory: join(this.dir, 'logs', name),
      linux: {},
      ...extra,
    };
    await writeFile(path, JSON.stringify(config));
    return path;
  }

  /** Writes a container config for `crictl create` and returns its path. */
  async containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const path = join(this.dir, `ctr-${name}-${counter++}.json`);
    const config = { metadata: { name }, image: { image: BUSYBOX }, command, log_path: `${name}.log`, linux: {}, ...extra };
    await writeFile(path, JSON.stringify(config));
    return path;
  }

  /** runp + create + start; returns the ids. */
  async runPodWith(podName: string, containers: { name: string; command: string[]; extra?: Record<string, unknown> }[], podExtra: Record<string, unknown> = {}) {
    const podCfg = await this.podConfig(podName, podExtra);
    const pod = (await this.crictl(['runp', podCfg])).stdout.trim();
    const ids: string[] = [];
    for (const c of containers) {
      const cfg = await this.containerConfig(c.name, c.command, c.extra);
      const id = (await this.crictl(['create', pod, cfg, podCfg])).stdout.trim();
      await this.crictl(['start', id]);
      ids.push(id);
    }
    return { pod, containers: ids, podConfig: podCfg };
  }

  /** Removes every pod, stops the daemon, removes the test bridge and every file it made. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      await this.crictl(['rmp', '-fa'], { reject: false });
    }
    await this.kill9();
    await killLeftovers(this.root);
    await execa('ip', ['link', 'del', this.bridge], { reject: false });
    await removeCgroupTree(this.cgroupParent);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * sh -c script (arguments: a scratch folder, then the command): in the mount namespace it runs in,
 * /sys/fs/cgroup becomes a fresh tmpfs holding the host's v1 hierarchies only (no unified/), then
 * it execs the command. Nothing changes outside the namespace.
 */
const HIDE_CGROUP_V2 = `set -e
d=$1; shift
mkdir -p "$d"
mount -t tmpfs corelet-v1 "$d"
for c in /sys/fs/cgroup/*; do
  n=\${c##*/}; [ "$n" = unified ] && continue
  mountpoint -q "$c" || continue
  mkdir "$d/$n"; mount --bind "$c" "$d/$n"
done
mount --move "$d" /sys/fs/cgroup
exec "$@"`;

/** Last-resort cleanup after a failed test: processes, mounts and netns mentioning root. */
async function killLeftovers(root: string): Promise<void> {
  const ps = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
  for (const line of ps.stdout.split('\n')) {
    const [pid, ...args] = line.trim().split(/\s+/);
    if (args.join(' ').includes(root) && Number(pid) !== process.pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(root));
  for (const m of mounts.reverse()) await execa('umount', ['-l', m], { reject: false });
}

/** Removes a cgroupfs subtree under every v1 controller (and v2), deepest first. */
export async function removeCgroupTree(path: string): Promise<void> {
  for (const top of await cgroupRoots()) {
    const base = join(top, path);
    if (!existsSync(base)) continue;
    const dirs: string[] = [];
    const walk = async (d: string) => {
      dirs.push(d);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(join(d, e.name));
    };
    await walk(base);
    for (const d of dirs.reverse()) await rm(d, { recursive: false, force: true }).catch(() => execa('rmdir', [d], { reject: false }));
  }
}

/** Mount points of every cgroup hierarchy (v1 controllers and the v2 mount). */
export async function cgroupRoots(): Promise<string[]> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  return mounts
    .map((l) => l.split(' '))
    .filter((f) => f.includes('cgroup') || f.includes('cgroup2'))
    .map((f) => f[4]!)
    .filter((p) => p?.startsWith('/sys/fs/cgroup'));
}

/** Whether a cgroupfs path exists under any hierarchy. */
export async function cgroupExists(path: string): Promise<boolean> {
  for (const top of await cgroupRoots()) if (existsSync(join(top, path))) return true;
  return false;
}

/** Lists the things a pod leaves on the host if cleanup fails, for leak assertions. */
export async function hostLeftovers(h: RuntimeHarness, podIds: string[]): Promise<{ mounts: string[]; netns: string[]; processes: string[]; ipam: string[]; state: string[] }> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(h.root));
  const names = new Set(podIds.map((id) => `corelet-${id.slice(0, 16)}`));
  const netns = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => names.has(n));
  const ps = await execa('ps', ['-eo', 'pid=,comm=,args='], { reject: false });
  const processes = ps.stdout.split('\n').filter((l) => /\b(conmon|runc|crun)\b/.test(l) && l.includes(h.root));
  const ipamDir = join(h.root, 'cni', 'networks');
  const ipam: string[] = [];
  for (const net of await readdir(ipamDir).catch(() => [] as string[])) {
    for (const f of await readdir(join(ipamDir, net)).catch(() => [] as string[])) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) ipam.push(`${net}/${f}`);
  }
  const state: string[] = [];
  for (const sub of ['exits', 'sockets', 'runc', 'crun', 'ns']) {
    for (const f of await readdir(join(h.root, 'run', sub)).catch(() => [] as string[])) state.push(`${sub}/${f}`);
  }
  return { mounts, netns, processes, ipam, state };
}
