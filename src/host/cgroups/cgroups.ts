import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { distinctSubfolders, errnoCode, invalidArgument, isDirectory, NODE_PATHS, readdirIfExists, readFileIfExists } from '../../lib/index.js';
import { detectCgroupMode, type CgroupMode } from './mode.js';
import { parseCpuMax, parseFlatKeyed, parsePids, parseSingleValue } from './parse.js';

/** Usage figures of one cgroup (and its descendants), as the CRI stats calls report them. */
export interface CgroupStats {
  /** Cumulative CPU time, nanoseconds. */
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  /** Usage minus inactive file cache: what the kubelet evicts on. */
  memoryWorkingSetBytes: number;
  /** Anonymous memory (v1 rss, v2 anon). */
  memoryRssBytes: number;
  pageFaults: number;
  majorPageFaults: number;
  /** OOM kills inside the cgroup. */
  oomKills: number;
  /** When the figures were read (ms since the epoch). */
  timestampMs: number;
}

/** Limits set on a cgroup; undefined fields mean no limit (or a controller that is not there). */
export interface CgroupLimits {
  /** v1 cpu.shares. */
  cpuShares?: number;
  /** v2 cpu.weight. */
  cpuWeight?: number;
  /** CFS quota per period, microseconds. */
  cpuQuota?: number;
  /** CFS period, microseconds. */
  cpuPeriod?: number;
  /** Memory limit, bytes. */
  memoryLimit?: number;
}

/** What {@link Cgroups.removeIfEmpty} did: busy lists folders that still hold processes or children. */
export interface RemoveResult {
  removed: string[];
  busy: string[];
}

/** Options of {@link Cgroups}. */
export interface CgroupsOptions {
  /** Where cgroups are mounted (default /sys/fs/cgroup). */
  root?: string;
  /** The layout; detected from root when absent. Hybrid is handled as v1. */
  mode?: CgroupMode;
}

/** v1 hierarchies searched, in order, for a cgroup's process list. */
const PROCS_HIERARCHIES = ['pids', 'memory', 'cpu', 'cpuacct', 'devices', 'freezer', 'blkio', 'cpuset'];

/**
 * Reads and removes cgroups by their cgroupfs path (e.g. "/kubepods/besteffort/pod123/<id>"), the
 * path runc's cgroupfs driver creates under each v1 controller hierarchy or under the v2 root.
 * Every host path is injectable, so the logic runs against fake trees in tests.
 */
export class Cgroups {
  readonly root: string;
  readonly mode: CgroupMode;
  private hierarchies?: Promise<Map<string, string>>;

  constructor(opts: CgroupsOptions = {}) {
    this.root = opts.root ?? NODE_PATHS.cgroupRoot;
    this.mode = opts.mode ?? detectCgroupMode(this.root);
  }

  private get v2(): boolean {
    return this.mode === 'v2';
  }

  /** Usage of the cgroup, or undefined when it does not exist (gone with its container). */
  async stats(cgroupsPath: string): Promise<CgroupStats | undefined> {
    checkPath(cgroupsPath);
    try {
      return this.v2 ? await this.statsV2(cgroupsPath) : await this.statsV1(cgroupsPath);
    } catch (err) {
      // Removed between two reads: the same as not there.
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENODEV') return undefined;
      throw err;
    }
  }

  private async statsV1(path: string): Promise<CgroupStats | undefined> {
    const memDir = await this.controllerDir('memory', path);
    const cpuDir = await this.controllerDir('cpuacct', path);
    if (memDir === undefined && cpuDir === undefined) return undefined;
    if (!(await isDirectory(memDir)) && !(await isDirectory(cpuDir))) return undefined;
    const timestampMs = Date.now();
    const cpuUsageNanos = cpuDir ? (parseSingleValue(await readFile(join(cpuDir, 'cpuacct.usage'), 'utf8')) ?? 0) : 0;
    let memoryUsageBytes = 0;
    let ms = new Map<string, number>();
    let oom = new Map<string, number>();
    if (memDir) {
      memoryUsageBytes = parseSingleValue(await readFile(join(memDir, 'memory.usage_in_bytes'), 'utf8')) ?? 0;
      ms = parseFlatKeyed(await readFile(join(memDir, 'memory.stat'), 'utf8'));
      oom = parseFlatKeyed(await readFile(join(memDir, 'memory.oom_control'), 'utf8'));
    }
    // total_* counts descendants too (a pod's cgroup holds only child cgroups).
    const v = (k: string) => ms.get(`total_${k}`) ?? ms.get(k) ?? 0;
    return {
      cpuUsageNanos,
      memoryUsageBytes,
      memoryWorkingSetBytes: Math.max(0, memoryUsageBytes - v('inactive_file')),
      memoryRssBytes: v('rss'),
      pageFaults: v('pgfault'),
      majorPageFaults: v('pgmajfault'),
      oomKills: oom.get('oom_kill') ?? 0,
      timestampMs,
    };
  }

