import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '../../api/index.js';
import { podQosClass, podRequests } from '../../api/index.js';
import { distinctSubfolders, errnoCode, invalidArgument, isDirectory, KeyedMutex, NODE_PATHS, readdirIfExists, readFileIfExists, silentLogger, wrap, type Logger } from '../../lib/index.js';
import { Cgroups, detectCgroupMode, escapeSlicePart, expandSlice, sliceName, sliceProperties, SystemdUnits, type CgroupDriver, type CgroupMode, type RemoveResult, type SliceUnits } from '../../host/index.js';
import { CPU_PERIOD_US, MIN_SHARES, milliCpuToShares, podResourceConfig, sharesToWeight, type CgroupResourceConfig } from './resource-config.js';

/** Node allocatable resources the top-level cgroup is limited to. */
export interface AllocatableResources {
  cpuMillis: number;
  memoryBytes: number;
}

/** What a removal did: folders removed, and folders left because they still hold processes. */
export type CgroupRemoveResult = RemoveResult;

/** Options of {@link QosCgroupManager}; every host path is injectable. */
export interface QosCgroupManagerOptions {
  /** Where cgroups are mounted (default /sys/fs/cgroup). */
  root?: string;
  /** The layout; detected from root when absent. Hybrid is driven as v1. */
  mode?: CgroupMode;
  /** Name of the top-level cgroup (default "kubepods"); tests use their own. */
  topName?: string;
  logger?: Logger;
  /** v1 controller hierarchies the QoS and pod cgroups are created in (default cpu, cpuacct, memory, pids). */
  v1Controllers?: string[];
  /** The clock the orphan sweep ages pod cgroups by (ms since the epoch; default Date.now). */
  now?: () => number;
  /** cgroupfs (folders written here, the default) or systemd (slices made through systemd). */
  driver?: CgroupDriver;
  /** The systemd side of the systemd driver (default busctl/systemctl on PATH). */
  units?: SliceUnits;
}

/** One cgroup of the hierarchy: its cgroupfs path, and under the systemd driver its slice. */
interface CgroupNode {
  path: string;
  slice?: string;
}

/**
 * A pod cgroup changed more recently than this is never an orphan: the top cgroup may be shared (two
 * agents, or a kubelet with the cgroupfs driver, under one /kubepods), and another's pod cgroup is
 * empty between its creation and its sandbox's start.
 */
export const ORPHAN_POD_CGROUP_MIN_AGE_MS = 60_000;

