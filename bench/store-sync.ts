/**
 * The cost of SQLite synchronous=FULL vs NORMAL on the scheduler's write path. The store (WAL) on a
 * real disk (--dir, default /var/tmp: not a tmpfs, where fsync costs nothing) gets, one transaction
 * per write as the scheduler makes them: heartbeats (a Node's Ready condition, 50 nodes round robin,
 * handleHeartbeat's mutate), pod status reports (a Pod's status, 200 pods round robin,
 * handlePodStatus's mutate) and applies (a one-object manifest: create of a Deployment). Modes
 * alternate (FULL, NORMAL, FULL, NORMAL...) so that drift on a shared machine falls on both.
 *
 *   node dist/bench/store-sync.js [--writes 1000] [--rounds 2] [--dir /var/tmp]
 *
 * Prints writes/s and the mean time per write of each kind and mode, and FULL's cost per write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Store } from '../src/scheduler/store/index.js';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    dir: { type: 'string', default: '/var/tmp' },
  },
});
const WRITES = Number(values.writes);
const NODES = 50;
const PODS = 200;

type Mode = 'FULL' | 'NORMAL';
type Kind = 'heartbeat' | 'podStatus' | 'apply';

function seed(store: Store): void {
  store.transaction(() => {
    store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } as never);
    for (let i = 0; i < NODES; i++) {
      store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}` } }, spec: {}, status: { conditions: [], capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '4Gi', pods: '110' } } } as never);
    }
    for (let i = 0; i < PODS; i++) {
      store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: 'bench' } }, spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } } as never);
    }
  });
}

function write(store: Store, kind: Kind, i: number): void {
  const at = new Date(Date.now() + i).toISOString();
  if (kind === 'heartbeat') {
    store.mutate<{ status: { conditions: unknown[] } }>('Node', '', `node-${i % NODES}`, (n) => {
      n.status.conditions = [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'corelet agent is posting ready status', lastHeartbeatTime: at, lastTransitionTime: '2026-12-07T00:00:00Z' }];
    });
  } else if (kind === 'podStatus') {
    store.mutate<{ status?: unknown }>('Pod', 'default', `pod-${i % PODS}`, (p) => {
      p.status = { phase: 'Running', podIP: '10.244.0.5', startTime: at, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }], containerStatuses: [{ name: 'c', ready: true, restartCount: i, state: { running: { startedAt: at } } }] };
    });
  } else {
    store.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `d-${i}`, namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: { app: `d-${i}` } }, template: { metadata: { labels: { app: `d-${i}` } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } } },
    } as never);
  }
}

/** Mean µs per write of each kind in one mode, on a fresh store. */
function round(mode: Mode): Record<Kind, number> {
  const dir = mkdtempSync(join(values.dir!, 'corelet-bench-sync-'));
  const store = Store.open(join(dir, 'state.db'), { synchronous: mode });
  try {
    seed(store);
    const out = {} as Record<Kind, number>;
    for (const kind of ['heartbeat', 'podStatus', 'apply'] as Kind[]) {
      const start = performance.now();
      for (let i = 0; i < WRITES; i++) write(store, kind, i);
      out[kind] = ((performance.now() - start) * 1000) / WRITES;
    }
    return out;
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<Mode, Record<Kind, number>[]> = { FULL: [], NORMAL: [] };
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
for (let r = 0; r < Number(values.rounds); r++) {
  for (const mode of ['FULL', 'NORMAL'] as Mode[]) results[mode].push(round(mode));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`${WRITES} writes of each kind per round, ${values.rounds} rounds per mode, store in ${values.dir}; load at start ${load}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| write | FULL µs/write (rounds) | NORMAL µs/write (rounds) | FULL writes/s | NORMAL writes/s | FULL costs |');
console.log('|---|---|---|---|---|---|');
for (const kind of ['heartbeat', 'podStatus', 'apply'] as Kind[]) {
  const f = results.FULL.map((r) => r[kind]);
  const n = results.NORMAL.map((r) => r[kind]);
  const rounds = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(`| ${kind} | ${mean(f).toFixed(0)} (${rounds(f)}) | ${mean(n).toFixed(0)} (${rounds(n)}) | ${(1e6 / mean(f)).toFixed(0)} | ${(1e6 / mean(n)).toFixed(0)} | +${(mean(f) - mean(n)).toFixed(0)} µs (${(mean(f) / mean(n)).toFixed(1)}×) |`);
}
