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

/** One device's block I/O totals (bytes and operations read and written). */
export interface BlkioDevice {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

/**
 * v1 blkio.throttle.io_service_bytes(_recursive) and io_serviced(_recursive): "MAJ:MIN Op N" lines
 * (Op Read, Write, Sync, Async, Discard, Total) and a last "Total N" line; per device.
 */
export function parseBlkioV1(serviceBytes: string, serviced: string): BlkioDevice[] {
  const devices = new Map<string, BlkioDevice>();
  const add = (text: string, bytes: boolean) => {
    for (const line of text.split('\n')) {
      const m = /^(\d+):(\d+)\s+(Read|Write)\s+(\d+)$/.exec(line.trim());
      if (!m) continue;
      const key = `${m[1]}:${m[2]}`;
      const d = devices.get(key) ?? { major: Number(m[1]), minor: Number(m[2]), readBytes: 0, writeBytes: 0, reads: 0, writes: 0 };
      const n = Number(m[4]);
      if (bytes) {
        if (m[3] === 'Read') d.readBytes = n;
        else d.writeBytes = n;
      } else if (m[3] === 'Read') d.reads = n;
      else d.writes = n;
      devices.set(key, d);
    }
  };
  add(serviceBytes, true);
  add(serviced, false);
  return [...devices.values()];
}

/** v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device. */
export function parseIoStatV2(text: string): BlkioDevice[] {
  const out: BlkioDevice[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const f = new Map(kvs.map((kv) => kv.split('=') as [string, string]));
    const num = (k: string) => {
      const n = Number(f.get(k));
      return Number.isFinite(n) ? n : 0;
    };
    out.push({ major: Number(m[1]), minor: Number(m[2]), readBytes: num('rbytes'), writeBytes: num('wbytes'), reads: num('rios'), writes: num('wios') });
  }
  return out;
}
