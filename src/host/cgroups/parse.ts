/*
 * Pure parsers of cgroupfs file formats (kernel Documentation/admin-guide/cgroup-v2.rst "Interface
 * Files" and the v1 controller docs).
 */

/** A "flat keyed" file (memory.stat, cpu.stat, memory.events, memory.oom_control): "key value" lines. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) continue;
    const n = Number(parts[1]);
    if (Number.isFinite(n)) out.set(parts[0]!, n);
  }
  return out;
}

/**
 * A single-value file. Returns undefined for "max" (v2's no limit) and for v1's "no limit" values,
 * which are near 2^63 (PAGE_COUNTER_MAX in bytes, rounded to pages).
 */
export function parseSingleValue(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || t === '') return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  if (n >= 2 ** 62) return undefined;
  return n;
}

/** v2 cpu.max: "$MAX $PERIOD", MAX being "max" for no quota. */
export function parseCpuMax(text: string): { quota: number | undefined; period: number | undefined } {
  const [max, period] = text.trim().split(/\s+/);
  const p = period === undefined ? undefined : Number(period);
  return {
    quota: max === undefined || max === 'max' ? undefined : Number(max),
    period: p !== undefined && Number.isFinite(p) ? p : undefined,
  };
}

/** cgroup.procs: one pid per line. */
export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}
