/**
 * The pure part of container log rotation, as the kubelet's container log manager does it: a
 * rotated log is `<log>.<YYYYMMDD-HHMMSS>` (UTC), older rotated logs are gzipped to `.gz`, and at most
 * maxFiles files (the current one included) remain.
 */
import { basename } from 'node:path';
import { invalidArgument } from '../../lib/index.js';

/** The kubelet's defaults: --container-log-max-size 10Mi, --container-log-max-files 5. */
export const DEFAULT_CONTAINER_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_CONTAINER_LOG_MAX_FILES = 5;
/**
 * How often log sizes are checked. The kubelet checks every 10 s; a `yes` pod writes 90–150 MB/s
 * through conmon here, so its log would grow ~1 GB past the limit between two checks. A check is a
 * stat per running container (the container list is refreshed every 2 s, ContainerStatus asked once
 * per container), so corelet checks every 250 ms: a log then overshoots by ~40 MB at most.
 */
export const DEFAULT_CONTAINER_LOG_MONITOR_INTERVAL_MS = 250;

const TIMESTAMP_RE = /^\d{8}-\d{6}(\.\d{3})?$/;

/**
 * `<log>.<YYYYMMDD-HHMMSS>` for a rotation at `now` (the kubelet's timestamp format, UTC); with
 * withMillis `<log>.<YYYYMMDD-HHMMSS.mmm>`, for a second rotation within one second (a fast
 * writer), which still sorts between the seconds around it.
 */
export function rotatedLogName(logPath: string, now: Date, withMillis = false): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ts = `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${logPath}.${ts}${withMillis ? `.${p(now.getUTCMilliseconds(), 3)}` : ''}`;
}

/** What to do with the files next to a log before rotating it (names are the folder's entries). */
export interface RotationPlan {
  /** Leftovers: `.tmp` files of an interrupted compression, uncompressed copies of compressed logs. */
  removeUnused: string[];
  /** The oldest rotated logs beyond what may remain. */
  removeExcess: string[];
  /**
   * Rotated logs to gzip: every one kept (the runtime reopened its log after the last rotation, so
   * none is written any more); the one rotated now stays plain until the next rotation.
   */
  compress: string[];
}

/**
 * Plans a rotation of the log `logName` among the folder entries `entries` (file names), keeping at
 * most maxFiles files: the current log, the one about to be rotated, and maxFiles − 2 older ones
 * (the kubelet's order: clean up, remove excess, compress, then rotate).
 */
export function planRotation(logName: string, entries: readonly string[], maxFiles: number): RotationPlan {
  const prefix = `${basename(logName)}.`;
  const mine = entries.filter((e) => e.startsWith(prefix));
  const removeUnused = mine.filter((e) => e.endsWith('.tmp'));
  const gz = new Set(mine.filter((e) => e.endsWith('.gz')));
  const rotated = new Map<string, string>(); // timestamp → file name (the .gz one when both exist)
  for (const e of mine) {
    if (e.endsWith('.tmp')) continue;
    const rest = e.slice(prefix.length);
    const ts = rest.endsWith('.gz') ? rest.slice(0, -3) : rest;
    if (!TIMESTAMP_RE.test(ts)) continue;
    if (!rest.endsWith('.gz') && gz.has(`${e}.gz`)) {
      removeUnused.push(e);
      continue;
    }
    rotated.set(ts, e);
  }
  const ordered = [...rotated.keys()].sort().map((ts) => rotated.get(ts)!);
  const keep = Math.max(0, maxFiles - 2);
  const removeExcess = ordered.slice(0, Math.max(0, ordered.length - keep));
  const kept = ordered.slice(removeExcess.length);
  const compress = kept.filter((e) => !e.endsWith('.gz'));
  return { removeUnused, removeExcess, compress };
}

/** Checks the rotation settings as the kubelet does (max size > 0, max files > 1). */
export function checkLogRotationSettings(maxSizeBytes: number, maxFiles: number): void {
  if (!Number.isSafeInteger(maxSizeBytes) || maxSizeBytes <= 0) throw invalidArgument(`--container-log-max-size must be a positive quantity, got ${maxSizeBytes}`);
  if (!Number.isInteger(maxFiles) || maxFiles < 2) throw invalidArgument(`--container-log-max-files must be an integer of at least 2, got ${maxFiles}`);
}
