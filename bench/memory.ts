/**
 * Memory benchmark: the runtime daemon's PSS idle, with N running pods and over many pod
 * start/stop cycles (a leak check), for a private corelet runtime and the conformance kit's
 * containerd 1.6 and 2.4 from one run; then a private `corelet agent` over the corelet runtime with
 * N pods. corelet's daemons run with a bench-only preload (gc-hook.ts: --expose-gc, a full GC on
 * SIGUSR2 with the heap figures written out), so each corelet figure is given without and with a
 * forced GC: live heap growth and RSS the allocator keeps are told apart.
 *
 *   node dist/bench/memory.js [--pods 30] [--cycles 500] [--checkpoints 100,500]
 *     [--cycle-parallel 5] [--cycles-corelet-only] [--skip-agent] [--node-flags "--max-semi-space-size=1"]
 *     [--skip-containerd | --skip-containerd1 | --skip-containerd2] [--corelet-log-level info]
 *     [--heap-snapshots DIR] [--daemon-heap lean|v8]
 *
 * A cycle is RunPodSandbox + CreateContainer + StartContainer + StopPodSandbox + RemovePodSandbox
 * (busybox sleep), cycle-parallel of them at a time. The runtimes take turns block by block (one
 * block = the cycles up to the next checkpoint). The containerds are shared: their idle figure holds
 * whatever pods other users keep on them (the count is printed). It never exits non-zero on a missed
 * goal: it measures.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { AgentDaemon, COMPARE_OPTIONS, CoreletDaemon, isReady, referenceRuntimes } from './corelet-daemon.js';
import type { GcReport } from './gc-hook.js';
import { cpuMs, settledPssKiB } from './procs.js';
import { table } from './stats.js';

const GOAL_RATIO = 1.0;
const GOAL_GROWTH = 0.05;
const GOAL_AGENT_MIB = 60;
const NAMESPACE = 'corelet-bench-mem';

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    pods: { type: 'string', default: '30' },
    cycles: { type: 'string', default: '500' },
    checkpoints: { type: 'string', default: '100,500' },
    'cycle-parallel': { type: 'string', default: '5' },
    'cycles-corelet-only': { type: 'boolean', default: false },
    'skip-agent': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    /** CORELET_DAEMON_HEAP for corelet's daemons: lean (their default) or v8 (V8's defaults), see src/cli/daemon-heap.ts. */
    'daemon-heap': { type: 'string', default: 'lean' },
    /** A heap snapshot of corelet's daemons at every forced GC, into this folder (bench/heap-diff.ts). */
    'heap-snapshots': { type: 'string' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'corelet-log-level': { type: 'string', default: 'info' },
  },
});
const PODS = Number(args.pods);
const CYCLES = Number(args.cycles);
const CHECKPOINTS = [...new Set([...args.checkpoints!.split(',').map(Number).filter((n) => n > 0 && n < CYCLES), CYCLES])].sort((a, b) => a - b);
const CYCLE_PARALLEL = Math.max(1, Number(args['cycle-parallel']));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = (kib: number) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)}` : 'n/a');
const MiBb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)}` : 'n/a');
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** One runtime under test. */
interface Target {
  name: string;
  client: CriClient;
  pid: number;
  /** corelet's daemon: runs the GC hook. */
  gc: boolean;
  onSandbox?(id: string): void;
}

/** One reading of a daemon's memory. */
interface Reading {
  pssKiB: number;
  /** After a forced full GC (corelet only). */
  gcPssKiB?: number;
  gc?: GcReport;
  /** Sandboxes the runtime held at the reading (ours and anyone else's). */
  sandboxes: number;
}

let gcDir = '';
let logRoot = '';

/** Asks the daemon's preload for a full GC and waits for its report. */
async function forceGc(pid: number): Promise<GcReport> {
  const file = join(gcDir, `${pid}.json`);
  const sent = Date.now();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 1200; i++) {
    await sleep(50);
    const st = await stat(file).catch(() => undefined);
    if (st && st.mtimeMs >= sent - 5) {
      const r = JSON.parse(await readFile(file, 'utf8')) as GcReport;
      if (r.at >= sent) return r;
    }
  }
  throw new Error(`pid ${pid} wrote no GC report to ${file} (does NODE_OPTIONS reach it?)`);
}