/** v2 controllers enabled down the tree when the root offers them. */
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'hugetlb', 'pids'];
const DEFAULT_V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'];
/** A single path segment we are willing to put in a cgroup path. */
const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * The kubelet's QoS cgroup hierarchy. With the cgroupfs driver:
 *
 *   /<top>                       cpu shares and memory limit = node allocatable
 *   /<top>/pod<uid>              Guaranteed pods
 *   /<top>/burstable             shares = sum of Burstable pods' cpu requests
 *   /<top>/burstable/pod<uid>
 *   /<top>/besteffort            shares = 2
 *   /<top>/besteffort/pod<uid>
 *
 * Pod cgroups get the values of {@link podResourceConfig}; the runtime's runc then creates the
 * containers' cgroups below the pod's (RunPodSandbox's linux.cgroup_parent). On v1 each cgroup is
 * created in each of the configured controller hierarchies; on v2 the controllers are enabled in
 * every level's cgroup.subtree_control. The manager remembers the pods it holds cgroups for so the
 * burstable shares follow pods as they come and go.
 *
 * With the systemd driver the same tree is made of slices, named as the kubelet names them (a part's
 * '-' becomes '_', since systemd reads '-' as a level): kubepods.slice,
 * kubepods-burstable.slice, kubepods-besteffort.slice, kubepods-pod<uid>.slice (Guaranteed) and
 * kubepods-<tier>-pod<uid>.slice, created and updated through systemd (StartTransientUnit,
 * SetUnitProperties) with the same limits as properties (CPUWeight/CPUShares, CPUQuotaPerSecUSec,
 * MemoryMax), and stopped when the pod goes; their paths are the expanded slices
 * (/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice), which is also the
 * cgroup parent given to RunPodSandbox, as the kubelet sends it.
 */
export class QosCgroupManager {
  readonly root: string;
  readonly mode: CgroupMode;
  readonly topName: string;
  private readonly logger: Logger;
  private readonly v1Controllers: string[];
  private readonly mutex = new KeyedMutex();
  /** Pods known to hold a cgroup, by uid: the input of the burstable shares. */
  private readonly pods = new Map<string, Pod>();
  private v1Dirs?: Promise<Map<string, string>>;
  private readonly now: () => number;
  /** Orphans already reported busy (processes left in them): reported once, not at every sweep. */
  private readonly reportedBusy = new Set<string>();
  /** The shared cgroupfs adapter: the removal walk is the runtime's. */
  private readonly cgroups: Cgroups;
  readonly driver: CgroupDriver;
  private readonly units: SliceUnits;

  constructor(opts: QosCgroupManagerOptions = {}) {
    this.root = opts.root ?? NODE_PATHS.cgroupRoot;
    this.mode = opts.mode ?? detectCgroupMode(this.root);
    this.topName = opts.topName ?? 'kubepods';
    if (!SEGMENT.test(this.topName) || this.topName === '.' || this.topName === '..') {
      throw invalidArgument(`top-level cgroup name ${JSON.stringify(this.topName)} must be one path segment`);
    }
    this.logger = opts.logger ?? silentLogger;
    this.v1Controllers = opts.v1Controllers ?? DEFAULT_V1_CONTROLLERS;
    this.now = opts.now ?? Date.now;
    this.cgroups = new Cgroups({ root: this.root, mode: this.mode });
    this.driver = opts.driver ?? 'cgroupfs';
    this.units = opts.units ?? new SystemdUnits({ cgroupRoot: this.root, logger: this.logger });
  }

  private get systemd(): boolean {
    return this.driver === 'systemd';
  }

  /** The cgroup named by parts below the top ([] is the top itself): its path, and its slice under systemd. */
  private node(...parts: string[]): CgroupNode {
    const all = [this.topName, ...parts];
    if (!this.systemd) return { path: `/${all.join('/')}` };
    const slice = sliceName(all);
    return { path: expandSlice(slice), slice };
  }

  /** The pod's cgroup in each tier it may be in (Guaranteed, burstable, besteffort). */
  private podNodes(uid: string): CgroupNode[] {
    return [this.node(`pod${uid}`), this.node('burstable', `pod${uid}`), this.node('besteffort', `pod${uid}`)];
  }

  private get v2(): boolean {
    return this.mode === 'v2';
  }

  /** The cgroupfs path of the top-level cgroup ("/kubepods", or "/kubepods.slice" under systemd). */
  get topPath(): string {
    return this.node().path;
  }

  /**
   * Creates (or updates) the top-level cgroup limited to allocatable (cpu shares from its millicores,
   * memory limit in bytes) and the burstable and besteffort cgroups below it. pods, when given,
   * become the known pods (as in {@link updateBurstableShares}); otherwise the burstable shares come
   * from the pods ensured so far.
   */
  async ensureTopLevel(allocatable: AllocatableResources, pods?: Pod[]): Promise<void> {
    if (!(allocatable.cpuMillis > 0) || !(allocatable.memoryBytes > 0)) {
      throw invalidArgument(`allocatable must be positive (cpu ${allocatable.cpuMillis}m, memory ${allocatable.memoryBytes} bytes)`);
    }
    if (this.v2 && !this.systemd) await this.enableV2Controllers(this.root);
    await this.ensureCgroup(this.node(), {
      cpuShares: milliCpuToShares(allocatable.cpuMillis),
      memoryLimitBytes: allocatable.memoryBytes,
    });
    await this.ensureCgroup(this.node('besteffort'), { cpuShares: MIN_SHARES });
    if (pods) this.replacePods(pods);
    await this.mutex.run('burstable', () => this.ensureCgroup(this.node('burstable'), { cpuShares: this.burstableShares() }));
    this.logger.info({ top: this.topPath, allocatable, mode: this.mode, driver: this.driver }, 'QoS cgroups ensured');
  }

  /**
   * The cgroup_parent to give RunPodSandbox for pod, e.g. "/kubepods/burstable/pod<uid>", or under
   * systemd "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice" (the
   * kubelet's systemd driver sends the expanded slice; runtimes take its last part as the slice).
   */
  podCgroupParent(pod: Pod): string {
    return this.podNode(pod).path;
  }

  private podNode(pod: Pod): CgroupNode {
    const uid = checkUid(pod.metadata.uid);
    const qos = podQosClass(pod);
    return qos === 'Guaranteed' ? this.node(`pod${uid}`) : this.node(qos.toLowerCase(), `pod${uid}`);
  }

  /**
   * Creates (or updates) the pod's cgroup with its resources and returns its cgroupfs path. A
   * Burstable pod first raises the burstable shares, as the kubelet updates the QoS tier before the
   * pod joins it. On failure a cgroup created here is removed again.
   */
  async ensurePod(pod: Pod): Promise<string> {
    const node = this.podNode(pod);
    const path = node.path;
    const config = podResourceConfig(pod);
    const uid = pod.metadata.uid;
    return this.mutex.run(`pod:${uid}`, async () => {
      const existed = await this.exists(path);
      const previous = this.pods.get(uid);
      this.pods.set(uid, pod);
      try {
        if (podQosClass(pod) === 'Burstable') await this.writeBurstableShares();
        await this.ensureCgroup(node, config);
      } catch (err) {
        if (previous) this.pods.set(uid, previous);
        else this.pods.delete(uid);
        if (!existed) await this.removeTree(node).catch(() => undefined);
        throw wrap(err, `creating the cgroup of pod ${uid}`);
      }
      this.logger.debug({ uid, path, config }, 'pod cgroup ensured');
      return path;
    });
  }

  /**
   * Removes the pod's cgroup (wherever its QoS class put it) with any empty child cgroups left by
   * its containers. Nothing is killed: folders that still hold processes stay and are listed in busy.
   * The pod no longer counts for the burstable shares either way.
   */
  async removePod(uid: string): Promise<CgroupRemoveResult> {
    const result = (await this.removePodCgroups(uid))!;
    if (result.busy.length > 0) this.logger.warn({ uid, busy: result.busy }, 'pod cgroup still busy, left in place');
    return result;
  }

  /**
   * Removes the pod's cgroups under its lock; with onlyIf, only when it still holds once the lock is
   * taken (the orphan sweep's check, which an ensurePod of the same uid may have overtaken).
   */
  private async removePodCgroups(uid: string, onlyIf?: () => boolean): Promise<CgroupRemoveResult | undefined> {
    checkUid(uid);
    return this.mutex.run(`pod:${uid}`, async () => {
      if (onlyIf && !onlyIf()) return undefined;
      const result: CgroupRemoveResult = { removed: [], busy: [] };
      const known = this.pods.get(uid);
      const own = known && this.podNode(known).slice;
      for (const node of this.podNodes(uid)) {
        const r = await this.removeTree(node, node.slice !== undefined && node.slice === own);
        result.removed.push(...r.removed);
        result.busy.push(...r.busy);
      }
      const wasBurstable = this.pods.has(uid) && podQosClass(this.pods.get(uid)!) === 'Burstable';
      this.pods.delete(uid);
      if (wasBurstable) await this.writeBurstableShares();
      return result;
    });
  }

  /** The uids of the pods holding a cgroup here (any QoS tier, any hierarchy). */
  async podUids(): Promise<Set<string>> {
    const out = new Set<string>();
    const known = new Map([...this.pods.keys()].map((uid) => [escapeSlicePart(uid), uid] as const));
    for (const h of await this.hierarchies()) {
      for (const tier of [[], ['burstable'], ['besteffort']]) {
        const dir = this.node(...tier);
        // systemd: "<tier slice without .slice>-pod<uid with _>.slice"; the kubelet reads '_' back as '-'
        const prefix = dir.slice ? `${dir.slice.slice(0, -'.slice'.length)}-pod` : 'pod';
        for (const e of await readdirIfExists(join(h, dir.path))) {
          if (!e.isDirectory() || !e.name.startsWith(prefix)) continue;
          let uid = e.name.slice(prefix.length);
          if (dir.slice) {
            if (!uid.endsWith('.slice')) continue;
            // A pod this agent runs keeps its own uid (which may hold '_'); others are read back as the kubelet does.
            const escaped = uid.slice(0, -'.slice'.length);
            uid = known.get(escaped) ?? escaped.replace(/_/g, '-');
          }
          if (uid && SEGMENT.test(uid) && uid !== '.' && uid !== '..') out.add(uid);
        }
      }
    }
    return out;
  }

  /**
   * Removes the cgroups of the pods isOrphan names — pods the agent no longer runs, e.g. removed
   * while it was down (the kubelet's cleanupOrphanedPodCgroups); as removePod, nothing is killed.
   * A pod cgroup changed within {@link ORPHAN_POD_CGROUP_MIN_AGE_MS} is left for a later sweep (it
   * may be another agent's, just made); one still holding processes is logged once. Returns the uids
   * whose cgroups are gone.
   */
  async removeOrphanPods(isOrphan: (uid: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    const present = await this.podUids();
    for (const uid of this.reportedBusy) if (!present.has(uid)) this.reportedBusy.delete(uid);
    for (const uid of present) {
      if (!isOrphan(uid)) continue;
      if (this.now() - (await this.lastChangedMs(uid)) < ORPHAN_POD_CGROUP_MIN_AGE_MS) continue;
      // checked again under the pod's lock: the pod may have been (re)admitted since
      const r = await this.removePodCgroups(uid, () => !this.pods.has(uid) && isOrphan(uid));
      if (!r) continue;
      if (r.busy.length === 0) {
        removed.push(uid);
        this.reportedBusy.delete(uid);
      } else if (!this.reportedBusy.has(uid)) {
        this.reportedBusy.add(uid);
        this.logger.warn({ uid, busy: r.busy }, 'orphaned pod cgroup still holds processes, left in place (reported once)');
      }
    }
    return removed;
  }

  /** When the pod's cgroup folders last changed (newest mtime or ctime over tiers and hierarchies). */
  private async lastChangedMs(uid: string): Promise<number> {
    let newest = 0;
    for (const h of await this.hierarchies()) {
      for (const node of this.podNodes(uid)) {
        const st = await stat(join(h, node.path)).catch(() => undefined);
        if (st) newest = Math.max(newest, st.mtimeMs, st.ctimeMs);
      }
    }
    return newest;
  }

  /**
   * Sets the burstable cgroup's cpu shares to the sum of the cpu requests of the Burstable pods among
   * pods (the node's active pods, which replace the pods known so far). Returns the shares written.
   */
  async updateBurstableShares(pods: Pod[]): Promise<number> {
    this.replacePods(pods);
    return this.writeBurstableShares();
  }

  /**
   * Removes the burstable, besteffort and top-level cgroups when they are empty (no pods left in
   * them); kills nothing. For tearing a node down and for tests.
   */
  async removeTopLevel(): Promise<CgroupRemoveResult> {
    if (!this.systemd) return this.removeTree(this.node());
    const result: CgroupRemoveResult = { removed: [], busy: [] };
    // innermost first: stopping a slice would stop what runs below it
    for (const node of [this.node('burstable'), this.node('besteffort'), this.node()]) {
      const r = await this.removeTree(node);
      result.removed.push(...r.removed);
      result.busy.push(...r.busy);
    }
    return result;
  }

  private replacePods(pods: Pod[]): void {
    this.pods.clear();
    for (const p of pods) this.pods.set(p.metadata.uid, p);
  }

  private burstableShares(): number {
    let millis = 0;
    for (const p of this.pods.values()) if (podQosClass(p) === 'Burstable') millis += podRequests(p).cpuMillis;
    return milliCpuToShares(millis);
  }

  /** Writes the shares of the pods known at the time of writing; serialised so the last write wins with the latest set. */
  private writeBurstableShares(): Promise<number> {
    return this.mutex.run('burstable', async () => {
      const shares = this.burstableShares();
      await this.ensureCgroup(this.node('burstable'), { cpuShares: shares });
      this.logger.debug({ shares }, 'burstable cpu shares updated');
      return shares;
    });
  }

  /** Creates the cgroup (and missing parents) and writes config into it; under systemd, starts or updates its slice. */
  private async ensureCgroup(node: CgroupNode, config: CgroupResourceConfig): Promise<void> {
    const { path } = node;
    try {
      if (node.slice) await this.units.ensureSlice(node.slice, sliceProperties({ cpuWeight: sharesToWeight(config.cpuShares), cpuShares: config.cpuShares, cpuQuotaUs: config.cpuQuota, cpuPeriodUs: config.cpuPeriod ?? CPU_PERIOD_US, memoryMaxBytes: config.memoryLimitBytes }, this.v2));
      else if (this.v2) await this.ensureV2(path, config);
      else await this.ensureV1(path, config);
    } catch (err) {
      throw wrap(err, `setting up cgroup ${node.slice ?? path}`);
    }
  }

  private async ensureV1(path: string, config: CgroupResourceConfig): Promise<void> {
    const dirs = await this.v1ControllerDirs();
    const made = new Set<string>();
    for (const c of this.v1Controllers) {
      const base = dirs.get(c);
      if (base === undefined) {
        this.logger.debug({ controller: c }, 'cgroup v1 controller not mounted, skipped');
        continue;
      }
      // cpu and cpuacct may share one hierarchy ("cpu,cpuacct"): create the folder once.
      const real = await realpath(base);
      if (made.has(real)) continue;
      made.add(real);
      await mkdir(join(base, path), { recursive: true });
    }
    const cpu = dirs.get('cpu');
    if (cpu !== undefined && this.v1Controllers.includes('cpu')) {
      const dir = join(cpu, path);
      await writeFile(join(dir, 'cpu.shares'), String(config.cpuShares));
      if (config.cpuQuota !== undefined) {
        await writeFile(join(dir, 'cpu.cfs_period_us'), String(config.cpuPeriod ?? CPU_PERIOD_US));
        await writeFile(join(dir, 'cpu.cfs_quota_us'), String(config.cpuQuota));
      } else {
        await writeFile(join(dir, 'cpu.cfs_quota_us'), '-1');
      }
    }
    const memory = dirs.get('memory');
    if (memory !== undefined && this.v1Controllers.includes('memory')) {
      await writeFile(join(memory, path, 'memory.limit_in_bytes'), config.memoryLimitBytes === undefined ? '-1' : String(config.memoryLimitBytes));
    }
  }

  private async ensureV2(path: string, config: CgroupResourceConfig): Promise<void> {
    // Create level by level, enabling controllers in each parent first so the child gets them.
    let dir = this.root;
    for (const seg of path.split('/').filter(Boolean)) {
      dir = join(dir, seg);
      try {
        await mkdir(dir);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      await this.enableV2Controllers(dir);
    }
    await writeFile(join(dir, 'cpu.weight'), String(sharesToWeight(config.cpuShares)));
    const max = config.cpuQuota === undefined ? 'max' : String(config.cpuQuota);
    await writeFile(join(dir, 'cpu.max'), `${max} ${config.cpuPeriod ?? CPU_PERIOD_US}`);
    await writeFile(join(dir, 'memory.max'), config.memoryLimitBytes === undefined ? 'max' : String(config.memoryLimitBytes));
  }

  /** Enables, in dir's cgroup.subtree_control, the wanted controllers dir offers and has not enabled yet. */
  private async enableV2Controllers(dir: string): Promise<void> {
    const offered = words((await readFileIfExists(join(dir, 'cgroup.controllers'))) ?? '');
    const enabled = new Set(words((await readFileIfExists(join(dir, 'cgroup.subtree_control'))) ?? ''));
    const wanted = V2_CONTROLLERS.filter((c) => offered.includes(c) && !enabled.has(c));
    if (wanted.length === 0) return;
    const file = join(dir, 'cgroup.subtree_control');
    try {
      await writeFile(file, wanted.map((c) => `+${c}`).join(' '));
      return;
    } catch {
      // One at a time then: a controller that cannot be enabled must not block the others.
    }
    for (const c of wanted) {
      try {
        await writeFile(file, `+${c}`);
      } catch (err) {
        this.logger.warn({ dir, controller: c, err: String(err) }, 'could not enable cgroup v2 controller');
      }
    }
  }

  private async exists(path: string): Promise<boolean> {
    for (const h of await this.hierarchies()) if (await isDirectory(join(h, path))) return true;
    return false;
  }

  /**
   * Removes the cgroup and its empty descendants in every hierarchy ({@link Cgroups.removeTree});
   * under systemd its slice is stopped first, only when no process is left in it (stopping a slice
   * would kill them): the slice is then listed busy, as a folder rmdir refused.
   */
  private async removeTree(node: CgroupNode, knownSlice = false): Promise<CgroupRemoveResult> {
    if (node.slice) {
      // no folder: nothing to stop in the tiers a pod is not in; its own slice is stopped all the same
      if (!(await this.exists(node.path))) {
        if (knownSlice) await this.units.stopUnit(node.slice);
        return { removed: [], busy: [] };
      }
      if ((await this.cgroups.pids(node.path, { recursive: true })).length > 0) return { removed: [], busy: [join(this.root, node.path)] };
      await this.units.stopUnit(node.slice);
      const r = await this.cgroups.removeTree(node.path);
      if (!r.removed.includes(join(this.root, node.path)) && !r.busy.length) r.removed.push(join(this.root, node.path));
      return r;
    }
    return this.cgroups.removeTree(node.path);
  }

  /** Every hierarchy folder (v2: the root; v1: each mount under root once). */
  private async hierarchies(): Promise<string[]> {
    return this.v2 ? [this.root] : distinctSubfolders(this.root);
  }


  /**
   * v1: controller → its hierarchy folder. A combined mount ("cpu,cpuacct") serves each controller
   * it names; a folder named exactly after the controller (often a symlink to it) wins.
   */
  private v1ControllerDirs(): Promise<Map<string, string>> {
    this.v1Dirs ??= (async () => {
      const map = new Map<string, string>();
      for (const e of await readdirIfExists(this.root)) {
        if (!e.isDirectory() && !e.isSymbolicLink()) continue;
        for (const c of e.name.split(',')) if (e.name === c || !map.has(c)) map.set(c, join(this.root, e.name));
      }
      return map;
    })();
    return this.v1Dirs;
  }
}

/** A pod uid becomes a path segment: refuse anything that could leave the hierarchy. */
function checkUid(uid: string): string {
  if (typeof uid !== 'string' || !SEGMENT.test(uid) || uid === '.' || uid === '..') {
    throw invalidArgument(`pod uid ${JSON.stringify(uid)} cannot name a cgroup`);
  }
  return uid;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}



