/*
 * The systemd cgroup driver's naming and the systemd units behind it: slice names as the kubelet
 * derives them, their cgroupfs paths (systemd's slice expansion), the OCI "slice:prefix:name"
 * cgroupsPath of runc's and crun's systemd driver, and a small adapter that creates, updates and
 * stops slices through systemd (busctl's StartTransientUnit/SetUnitProperties, systemctl stop).
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, isDirectory, invalidArgument, NODE_PATHS, type Logger, silentLogger } from '../../lib/index.js';
import { detectCgroupMode } from './mode.js';

/** Who creates the cgroups of pods and containers: cgroupfs folders, or systemd slices and scopes. */
export type CgroupDriver = 'cgroupfs' | 'systemd';

/** The flag values. */
export const CGROUP_DRIVERS: readonly CgroupDriver[] = ['systemd', 'cgroupfs'];

/** Where systemd says it runs as PID 1 (sd_booted()). */
export const SYSTEMD_RUN_DIR = '/run/systemd/system';

/**
 * The default driver, as containerd, CRI-O and kubeadm pick it: systemd where systemd is PID 1 and
 * owns a cgroup v2 tree; cgroupfs otherwise (v1 and hybrid hosts, hosts without systemd).
 */
export function defaultCgroupDriver(opts: { cgroupRoot?: string; systemdRunDir?: string } = {}): CgroupDriver {
  const booted = existsSync(opts.systemdRunDir ?? SYSTEMD_RUN_DIR);
  return booted && detectCgroupMode(opts.cgroupRoot ?? NODE_PATHS.cgroupRoot) === 'v2' ? 'systemd' : 'cgroupfs';
}

/** The systemd driver needs systemd as PID 1: refused, naming what to do, where it is not. */
export function checkSystemdBooted(what: string, systemdRunDir = SYSTEMD_RUN_DIR): void {
  if (!existsSync(systemdRunDir)) throw invalidArgument(`${what}: the systemd cgroup driver needs systemd as PID 1 (${systemdRunDir} is missing); use --cgroup-driver cgroupfs`);
}

/** A --cgroup-driver value (or a config field), refused naming field when it is neither driver. */
export function parseCgroupDriver(value: unknown, field = '--cgroup-driver'): CgroupDriver {
  if (value === 'systemd' || value === 'cgroupfs') return value;
  throw invalidArgument(`${field} must be systemd or cgroupfs, got ${JSON.stringify(value)}`);
}

/** One part of a slice name: systemd reads '-' as a level of the hierarchy, so the kubelet writes '_'. */
export function escapeSlicePart(part: string): string {
  return part.replace(/-/g, '_');
}

/**
 * The slice unit of a cgroup named by its parts (outermost first), as the kubelet's systemd driver
 * names it: ['kubepods', 'burstable', 'pod<uid>'] → "kubepods-burstable-pod<uid with _>.slice".
 */
export function sliceName(parts: readonly string[]): string {
  if (parts.length === 0) throw invalidArgument('a slice needs at least one name part');
  return `${parts.map(escapeSlicePart).join('-')}.slice`;
}

/** Characters systemd keeps unescaped in a unit name. */
const UNIT_CHARS = /^[A-Za-z0-9:_.\\-]+$/;

/** True when name is a slice unit name systemd expands ("a-b.slice"; "-.slice" is the root). */
export function isValidSliceName(name: string): boolean {
  if (typeof name !== 'string' || !name.endsWith('.slice') || name.length > 255) return false;
  if (name === '-.slice') return true;
  const base = name.slice(0, -'.slice'.length);
  if (base === '' || !UNIT_CHARS.test(base) || base.includes('/')) return false;
  // systemd refuses an empty level: a leading or trailing '-' or "--"
  return !base.startsWith('-') && !base.endsWith('-') && !base.includes('--');
}

/**
 * The cgroupfs path of a slice (systemd's expansion, runc's ExpandSlice): "a-b-c.slice" →
 * "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/".
 */