async function read(t: { pid: number; gc: boolean; client?: CriClient }): Promise<Reading> {
  const pssKiB = await settledPssKiB(t.pid);
  const sandboxes = t.client ? ((await t.client.runtime.ListPodSandbox({ filter: null })).items ?? []).length : 0;
  if (!t.gc) return { pssKiB, sandboxes };
  const gc = await forceGc(t.pid);
  await sleep(500);
  return { pssKiB, gcPssKiB: await settledPssKiB(t.pid), gc, sandboxes };
}

function podConfig(name: string) {
  return {
    metadata: { name, namespace: NAMESPACE, uid: randomUUID(), attempt: 0 },
    hostname: name,
    log_directory: join(logRoot, name),
    linux: {},
  };
}

async function startPod(t: Target, name: string): Promise<string> {
  const config = podConfig(name);
  const { pod_sandbox_id: id } = await t.client.runtime.RunPodSandbox({ config, runtime_handler: '' });
  t.onSandbox?.(id);
  const { container_id: cid } = await t.client.runtime.CreateContainer({
    pod_sandbox_id: id,
    config: { metadata: { name: 'sleep' }, image: { image: args.image }, command: ['sleep', '3600'], log_path: 'sleep.log', linux: {} },
    sandbox_config: config,
  });
  await t.client.runtime.StartContainer({ container_id: cid });
  return id;
}

async function removePod(t: Target, id: string): Promise<void> {
  await t.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
  await t.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
}

async function removeLeftovers(t: Target): Promise<void> {
  const { items } = await t.client.runtime.ListPodSandbox({ filter: null });
  for (const s of (items ?? []).filter((s) => s.metadata?.namespace === NAMESPACE)) {
    await removePod(t, s.id).catch((e: unknown) => console.error(`${t.name}: remove leftover ${s.id}: ${String(e)}`));
  }
}

/** Runs `count` cycles, CYCLE_PARALLEL at a time; returns the failures' first message and count. */
async function cycles(t: Target, from: number, count: number): Promise<{ failed: number; first?: string }> {
  let next = 0;
  let failed = 0;
  let first: string | undefined;
  const worker = async () => {
    while (next < count) {
      const i = from + next++;
      let id: string | undefined;
      try {
        id = await startPod(t, `cycle-${i}`);
      } catch (e) {
        failed++;
        first ??= String(e);
      } finally {
        if (id) await removePod(t, id).catch((e: unknown) => ((failed++), (first ??= String(e))));
      }
    }
  };
  await Promise.all(Array.from({ length: CYCLE_PARALLEL }, worker));
  if (failed > 0) await removeLeftovers(t);
  return { failed, first };
}

/** Starts PODS pods (CYCLE_PARALLEL at a time), reads the daemon, removes them. */
async function withPods(t: Target): Promise<Reading> {
  const ids: string[] = [];
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: CYCLE_PARALLEL }, async () => {
        while (next < PODS) ids.push(await startPod(t, `held-${next++}`));
      }),
    );
    await sleep(1000);
    return await read(t);
  } finally {
    await Promise.all(ids.map((id) => removePod(t, id).catch((e: unknown) => console.error(`${t.name}: remove ${id}: ${String(e)}`))));
  }
}

interface AgentResult {
  readyMs: number;
  idle: Reading;
  withPods: Reading;
  error?: string;
}