  private async statsV2(path: string): Promise<CgroupStats | undefined> {
    const dir = join(this.root, path);
    if (!(await isDirectory(dir))) return undefined;
    const timestampMs = Date.now();
    const cpu = parseFlatKeyed((await readFileIfExists(join(dir, 'cpu.stat'))) ?? '');
    const memoryUsageBytes = parseSingleValue((await readFileIfExists(join(dir, 'memory.current'))) ?? '') ?? 0;
    const ms = parseFlatKeyed((await readFileIfExists(join(dir, 'memory.stat'))) ?? '');
    const events = parseFlatKeyed((await readFileIfExists(join(dir, 'memory.events'))) ?? '');
    return {
      cpuUsageNanos: (cpu.get('usage_usec') ?? 0) * 1000,
      memoryUsageBytes,
      memoryWorkingSetBytes: Math.max(0, memoryUsageBytes - (ms.get('inactive_file') ?? 0)),
      memoryRssBytes: ms.get('anon') ?? 0,
      pageFaults: ms.get('pgfault') ?? 0,
      majorPageFaults: ms.get('pgmajfault') ?? 0,
      oomKills: events.get('oom_kill') ?? 0,
      timestampMs,
    };
  }

  /** Limits set on the cgroup, or undefined when it does not exist. */
  async limits(cgroupsPath: string): Promise<CgroupLimits | undefined> {
    checkPath(cgroupsPath);
    if (!(await this.exists(cgroupsPath))) return undefined;
    const out: CgroupLimits = {};
    if (this.v2) {
      const dir = join(this.root, cgroupsPath);
      const weight = await readFileIfExists(join(dir, 'cpu.weight'));
      if (weight !== undefined) out.cpuWeight = parseSingleValue(weight);
      const max = await readFileIfExists(join(dir, 'cpu.max'));
      if (max !== undefined) {
        const { quota, period } = parseCpuMax(max);
        out.cpuQuota = quota;
        out.cpuPeriod = period;
      }
      const mem = await readFileIfExists(join(dir, 'memory.max'));
      if (mem !== undefined) out.memoryLimit = parseSingleValue(mem);
    } else {
      const cpuDir = await this.controllerDir('cpu', cgroupsPath);
      if (cpuDir) {
        const shares = await readFileIfExists(join(cpuDir, 'cpu.shares'));
        if (shares !== undefined) out.cpuShares = parseSingleValue(shares);
        const quota = await readFileIfExists(join(cpuDir, 'cpu.cfs_quota_us'));
        // -1 is v1's "no quota".
        if (quota !== undefined) out.cpuQuota = Number(quota.trim()) >= 0 ? parseSingleValue(quota) : undefined;
        const period = await readFileIfExists(join(cpuDir, 'cpu.cfs_period_us'));
        if (period !== undefined) out.cpuPeriod = parseSingleValue(period);
      }
      const memDir = await this.controllerDir('memory', cgroupsPath);
      if (memDir) {
        const mem = await readFileIfExists(join(memDir, 'memory.limit_in_bytes'));
        if (mem !== undefined) out.memoryLimit = parseSingleValue(mem);
      }
    }
    for (const k of Object.keys(out) as (keyof CgroupLimits)[]) if (out[k] === undefined) delete out[k];
    return out;
  }

  /**
   * Pids of the processes in the cgroup (its cgroup.procs), with recursive those of its descendant
   * cgroups too; empty when it does not exist.
   */
  async pids(cgroupsPath: string, opts: { recursive?: boolean } = {}): Promise<number[]> {
    checkPath(cgroupsPath);
    const dir = await this.procsDir(cgroupsPath);
    if (dir === undefined) return [];
    const out: number[] = [];
    const walk = async (d: string): Promise<void> => {
      const text = await readFileIfExists(join(d, 'cgroup.procs'));
      if (text === undefined) return;
      out.push(...parsePids(text));
      if (!opts.recursive) return;
      for (const e of await readdirIfExists(d)) if (e.isDirectory()) await walk(join(d, e.name));
    };
    await walk(dir);
    return [...new Set(out)];
  }

  /** True when the cgroup exists (v1: in any controller hierarchy). */
  async exists(cgroupsPath: string): Promise<boolean> {
    checkPath(cgroupsPath);
    if (this.v2) return isDirectory(join(this.root, cgroupsPath));
    for (const dir of await this.hierarchyDirs()) if (await isDirectory(join(dir, cgroupsPath))) return true;
    return false;
  }

