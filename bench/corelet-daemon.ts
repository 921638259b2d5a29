/**
 * Private corelet daemons for the benchmark. CoreletDaemon: a `corelet runtime` with its own socket,
 * root, CNI bridge/subnet and cgroup parent under a temp dir, so it never meets a corelet the host
 * may already run. AgentDaemon: a `corelet agent` over any CRI endpoint, with its own manifest
 * folder, state, log folder and QoS cgroup. stop() removes everything each made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCriClient } from '../src/cri/index.js';
import { listProcs } from './procs.js';

const exec = promisify(execFile);

/** Options of {@link CoreletDaemon.start}. */
export interface CoreletDaemonOptions {
  /** Path of the built CLI (dist/src/cli/main.js). */
  cli: string;
  /** The daemon's --log-level; debug logs every CNI plugin, conmon and runc call with its ms. */
  logLevel: string;
  bridge: string;
  subnet: string;
  /** More runtime.yaml lines (e.g. `imageUnpackWorker: never`). */
  extraConfig?: string[];
  /** cgroupfs parent of its pods (default /corelet-bench-<bench pid>); stop() removes it. */
  cgroupParent?: string;
  /** Options for node itself, before the CLI (e.g. --cpu-prof --cpu-prof-dir DIR). */
  nodeArgs?: string[];
}