/** A private agent over the corelet runtime: PSS idle and with PODS static pods Ready. */
async function agentPass(endpoint: string): Promise<AgentResult> {
  const agent = await AgentDaemon.start({
    cli: args['corelet-cli']!,
    endpoint,
    qosCgroup: `mem-bench-${process.pid}`,
    nodeName: 'mem-bench',
    logLevel: 'info',
  });
  const cri = createCriClient(endpoint);
  try {
    await sleep(2000);
    const idle = await read({ pid: agent.pid, gc: true });
    const started = performance.now();
    for (let i = 0; i < PODS; i++) {
      await agent.apply(
        `p${i}.yaml`,
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p${i}\n  namespace: ${NAMESPACE}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: sleep\n    image: ${args.image}\n    command: ["sleep", "3600"]\n`,
      );
    }
    let readyMs = NaN;
    while (performance.now() - started < 180_000) {
      const pods = (await agent.pods().catch(() => [])).filter((p) => p.metadata.namespace === NAMESPACE);
      if (pods.length === PODS && pods.every(isReady)) {
        readyMs = performance.now() - started;
        break;
      }
      await sleep(200);
    }
    await sleep(3000);
    const withPods = await read({ pid: agent.pid, gc: true });
    return { readyMs, idle, withPods, error: Number.isNaN(readyMs) ? `not all ${PODS} pods Ready in 180 s` : undefined };
  } finally {
    for (const f of await agent.files()) await agent.remove(f);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && (await agent.pods().catch(() => [])).some((p) => p.metadata.namespace === NAMESPACE)) await sleep(250);
    await agent.stop();
    const t: Target = { name: 'corelet (after agent)', client: cri, pid: 0, gc: false };
    await removeLeftovers(t).catch(() => undefined);
    cri.close();
  }
}

function cpuModel(): string {
  return cpus()[0]?.model ?? '?';
}

async function main(): Promise<void> {
  console.log(`CPU: ${cpuModel()} x${availableParallelism()}; node ${process.version}; load avg at start: ${load()}`);
  console.log(`pods held: ${PODS}; cycles: ${CYCLES} (${CYCLE_PARALLEL} at a time), checkpoints ${CHECKPOINTS.join(', ')}; node flags for corelet: ${args['node-flags'] || '(none)'}, CORELET_DAEMON_HEAP=${args['daemon-heap']}`);
  gcDir = await mkdtemp(join(tmpdir(), 'corelet-bench-gc-'));
  logRoot = await mkdtemp(join(tmpdir(), 'corelet-bench-mem-logs-'));
  const hook = resolve(import.meta.dirname, 'gc-hook.js');
  // reaches the daemons (CoreletDaemon and AgentDaemon spawn with this process's environment)
  process.env.CORELET_BENCH_GC_DIR = gcDir;
  process.env.CORELET_DAEMON_HEAP = args['daemon-heap'];
  if (args['heap-snapshots']) process.env.CORELET_BENCH_HEAP_SNAPSHOTS = resolve(args['heap-snapshots']);
  process.env.NODE_OPTIONS = `--expose-gc --import=${hook} ${args['node-flags']}`.trim();
  const refs = await referenceRuntimes(args);
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args['corelet-log-level']!,
    bridge: `mem${process.pid % 100000}`,
    subnet: `10.82.${process.pid % 250}.0/24`,
  });
  delete process.env.NODE_OPTIONS;
  const targets: Target[] = [
    { name: 'corelet', client: createCriClient(`unix://${corelet.socket}`), pid: corelet.pid, gc: true, onSandbox: (id) => corelet.noteSandbox(id) },
    ...refs.map((r) => ({ name: r.label, client: createCriClient(r.endpoint), pid: r.pid, gc: false })),
  ];
  const idle = new Map<string, Reading>();
  const held = new Map<string, Reading>();
  const atCheckpoint = new Map<string, Map<number, Reading>>();
  const cycleCpu = new Map<string, { self: number; children: number }>();
  const failures: string[] = [];
  let agent: AgentResult | string = 'skipped';
  try {
    for (const t of targets) {
      console.log(`${t.name}: daemon pid ${t.pid}`);
      await removeLeftovers(t);
      await t.client.image.PullImage({ image: { image: args.image! } });
      const st = await t.client.runtime.Status({ verbose: true });
      const sandboxImage = (JSON.parse(st.info?.config ?? '{}') as { sandboxImage?: string }).sandboxImage;
      if (sandboxImage) await t.client.image.PullImage({ image: { image: sandboxImage } });
    }
    // idle: corelet as started (plus one pull); the containerds as they run
    await sleep(2000);
    for (const t of targets) idle.set(t.name, await read(t));
    console.log('idle read');
    for (const t of targets) held.set(t.name, await withPods(t));
    console.log(`${PODS} pods read`);
    const cycling = args['cycles-corelet-only'] ? targets.slice(0, 1) : targets;
    let done = 0;
    for (const cp of CHECKPOINTS) {
      for (const t of cycling) {
        const cpu0 = await cpuMs(t.pid);
        const r = await cycles(t, done, cp - done);
        const cpu1 = await cpuMs(t.pid);
        const sum = cycleCpu.get(t.name) ?? { self: 0, children: 0 };
        cycleCpu.set(t.name, { self: sum.self + cpu1.self - cpu0.self, children: sum.children + cpu1.children - cpu0.children });
        if (r.failed > 0) failures.push(`${t.name}: ${r.failed} of cycles ${done}..${cp} failed, first: ${r.first}`);
        await sleep(1000);
        const m = atCheckpoint.get(t.name) ?? new Map<number, Reading>();
        m.set(cp, await read(t));
        atCheckpoint.set(t.name, m);
      }
      done = cp;
      console.log(`cycle ${cp} read; load ${load()}`);
    }
    if (!args['skip-agent']) {
      process.env.NODE_OPTIONS = `--expose-gc --import=${hook} ${args['node-flags']}`.trim();
      try {
        agent = await agentPass(`unix://${corelet.socket}`);
      } catch (e) {
        agent = String(e);
      } finally {
        delete process.env.NODE_OPTIONS;
      }
    }
  } finally {
    for (const t of targets) t.client.close();
    await corelet.stop();
    await rm(gcDir, { recursive: true, force: true });
    await rm(logRoot, { recursive: true, force: true });
  }
  report(targets, idle, held, atCheckpoint, cycleCpu, agent);
  for (const f of failures) console.log(`FAILED: ${f}`);
  console.log(`load avg at end: ${load()}`);
}

function report(
  targets: Target[],
  idle: Map<string, Reading>,
  held: Map<string, Reading>,
  atCheckpoint: Map<string, Map<number, Reading>>,
  cycleCpu: Map<string, { self: number; children: number }>,
  agent: AgentResult | string,
): void {
  const names = targets.map((t) => t.name);
  const c2 = names.find((n) => /v2\./.test(n));
  const ratio = (v: number | undefined, ref: number | undefined) => (v !== undefined && ref ? `${(v / ref).toFixed(2)}×` : 'n/a');
  const rows: string[][] = [['daemon PSS, MiB', ...names, ...(c2 ? [`corelet / ${c2}`] : [])]];
  const line = (label: string, m: Map<string, Reading> | undefined, gc = false) => {
    if (!m) return;
    const v = (n: string) => (gc ? m.get(n)?.gcPssKiB : m.get(n)?.pssKiB);
    rows.push([label, ...names.map((n) => (v(n) === undefined ? '-' : `${MiB(v(n)!)}${gc ? '' : ` (${m.get(n)!.sandboxes} pods)`}`)), ...(c2 ? [ratio(v('corelet'), m.get(c2)?.pssKiB)] : [])]);
  };
  line('idle', idle);
  line('  idle, after GC (corelet)', idle, true);
  line(`with ${PODS} pods`, held);
  line(`  with ${PODS} pods, after GC`, held, true);
  for (const cp of CHECKPOINTS) {
    const m = new Map([...atCheckpoint].map(([n, r]) => [n, r.get(cp)!] as const).filter(([, r]) => r));
    line(`after ${cp} cycles`, m);
    line(`  after ${cp} cycles, after GC`, m, true);
  }
  console.log('\n' + table(rows));
  const first = CHECKPOINTS[0]!;
  const last = CHECKPOINTS[CHECKPOINTS.length - 1]!;
  const growth: string[][] = [[`growth cycle ${first} → ${last}`, 'PSS', 'PSS after GC', 'heap used after GC', 'CPU ms per cycle: daemon + what it reaped', `goal ≤ ${GOAL_GROWTH * 100}%`]];
  for (const n of names) {
    const a = atCheckpoint.get(n)?.get(first);
    const b = atCheckpoint.get(n)?.get(last);
    if (!a || !b) continue;
    const pct = (x: number | undefined, y: number | undefined) => (x && y ? `${(((y - x) / x) * 100).toFixed(1)}%` : '-');
    const judged = a.gcPssKiB ?? a.pssKiB;
    const judgedB = b.gcPssKiB ?? b.pssKiB;
    growth.push([
      n,
      `${MiB(a.pssKiB)} → ${MiB(b.pssKiB)} (${pct(a.pssKiB, b.pssKiB)})`,
      a.gcPssKiB ? `${MiB(a.gcPssKiB)} → ${MiB(b.gcPssKiB!)} (${pct(a.gcPssKiB, b.gcPssKiB)})` : '-',
      a.gc && b.gc ? `${MiBb(a.gc.heapUsed)} → ${MiBb(b.gc.heapUsed)} (${pct(a.gc.heapUsed, b.gc.heapUsed)})` : '-',
      cycleCpu.has(n) ? `${(cycleCpu.get(n)!.self / last).toFixed(1)} + ${(cycleCpu.get(n)!.children / last).toFixed(1)}` : '-',
      (judgedB - judged) / judged <= GOAL_GROWTH ? 'met' : 'MISSED',
    ]);
  }
  if (growth.length > 1) console.log('\n' + table(growth));
  const heapRows: string[][] = [['corelet after GC, MiB', 'rss', 'heap used', 'heap total', 'new space', 'external', 'array buffers', 'malloced', 'handles']];
  const heapRow = (label: string, r: Reading | undefined) => {
    if (!r?.gc) return;
    const g = r.gc;
    const res = Object.entries(g.resources).map(([k, v]) => `${v} ${k}`).join(', ');
    heapRows.push([label, MiBb(g.rss), MiBb(g.heapUsed), MiBb(g.heapTotal), MiBb(g.newSpace), MiBb(g.external), MiBb(g.arrayBuffers), MiBb(g.mallocedMemory), res]);
  };
  heapRow('runtime idle', idle.get('corelet'));
  heapRow(`runtime, ${PODS} pods`, held.get('corelet'));
  for (const cp of CHECKPOINTS) heapRow(`runtime, after ${cp} cycles`, atCheckpoint.get('corelet')?.get(cp));
  if (typeof agent !== 'string') {
    heapRow('agent idle', agent.idle);
    heapRow(`agent, ${PODS} pods`, agent.withPods);
  }
  console.log('\n' + table(heapRows));
  const ci = idle.get('corelet')?.pssKiB;
  const ch = held.get('corelet')?.pssKiB;
  if (c2) {
    console.log(`\ngoal corelet ≤ ${GOAL_RATIO}× ${c2}: idle ${ratio(ci, idle.get(c2)?.pssKiB)} ${ci && ci <= GOAL_RATIO * idle.get(c2)!.pssKiB ? 'met' : 'MISSED'}, with ${PODS} pods ${ratio(ch, held.get(c2)?.pssKiB)} ${ch && ch <= GOAL_RATIO * held.get(c2)!.pssKiB ? 'met' : 'MISSED'}`);
  }
  if (typeof agent === 'string') console.log(`\nagent: ${agent}`);
  else {
    console.log(
      `\nagent over corelet runtime: PSS idle ${MiB(agent.idle.pssKiB)} MiB (after GC ${MiB(agent.idle.gcPssKiB!)}), with ${PODS} pods ${MiB(agent.withPods.pssKiB)} MiB (after GC ${MiB(agent.withPods.gcPssKiB!)}), ` +
        `${PODS} pods Ready in ${(agent.readyMs / 1000).toFixed(2)} s; goal ≤ ${GOAL_AGENT_MIB} MiB ${agent.withPods.pssKiB <= GOAL_AGENT_MIB * 1024 ? 'met' : 'MISSED'}${agent.error ? `; ${agent.error}` : ''}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
