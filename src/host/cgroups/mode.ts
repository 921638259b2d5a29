import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_PATHS } from '../../lib/index.js';

/**
 * How cgroups are mounted: 'v2' (one unified hierarchy at the root), 'v1' (one hierarchy per
 * controller), or 'hybrid' (v1 controllers plus a v2 mount at <root>/unified, as systemd sets up).
 * For resources, hybrid is v1: controllers are bound to the v1 hierarchies.
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/**
 * Detects the cgroup layout under root (default /sys/fs/cgroup) from the files there: a v2 root has
 * cgroup.controllers; a hybrid layout has it only in root/unified. Paths are injectable for tests.
 */
export function detectCgroupMode(root: string = NODE_PATHS.cgroupRoot): CgroupMode {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(root, 'unified', 'cgroup.controllers'))) return 'hybrid';
  return 'v1';
}

/** The controllers a v2 hierarchy offers at root (its cgroup.controllers), empty when unreadable. */
export function v2Controllers(root: string): string[] {
  try {
    return readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