export function expandSlice(name: string): string {
  if (!isValidSliceName(name)) throw invalidArgument(`${JSON.stringify(name)} is not a valid systemd slice name`);
  if (name === '-.slice') return '/';
  const parts = name.slice(0, -'.slice'.length).split('-');
  let prefix = '';
  let path = '';
  for (const p of parts) {
    prefix = prefix ? `${prefix}-${p}` : p;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** The prefix of corelet's scopes: a container's is "corelet-<id>.scope" (containerd: cri-containerd). */
export const SCOPE_PREFIX = 'corelet';

/** The OCI cgroupsPath of a container under the systemd driver: "<slice>:corelet:<id>" (runc, crun). */
export function systemdCgroupsPath(slice: string, id: string): string {
  return `${slice}:${SCOPE_PREFIX}:${id}`;
}

/** The cgroupfs path of that container's scope: "<expanded slice>/corelet-<id>.scope". */
export function scopeCgroupfsPath(slice: string, id: string): string {
  const parent = expandSlice(slice);
  return `${parent === '/' ? '' : parent}/${SCOPE_PREFIX}-${id}.scope`;
}

/**
 * A cgroup parent given under the systemd driver (a CRI request's linux.cgroup_parent, a config
 * file's cgroupParent): a slice name ("kubepods-burstable-pod<uid>.slice") or its expanded cgroupfs
 * form ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice", what the
 * kubelet sends). Returns the slice name; anything else is refused naming field, as CRI-O refuses
 * a parent that is no slice.
 */
export function parseSliceParent(value: string, field: string): string {
  const base = value.split('/').filter(Boolean).pop() ?? '';
  if (!base.endsWith('.slice')) {
    throw invalidArgument(`${field} ${JSON.stringify(value)} is not a systemd slice: this runtime uses the systemd cgroup driver, so the cgroup parent must be a slice such as kubepods-burstable-pod<uid>.slice (or its path /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice)`);
  }
  if (!isValidSliceName(base)) throw invalidArgument(`${field} ${JSON.stringify(value)}: ${JSON.stringify(base)} is not a valid slice name (letters, digits, ':', '_', '.', '\\', and '-' between non-empty parts)`);
  if (value.includes('/') && value.replace(/\/+$/, '') !== expandSlice(base)) {
    throw invalidArgument(`${field} ${JSON.stringify(value)} is not where systemd puts ${base} (${expandSlice(base)})`);
  }
  return base;
}

/** A cgroupfs parent must not look like a slice: under the cgroupfs driver runc would make a folder named "x.slice". */
export function refuseSliceUnderCgroupfs(value: string, field: string): void {
  const base = value.split('/').filter(Boolean).pop() ?? '';
  if (base.endsWith('.slice')) {
    throw invalidArgument(`${field} ${JSON.stringify(value)} is a systemd slice, but this runtime uses the cgroupfs cgroup driver (start it with --cgroup-driver systemd, or give a cgroupfs path such as /kubepods/burstable/pod<uid>)`);
  }
}

/** Resource properties of a slice, in systemd's D-Bus names and types. */
export interface SliceResources {
  /** cgroup v2 CPUWeight (1..10000). */
  cpuWeight?: number;
  /** cgroup v1 CPUShares. */
  cpuShares?: number;
  /** CFS quota per period, µs; undefined: no quota. */
  cpuQuotaUs?: number;
  /** CFS period, µs. */
  cpuPeriodUs?: number;
  /** Memory limit, bytes; undefined: none. */
  memoryMaxBytes?: number;
}

/** systemd's "infinity" for uint64 properties. */
const INFINITY = '18446744073709551615';

/** One D-Bus property (name, signature, value) as busctl takes it. */
export type UnitProperty = [name: string, signature: 's' | 'b' | 't' | 'as', value: string];

/**
 * The properties of a slice with resources, as runc's systemd driver sets them for the kubelet:
 * accounting on, CPUWeight (v2) or CPUShares (v1), CPUQuotaPerSecUSec (quota per second, rounded up
 * to 10 ms as runc does, since systemd keeps whole percents) with CPUQuotaPeriodUSec, and MemoryMax
 * (v2) or MemoryLimit (v1); no quota or no limit is systemd's infinity.
 */
export function sliceProperties(r: SliceResources, v2: boolean): UnitProperty[] {
  const props: UnitProperty[] = [
    ['CPUAccounting', 'b', 'true'],
    ['MemoryAccounting', 'b', 'true'],
    ['TasksAccounting', 'b', 'true'],
  ];
  if (v2 && r.cpuWeight !== undefined) props.push(['CPUWeight', 't', String(r.cpuWeight)]);
  if (!v2 && r.cpuShares !== undefined) props.push(['CPUShares', 't', String(r.cpuShares)]);
  if (r.cpuQuotaUs !== undefined && r.cpuQuotaUs > 0) {
    const period = r.cpuPeriodUs ?? 100_000;
    let perSec = Math.floor((r.cpuQuotaUs * 1_000_000) / period);
    if (perSec % 10_000 !== 0) perSec = (Math.floor(perSec / 10_000) + 1) * 10_000;
    props.push(['CPUQuotaPerSecUSec', 't', String(perSec)], ['CPUQuotaPeriodUSec', 't', String(period)]);
  } else {
    props.push(['CPUQuotaPerSecUSec', 't', INFINITY]);
  }
  props.push([v2 ? 'MemoryMax' : 'MemoryLimit', 't', r.memoryMaxBytes !== undefined && r.memoryMaxBytes > 0 ? String(r.memoryMaxBytes) : INFINITY]);
  return props;
}

/** busctl's argument list for an a(sv) of properties. */
export function busctlProperties(props: readonly UnitProperty[]): string[] {
  const out = [String(props.length)];
  for (const [name, sig, value] of props) out.push(name, sig, ...(sig === 'as' ? ['1', value] : [value]));
  return out;
}

/** Runs a command to its end; never throws for a non-zero exit. */
async function runProcess(file: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  const spawnError = (r as { code?: string; message?: string }).code === 'ENOENT' ? `${file} not found (is systemd installed?)` : '';
  return { code: r.exitCode ?? -1, stderr: spawnError || String(r.stderr ?? '') };
}

/** What the agent and the runtime need of systemd (fakes in tests). */
export interface SliceUnits {
  /** Starts the slice with props, or, when it is already there, sets them on it (runtime only). */
  ensureSlice(name: string, props: readonly UnitProperty[]): Promise<void>;
  /** Stops the unit (its processes too: callers stop only empty ones); a unit not loaded is fine. */
  stopUnit(name: string): Promise<void>;
}

/** Options of {@link SystemdUnits}. */
export interface SystemdUnitsOptions {
  /** busctl and systemctl (names looked up on PATH, or paths). */
  busctl?: string;
  systemctl?: string;
  /** Where cgroups are mounted, to wait for a started slice's folder (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  /** How long a started slice's folder is waited for (default 5 s). */
  readyTimeoutMs?: number;
  logger?: Logger;
}

const MANAGER = ['org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager'];

/**
 * Slices through systemd's D-Bus API, as the kubelet's systemd driver manages them: busctl calls
 * StartTransientUnit (a new slice, mode "replace") and SetUnitProperties (runtime-only changes of one
 * already there), `systemctl stop` stops one. busctl rather than a D-Bus library: corelet has no
 * D-Bus client, busctl ships with systemd itself (so it is on every host that has this driver),
 * and one unit call per pod start or stop is not on a hot path.
 */
export class SystemdUnits implements SliceUnits {
  private readonly busctl: string;
  private readonly systemctl: string;
  private readonly cgroupRoot: string;
  private readonly readyTimeoutMs: number;
  private readonly logger: Logger;

  constructor(opts: SystemdUnitsOptions = {}) {
    this.busctl = opts.busctl ?? 'busctl';
    this.systemctl = opts.systemctl ?? 'systemctl';
    this.cgroupRoot = opts.cgroupRoot ?? NODE_PATHS.cgroupRoot;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 5000;
    this.logger = opts.logger ?? silentLogger;
  }

  async ensureSlice(name: string, props: readonly UnitProperty[]): Promise<void> {
    const path = expandSlice(name);
    const start = await runProcess(this.busctl, ['call', ...MANAGER, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', name, 'replace', ...busctlProperties([['Description', 's', `corelet ${name}`], ...props]), '0']);
    if (start.code === 0) {
      await this.waitForFolder(path, name);
      return;
    }
    // systemd's UnitExists: "Unit X was already loaded or has a fragment file." (older: "already exists"),
    // e.g. a slice systemd loaded itself as the parent of a scope started before the agent made it
    if (!/already (exists|loaded)|UnitExists/i.test(start.stderr)) throw new Error(`starting ${name}: busctl StartTransientUnit: ${start.stderr.trim() || `exit ${start.code}`}`);
    const set = await runProcess(this.busctl, ['call', ...MANAGER, 'SetUnitProperties', 'sba(sv)', name, 'true', ...busctlProperties(props)]);
    if (set.code !== 0) throw new Error(`updating ${name}: busctl SetUnitProperties: ${set.stderr.trim() || `exit ${set.code}`}`);
  }

  async stopUnit(name: string): Promise<void> {
    const r = await runProcess(this.systemctl, ['stop', name]);
    if (r.code === 0) return;
    if (/not loaded|not found|does not exist/i.test(r.stderr)) return;
    throw new Error(`stopping ${name}: systemctl stop: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /** StartTransientUnit queues a job: the slice's folder appears once systemd ran it. */
  private async waitForFolder(path: string, name: string): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    while (!(await isDirectory(`${this.cgroupRoot}${path}`))) {
      if (Date.now() > deadline) {
        this.logger.warn({ slice: name, path }, 'systemd started the slice but its cgroup folder did not appear');
        return;
      }
      await sleep(20);
    }
  }
}
