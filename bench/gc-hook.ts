/**
 * A preload for the daemons the memory benchmark starts (NODE_OPTIONS="--expose-gc
 * --import=<this file>", with CORELET_BENCH_GC_DIR set): on SIGUSR2 it runs a full GC and writes the
 * process's heap figures to CORELET_BENCH_GC_DIR/<pid>.json (and, with CORELET_BENCH_HEAP_SNAPSHOTS=DIR, a
 * heap snapshot to DIR), so the bench tells live heap from RSS
 * the allocator has not given back. Bench only: nothing in src/ knows of it.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

/** What the hook writes: process.memoryUsage() and v8 heap statistics after a full GC. */
export interface GcReport {
  at: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  mallocedMemory: number;
  nativeContexts: number;
  detachedContexts: number;
  /** The young generation's committed size (both semi-spaces). */
  newSpace: number;
  /** The handles and requests keeping the event loop alive, by type (timers, sockets, child processes...). */
  resources: Record<string, number>;
}

const dir = process.env.CORELET_BENCH_GC_DIR;
const gc = (globalThis as { gc?: (opts?: unknown) => void }).gc;
if (dir && gc) {
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const m = process.memoryUsage();
    const h = getHeapStatistics();
    const resources: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
    const report: GcReport = {
      at: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      mallocedMemory: h.malloced_memory,
      nativeContexts: h.number_of_native_contexts,
      detachedContexts: h.number_of_detached_contexts,
      newSpace: getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
      resources,
    };
    // CORELET_BENCH_HEAP_SNAPSHOTS=DIR: a heap snapshot per forced GC too (bench/heap-diff.ts compares two)
    const snapshots = process.env.CORELET_BENCH_HEAP_SNAPSHOTS;
    if (snapshots) writeHeapSnapshot(join(snapshots, `${process.pid}-${report.at}.heapsnapshot`));
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
}
