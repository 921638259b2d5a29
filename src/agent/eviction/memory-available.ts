import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { internal, NODE_PATHS } from '../../lib/index.js';
import { detectCgroupMode, parseFlatKeyed, parseSingleValue, type CgroupMode } from '../../host/index.js';

/** The node's memory as the eviction manager sees it. */
export interface MemoryObservation {
  /** capacity − working set. */
  availableBytes: number;
  /** MemTotal. */
  capacityBytes: number;
  /** Root cgroup usage minus inactive file cache (cache the kernel can drop cheaply). */
  workingSetBytes: number;
}

/** Where the reader looks (injectable for tests). */
export interface MemoryAvailableOptions {
  /** cgroup mount root (default /sys/fs/cgroup). */
  root?: string;
  mode?: CgroupMode;
  /** default /proc/meminfo */
  meminfoPath?: string;
}

/**
 * Returns a reader of memory.available computed as the kubelet does (its summary of the root cgroup
 * from cAdvisor): capacity is MemTotal from /proc/meminfo; the working set is the root cgroup's usage
 * minus its inactive file pages. On v1 usage is the memory hierarchy's memory.usage_in_bytes and the
 * inactive pages total_inactive_file; on v2 the root cgroup has no memory.current, so usage is
 * anon + file of the root memory.stat (what runc reports for it) and inactive_file comes from the
 * same file.
 */
export function memoryAvailableReader(opts: MemoryAvailableOptions = {}): () => Promise<MemoryObservation> {
  const root = opts.root ?? NODE_PATHS.cgroupRoot;
  const meminfoPath = opts.meminfoPath ?? '/proc/meminfo';
  const mode = opts.mode ?? detectCgroupMode(root);
  return async () => {
    const capacityBytes = parseMemTotal(await readFile(meminfoPath, 'utf8'));
    let usage: number;
    let inactiveFile: number;
    if (mode === 'v2') {
      const stat = parseFlatKeyed(await readFile(join(root, 'memory.stat'), 'utf8'));
      usage = (stat.get('anon') ?? 0) + (stat.get('file') ?? 0);
      inactiveFile = stat.get('inactive_file') ?? 0;
    } else {
      const dir = join(root, 'memory');
      usage = parseSingleValue(await readFile(join(dir, 'memory.usage_in_bytes'), 'utf8')) ?? 0;
      const stat = parseFlatKeyed(await readFile(join(dir, 'memory.stat'), 'utf8'));
      inactiveFile = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
    }
    const workingSetBytes = Math.max(0, usage - inactiveFile);
    return { capacityBytes, workingSetBytes, availableBytes: Math.max(0, capacityBytes - workingSetBytes) };
  };
}

/** MemTotal of a /proc/meminfo text, in bytes. */
export function parseMemTotal(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo);
  if (!m) throw internal('MemTotal not found in meminfo');
  return Number(m[1]) * 1024;
}