  /**
   * Removes the cgroup folder from every hierarchy (v1: each controller, the named systemd one and,
   * in hybrid mode, the v2 mount, since runc creates it in all of them), or the v2 folder. A
   * folder already gone is fine; one still holding processes or child cgroups (EBUSY) stays and is
   * listed in busy. Removing "/" is refused.
   */
  async removeIfEmpty(cgroupsPath: string): Promise<RemoveResult> {
    checkRemovable(cgroupsPath);
    const result: RemoveResult = { removed: [], busy: [] };
    for (const h of this.v2 ? [this.root] : await this.hierarchyDirs()) await removeDir(join(h, cgroupsPath), result);
    return result;
  }

  /**
   * Removes the cgroup and its empty descendants, deepest first, in every hierarchy (v1: all of them,
   * as {@link removeIfEmpty}; v2: the root). Folders already gone are fine; rmdir refuses folders
   * with processes (EBUSY): those are listed in busy, never forced. Removing "/" is refused.
   */
  async removeTree(cgroupsPath: string): Promise<RemoveResult> {
    checkRemovable(cgroupsPath);
    const result: RemoveResult = { removed: [], busy: [] };
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
      await removeDir(dir, result);
    };
    for (const h of this.v2 ? [this.root] : await this.hierarchyDirs()) await walk(join(h, cgroupsPath));
    return result;
  }

  /**
   * The folder of cgroupsPath holding controller's files: v2 the one folder, v1 the hierarchy that
   * controller is mounted in (undefined when it is not mounted). The folder may not exist.
   */
  async controllerPath(controller: string, cgroupsPath: string): Promise<string | undefined> {
    checkPath(cgroupsPath);
    return this.controllerDir(controller, cgroupsPath);
  }

  /** The folder of cgroupsPath in the v1 hierarchy holding controller, if that controller is mounted. */
  private async controllerDir(controller: string, cgroupsPath: string): Promise<string | undefined> {
    if (this.v2) return join(this.root, cgroupsPath);
    const base = (await this.hierarchyMap()).get(controller);
    return base === undefined ? undefined : join(base, cgroupsPath);
  }

  private async procsDir(cgroupsPath: string): Promise<string | undefined> {
    if (this.v2) {
      const d = join(this.root, cgroupsPath);
      return (await isDirectory(d)) ? d : undefined;
    }
    const map = await this.hierarchyMap();
    for (const c of PROCS_HIERARCHIES) {
      const base = map.get(c);
      if (base !== undefined && (await isDirectory(join(base, cgroupsPath)))) return join(base, cgroupsPath);
    }
    return undefined;
  }

  /**
   * v1: controller name → hierarchy folder. A mount of several controllers ("cpu,cpuacct") serves
   * each of them; a folder named exactly after a controller (often a symlink) wins.
   */
  private hierarchyMap(): Promise<Map<string, string>> {
    this.hierarchies ??= (async () => {
      const map = new Map<string, string>();
      const entries = await readdirIfExists(this.root);
      for (const e of entries) {
        if (!e.isDirectory() && !e.isSymbolicLink()) continue;
        for (const c of e.name.split(',')) {
          if (e.name === c || !map.has(c)) map.set(c, join(this.root, e.name));
        }
      }
      return map;
    })();
    return this.hierarchies;
  }

  /** v1: every hierarchy folder under root once (symlinked aliases collapse to their target). */
  private hierarchyDirs(): Promise<string[]> {
    return distinctSubfolders(this.root);
  }

}

/** A cgroup to remove: a valid path ({@link checkPath}), never the root. */
function checkRemovable(p: string): void {
  checkPath(p);
  if (p.split('/').filter(Boolean).length === 0) throw invalidArgument('refusing to remove the root cgroup');
}

/**
 * rmdir of one cgroup folder, recorded in result: removed, or busy when it still holds processes or
 * child cgroups (EBUSY; ENOTEMPTY on a plain folder); nothing when it is already gone.
 */
async function removeDir(dir: string, result: RemoveResult): Promise<void> {
  try {
    await rmdir(dir);
    result.removed.push(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') result.busy.push(dir);
    else throw err;
  }
}

/** A cgroupfs path must be absolute and stay inside the hierarchy. */
function checkPath(p: string): void {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || p.split('/').some((s) => s === '..' || s === '.')) {
    throw invalidArgument(`cgroup path ${JSON.stringify(p)} must be absolute without . or .. segments`);
  }
}



