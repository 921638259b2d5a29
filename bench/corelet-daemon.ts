/**
 * A private `corelet runtime` for the benchmark: its own socket, root, CNI bridge/subnet and cgroup
 * parent under a temp dir, so it never meets a corelet the host may already run. stop() removes
 * everything it made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
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
    this.cgroupParent = `/corelet-bench-${process.pid}`;
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
        '',
      ].join('\n'),
    );
    const out = openSync(d.logFile, 'a');
    d.proc = spawn(process.execPath, [opts.cli, 'runtime', '--socket', d.socket, '--root', d.root, '--config', config, '--log-level', opts.logLevel], {
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
          if (i >= 150) throw new Error(`corelet runtime did not answer on ${d.socket}: ${String(err)}`);
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

/** Removes a cgroupfs subtree under every mounted hierarchy, deepest folders first. */
async function removeCgroupTree(path: string): Promise<void> {
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