export class CoreletDaemon {
  readonly socket: string;
  readonly root: string;
  readonly logFile: string;
  readonly cgroupParent: string;
  private constructor(
    readonly dir: string,
    private readonly opts: CoreletDaemonOptions,
    private proc: ChildProcess | undefined = undefined,
  ) {
    this.socket = join(dir, 'corelet.sock');
    this.root = join(dir, 'root');
    this.logFile = join(dir, 'runtime.log');
    this.cgroupParent = opts.cgroupParent ?? `/corelet-bench-${process.pid}`;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** Writes the config, starts the daemon and waits until it answers Version. */
  static async start(opts: CoreletDaemonOptions): Promise<CoreletDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'corelet-bench-'));
    const d = new CoreletDaemon(dir, opts);
    await mkdir(join(dir, 'net.d'), { recursive: true });
    const config = join(dir, 'runtime.yaml');
    await writeFile(
      config,
      [
        // a registries file that does not exist: the host's /etc/corelet/registries.yaml stays out of it
        `registries: ${join(dir, 'registries.yaml')}`,
        `cgroupParent: ${d.cgroupParent}`,
        'cni:',
        `  confDir: ${join(dir, 'net.d')}`,
        `  podSubnet: ${opts.subnet}`,
        `  bridge: ${opts.bridge}`,
        ...(opts.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    const out = openSync(d.logFile, 'a');
    d.proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.cli, 'runtime', '--socket', d.socket, '--root', d.root, '--config', config, '--log-level', opts.logLevel], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const client = createCriClient(`unix://${d.socket}`);
    try {
      for (let i = 0; ; i++) {
        if (d.proc.exitCode !== null) throw new Error(`corelet runtime exited with ${d.proc.exitCode}; see ${d.logFile}`);
        try {
          await client.runtime.Version({}, { deadlineMs: 1000 });
          return d;
        } catch (err) {
          if (i >= 150) throw new Error(`corelet runtime did not answer on ${d.socket}: ${String(err)}`, { cause: err });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      client.close();
    }
  }

  /** Copies the daemon's log out before stop() removes the temp dir. */
  async saveLog(to: string): Promise<void> {
    await copyFile(this.logFile, to);
  }

  async readLog(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /**
   * SIGTERM (then SIGKILL) the daemon, kill any conmon/pause left behind, unmount what is left under
   * root, delete the CNI bridge and the cgroup parent, and remove the temp dir.
   */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((res) => p.once('exit', res));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    // Leftovers only exist if a pod was not removed (a failed run): conmon's args name the root.
    for (const proc of await listProcs()) {
      if (proc.pid !== process.pid && proc.args.includes(this.root)) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(this.root));
    for (const m of mounts.reverse()) await exec('umount', ['-l', m]).catch(() => undefined);
    for (const ns of await readdir('/run/netns').catch(() => [] as string[])) {
      // our netns are named corelet-<sandbox id prefix>; only remove those whose pods were ours
      if (ns.startsWith('corelet-') && this.leftoverNetns.has(ns)) await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    await exec('ip', ['link', 'del', this.opts.bridge]).catch(() => undefined);
    await removeCgroupTree(this.cgroupParent);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** netns names of sandboxes this daemon made that may not have been removed. */
  readonly leftoverNetns = new Set<string>();

  /** Records a sandbox id so stop() can remove its netns if the pod was not removed. */
  noteSandbox(id: string): void {
    this.leftoverNetns.add(`corelet-${id.slice(0, 16)}`);
  }
}

/** Options of {@link AgentDaemon.start}. */
export interface AgentDaemonOptions {
  /** Path of the built CLI (dist/src/cli/main.js). */
  cli: string;
  /** The CRI runtime the agent drives (unix:///...). */
  endpoint: string;
  /** Name of its top-level QoS cgroup; stop() removes it under every hierarchy. */
  qosCgroup: string;
  nodeName: string;
  logLevel: string;
}

/** A pod as the agent's /pods lists it: only the fields the benchmark reads. */
export interface AgentPod {
  metadata: { name: string; namespace: string; uid: string };
  status?: { phase?: string; podIP?: string; qosClass?: string; conditions?: { type: string; status: string }[] };
}

/** Whether the agent reports the pod Running with condition Ready=True. */
export function isReady(p: AgentPod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A private `corelet agent` reading static pod manifests from its own folder. */
export class AgentDaemon {
  readonly manifests: string;
  readonly root: string;
  readonly logDir: string;
  readonly logFile: string;
  /** Base URL of its HTTP endpoints (/pods, /metrics), as it logs it. */
  url = '';
  private constructor(
    readonly dir: string,
    private readonly opts: AgentDaemonOptions,
    private proc: ChildProcess | undefined = undefined,
  ) {
    this.manifests = join(dir, 'manifests');
    this.root = join(dir, 'root');
    this.logDir = join(dir, 'logs');
    this.logFile = join(dir, 'agent.log');
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** Starts the agent on a free port and waits until it logs its HTTP address. */
  static async start(opts: AgentDaemonOptions): Promise<AgentDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'corelet-bench-agent-'));
    const a = new AgentDaemon(dir, opts);
    await mkdir(a.manifests, { recursive: true });
    const out = openSync(a.logFile, 'a');
    a.proc = spawn(
      process.execPath,
      [
        opts.cli, 'agent',
        '--runtime-endpoint', opts.endpoint,
        '--pod-manifest-path', a.manifests,
        '--root', a.root,
        '--log-dir', a.logDir,
        '--address', '127.0.0.1',
        '--port', '0',
        '--qos-cgroup', opts.qosCgroup,
        '--node-name', opts.nodeName,
        '--log-level', opts.logLevel,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    for (let i = 0; i < 300; i++) {
      const m = /"http":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(await a.readLog());
      if (m) {
        a.url = m[1]!;
        return a;
      }
      if (a.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = (await a.readLog()).split('\n').slice(-20).join('\n');
    await a.stop();
    throw new Error(`corelet agent did not start; log tail:\n${tail}`);
  }

  async readLog(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Writes a manifest into the watched folder in one step (temp file + rename). */
  async apply(file: string, yaml: string): Promise<void> {
    const tmp = join(this.manifests, `.${file}.tmp`);
    await writeFile(tmp, yaml);
    await rename(tmp, join(this.manifests, file));
  }

  async remove(file: string): Promise<void> {
    await rm(join(this.manifests, file), { force: true });
  }

  /** Every manifest file in the folder. */
  async files(): Promise<string[]> {
    return (await readdir(this.manifests).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));
  }

  /** GET /pods. */
  async pods(): Promise<AgentPod[]> {
    const res = await fetch(`${this.url}/pods`);
    if (!res.ok) throw new Error(`GET /pods: HTTP ${res.status}`);
    return ((await res.json()) as { items: AgentPod[] }).items;
  }

  /**
   * Stops the agent (SIGTERM, then SIGKILL), unmounts what is left under its root and removes its
   * QoS cgroups and temp dir. The agent leaves pods running when it stops: remove them first.
   */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((res) => p.once('exit', res));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(this.dir));
    for (const m of mounts.reverse()) await exec('umount', ['-l', m]).catch(() => undefined);
    await removeCgroupTree(`/${this.opts.qosCgroup}`);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Removes a cgroupfs subtree under every mounted hierarchy, deepest folders first. */
export async function removeCgroupTree(path: string): Promise<void> {
  const tops = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.includes('cgroup') || f.includes('cgroup2'))
    .map((f) => f[4] ?? '')
    .filter((p) => p.startsWith('/sys/fs/cgroup'));
  for (const top of tops) {
    const base = join(top, path);
    if (!existsSync(base)) continue;
    const dirs: string[] = [];
    const walk = async (d: string): Promise<void> => {
      dirs.push(d);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(join(d, e.name));
    };
    await walk(base);
    for (const d of dirs.reverse()) await rmdir(d).catch(() => undefined);
  }
}

/** The offline test image every benchmark runs. */
export const BUSYBOX = '127.0.0.1:5000/e2e-test-images/busybox:1.29-2';

/**
 * Command-line options shared by the benchmarks that compare corelet with containerd: the two
 * reference runtimes of the conformance kit, Debian's containerd 1.6 (containerd/containerd.sh) and
 * containerd 2.4 (containerd2/containerd2.sh), each skippable.
 */
export const COMPARE_OPTIONS = {
  containerd: { type: 'string', default: 'unix:///run/containerd/containerd.sock' },
  'containerd-pid': { type: 'string' },
  containerd2: { type: 'string', default: 'unix:///run/containerd2/containerd.sock' },
  'containerd2-pid': { type: 'string' },
  /** Skips both references. */
  'skip-containerd': { type: 'boolean', default: false },
  'skip-containerd1': { type: 'boolean', default: false },
  'skip-containerd2': { type: 'boolean', default: false },
  image: { type: 'string', default: BUSYBOX },
} as const;

/** One reference runtime of a run: its CRI endpoint, daemon pid and the version it reports. */
export interface ReferenceRuntime {
  /** "containerd 1.6.20", "containerd v2.4.2": from its own Version answer. */
  label: string;
  endpoint: string;
  pid: number;
}

/** The values {@link COMPARE_OPTIONS} parse to. */
export interface CompareArgs {
  containerd?: string;
  'containerd-pid'?: string;
  containerd2?: string;
  'containerd2-pid'?: string;
  'skip-containerd'?: boolean;
  'skip-containerd1'?: boolean;
  'skip-containerd2'?: boolean;
}

/**
 * The reference runtimes a run compares with, in the order 1.6, 2.4; each must answer Version (a
 * reference asked for and not running is an error naming its start script, not a silent skip).
 */
export async function referenceRuntimes(args: CompareArgs): Promise<ReferenceRuntime[]> {
  if (args['skip-containerd']) return [];
  const wanted: Array<{ endpoint: string; pid?: string; script: string }> = [];
  if (!args['skip-containerd1']) wanted.push({ endpoint: args.containerd!, pid: args['containerd-pid'], script: 'containerd/containerd.sh start' });
  if (!args['skip-containerd2']) wanted.push({ endpoint: args.containerd2!, pid: args['containerd2-pid'], script: 'containerd2/containerd2.sh start' });
  const out: ReferenceRuntime[] = [];
  for (const w of wanted) {
    const client = createCriClient(w.endpoint);
    let version: string;
    try {
      const v = await client.runtime.Version({}, { deadlineMs: 5000 });
      version = `${v.runtime_name} ${v.runtime_version}`;
    } catch (err) {
      throw new Error(`${w.endpoint} does not answer (start it with ../shared/conformance/${w.script}, or skip it): ${(err as Error).message}`, { cause: err });
    } finally {
      client.close();
    }
    out.push({ label: version, endpoint: w.endpoint, pid: w.pid ? Number(w.pid) : await listeningPid(w.endpoint) });
  }
  return out;
}

/** The pid of the process listening on a unix:// endpoint (from `ss -xlp`). */
async function listeningPid(endpoint: string): Promise<number> {
  const path = endpoint.replace(/^unix:\/\//, '');
  const { stdout } = await exec('ss', ['-xlpn']);
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (!cols.includes(path)) continue;
    const m = /pid=(\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  throw new Error(`no process listens on ${path}; pass its pid`);
}
