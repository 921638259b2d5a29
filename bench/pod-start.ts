/**
 * Runtime benchmark: pod start latency (RunPodSandbox + CreateContainer + StartContainer,
 * sequential and N in parallel) and memory per running pod (daemon + per-pod processes), for a
 * private corelet runtime and for containerd's CRI plugin in the same run, with the ratio.
 *
 *   node dist/bench/pod-start.js [--containerd unix:///run/containerd/containerd.sock]
 *     [--containerd-pid PID] [--sequential 15] [--warmup 2] [--parallel 20]
 *     [--corelet-log-level info] [--profile] [--save-log FILE] [--skip-containerd]
 *
 * --profile runs corelet with --log-level debug and summarises where its pod-start time goes
 * (RPCs, CNI plugins, conmon, runc) from the daemon's own timings. It never exits non-zero on a
 * missed goal: it measures.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { COMPARE_OPTIONS, CoreletDaemon } from './corelet-daemon.js';
import { findContainerdPid, listProcs, memKiB, settledPssKiB, type Proc } from './procs.js';
import { mean, median, quantile, table } from './stats.js';
import { profileSummary } from './profile.js';

const GOAL_START_RATIO = 0.6;
const GOAL_POD_MIB = 2;

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    sequential: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    parallel: { type: 'string', default: '20' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'corelet-log-level': { type: 'string', default: 'info' },
    profile: { type: 'boolean', default: false },
    'save-log': { type: 'string' },
  },
});
const SEQUENTIAL = Number(args.sequential);
const WARMUP = Number(args.warmup);
const PARALLEL = Number(args.parallel);

/** One runtime under test, as the benchmark sees it. */
interface Target {
  name: 'corelet' | 'containerd';
  client: CriClient;
  /** Pid of the runtime daemon whose PSS counts. */
  daemonPid: number;
  /** Called with every sandbox id the target created (for cleanup bookkeeping). */
  onSandbox?(id: string): void;
}

interface StartedPod {
  sandboxId: string;
  containerId: string;
  ms: number;
}

/** Everything measured for one runtime. */
interface Result {
  seq: number[];
  par: number[];
  parWallMs: number;
  daemonBeforeKiB: number;
  daemonWithPodsKiB: number;
  perPodProcKiB: number;
  /** RSS of the same processes: shared pages counted in full, for comparison with `ps` figures. */
  perPodProcRssKiB: number;
  perPodProcNames: string;
}

let logRoot = '';

function podConfig(name: string) {
  return {
    metadata: { name, namespace: 'corelet-bench', uid: randomUUID(), attempt: 0 },
    hostname: name,
    log_directory: join(logRoot, name),
    linux: {},
  };
}

/** RunPodSandbox + CreateContainer + StartContainer, timed as one sample. */
async function startPod(t: Target, name: string): Promise<StartedPod> {
  const config = podConfig(name);
  const started = performance.now();
  const { pod_sandbox_id: sandboxId } = await t.client.runtime.RunPodSandbox({ config, runtime_handler: '' });
  t.onSandbox?.(sandboxId);
  const { container_id: containerId } = await t.client.runtime.CreateContainer({
    pod_sandbox_id: sandboxId,
    config: { metadata: { name: 'sleep' }, image: { image: args.image }, command: ['sleep', '3600'], log_path: 'sleep.log', linux: {} },
    sandbox_config: config,
  });
  await t.client.runtime.StartContainer({ container_id: containerId });
  return { sandboxId, containerId, ms: performance.now() - started };
}

/** Stops and removes pods (best effort: one failure must not leave the others behind). */
async function removePods(t: Target, pods: readonly StartedPod[]): Promise<void> {
  await Promise.all(
    pods.map(async (p) => {
      await t.client.runtime.StopPodSandbox({ pod_sandbox_id: p.sandboxId }).catch((e) => console.error(`${t.name}: stop ${p.sandboxId}: ${e}`));
      await t.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.sandboxId }).catch((e) => console.error(`${t.name}: remove ${p.sandboxId}: ${e}`));
    }),
  );
}

/** Removes every pod of our namespace a failed run may have left on the target. */
async function removeLeftovers(t: Target): Promise<void> {
  const { items } = await t.client.runtime.ListPodSandbox({ filter: null }).catch(() => ({ items: [] }));
  const ours = (items ?? []).filter((s) => s.metadata?.namespace === 'corelet-bench');
  await removePods(t, ours.map((s) => ({ sandboxId: s.id, containerId: '', ms: 0 })));
}

async function pull(t: Target, image: string): Promise<void> {
  await t.client.image.PullImage({ image: { image } });
}

/** The pid in a verbose status' info.info JSON (both runtimes put it there). */
function verbosePid(info: Record<string, string> | undefined): number {
  try {
    return Number((JSON.parse(info?.info ?? '{}') as { pid?: number }).pid ?? 0);
  } catch {
    return 0;
  }
}

/** Per-pod process PSS: mean over pods of the summed PSS of each pod's runtime-side processes. */
async function perPodMemory(t: Target, pods: readonly StartedPod[]): Promise<{ kib: number; rssKib: number; names: string }> {
  const pids = await podPids(t, pods);
  const procs = await listProcs();
  const sums: number[] = [];
  const rssSums: number[] = [];
  const names = new Map<string, number>();
  for (const pod of pods) {
    const { pause, app } = pids.get(pod.sandboxId)!;
    const mine = podProcs(t.daemonPid, pod, procs, pause, app);
    let sum = 0;
    let rss = 0;
    for (const p of mine) {
      // a zombie or a process gone since listing has no memory to count
      const m = await memKiB(p.pid).catch(() => undefined);
      if (!m) continue;
      sum += m.pss;
      rss += m.rss;
      names.set(p.comm, (names.get(p.comm) ?? 0) + 1);
    }
    sums.push(sum);
    rssSums.push(rss);
  }
  const nameText = [...names].map(([n, c]) => `${(c / pods.length).toFixed(c % pods.length ? 1 : 0)}× ${n}`).join(' + ');
  return { kib: mean(sums), rssKib: mean(rssSums), names: nameText };
}

/**
 * The processes of one pod, apart from its app process: everything whose command line names the
 * sandbox or container id (conmon, containerd's shim), the pause process, and every parent of the
 * pause and app processes up to (not including) the daemon or init: whatever was spawned to keep
 * the pod running counts, whichever way it names itself.
 */
function podProcs(daemonPid: number, pod: StartedPod, procs: Proc[], pausePid: number, appPid: number): Proc[] {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const out = new Map<number, Proc>();
  for (const p of procs) {
    if (p.pid === process.pid || p.pid === daemonPid) continue;
    if (p.args.includes(pod.sandboxId) || p.args.includes(pod.containerId)) out.set(p.pid, p);
  }
  const pause = byPid.get(pausePid);
  if (pause) out.set(pause.pid, pause);
  for (const start of [pausePid, appPid]) {
    let cur = byPid.get(byPid.get(start)?.ppid ?? 0);
    while (cur && cur.pid > 1 && cur.pid !== daemonPid && cur.pid !== process.pid) {
      out.set(cur.pid, cur);
      cur = byPid.get(cur.ppid);
    }
  }
  out.delete(appPid);
  return [...out.values()];
}

/** Pause and app pids of each pod, from the verbose statuses. */
async function podPids(t: Target, pods: readonly StartedPod[]): Promise<Map<string, { pause: number; app: number }>> {
  const out = new Map<string, { pause: number; app: number }>();
  for (const p of pods) {
    const s = await t.client.runtime.PodSandboxStatus({ pod_sandbox_id: p.sandboxId, verbose: true });
    const c = await t.client.runtime.ContainerStatus({ container_id: p.containerId, verbose: true });
    const pids = { pause: verbosePid(s.info), app: verbosePid(c.info) };
    if (!pids.pause || !pids.app) throw new Error(`${t.name}: no pause/app pid in verbose status of pod ${p.sandboxId}`);
    out.set(p.sandboxId, pids);
  }
  return out;
}

async function sequentialSample(t: Target, i: number, pods: StartedPod[]): Promise<number> {
  const pod = await startPod(t, `seq-${t.name}-${i}`);
  pods.push(pod);
  return pod.ms;
}

/** Starts PARALLEL pods at once, measures memory with them running, then removes them. */
async function parallelAndMemory(t: Target): Promise<Omit<Result, 'seq'>> {
  const daemonBeforeKiB = await settledPssKiB(t.daemonPid);
  const started = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: PARALLEL }, (_, i) => startPod(t, `par-${t.name}-${i}`)));
  const parWallMs = performance.now() - started;
  const pods = settled.filter((s): s is PromiseFulfilledResult<StartedPod> => s.status === 'fulfilled').map((s) => s.value);
  try {
    const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw new Error(`${t.name}: ${PARALLEL - pods.length} of ${PARALLEL} parallel pods failed: ${failed.reason}`);
    // let the daemon settle (log flushes, gRPC buffers) before reading its footprint
    await new Promise((r) => setTimeout(r, 1000));
    const daemonWithPodsKiB = await settledPssKiB(t.daemonPid);
    const mem = await perPodMemory(t, pods);
    return {
      par: pods.map((p) => p.ms),
      parWallMs,
      daemonBeforeKiB,
      daemonWithPodsKiB,
      perPodProcKiB: mem.kib,
      perPodProcRssKiB: mem.rssKib,
      perPodProcNames: mem.names,
    };
  } finally {
    await removePods(t, pods);
  }
}

const fmtMs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const fmtMiB = (kib: number) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(2)} MiB` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

function report(c: Result, d: Result | undefined): void {
  const perPod = (r: Result) => (r.daemonWithPodsKiB - r.daemonBeforeKiB) / PARALLEL + r.perPodProcKiB;
  const row = (label: string, f: (r: Result) => number, fmt: (v: number) => string) => [label, fmt(f(c)), d ? fmt(f(d)) : '-', d ? ratio(f(c), f(d)) : '-'];
  const rows = [
    ['metric', 'corelet', 'containerd', 'ratio (corelet/containerd)'],
    row(`sequential start median (n=${c.seq.length})`, (r) => median(r.seq), fmtMs),
    row('sequential start p90', (r) => quantile(r.seq, 0.9), fmtMs),
    row('sequential start min', (r) => Math.min(...r.seq), fmtMs),
    row(`parallel (${PARALLEL}) per-pod median`, (r) => median(r.par), fmtMs),
    row(`parallel (${PARALLEL}) per-pod p90`, (r) => quantile(r.par, 0.9), fmtMs),
    row(`parallel (${PARALLEL}) total wall`, (r) => r.parWallMs, fmtMs),
    row('daemon PSS before pods', (r) => r.daemonBeforeKiB, fmtMiB),
    row(`daemon PSS with ${PARALLEL} pods`, (r) => r.daemonWithPodsKiB, fmtMiB),
    row('daemon PSS growth per pod', (r) => (r.daemonWithPodsKiB - r.daemonBeforeKiB) / PARALLEL, fmtMiB),
    row('per-pod processes PSS', (r) => r.perPodProcKiB, fmtMiB),
    row('memory per running pod', perPod, fmtMiB),
    row('(per-pod processes RSS, for reference)', (r) => r.perPodProcRssKiB, fmtMiB),
  ];
  console.log('\n' + table(rows));
  console.log(`\nper-pod processes: corelet ${c.perPodProcNames}${d ? `; containerd ${d.perPodProcNames}` : ''} (app process excluded)`);
  console.log('\ngoals:');
  if (d) {
    const seqR = median(c.seq) / median(d.seq);
    const parR = median(c.par) / median(d.par);
    console.log(`  median pod start <= ${GOAL_START_RATIO}× containerd: sequential ${seqR.toFixed(2)}× ${seqR <= GOAL_START_RATIO ? 'PASS' : 'MISS'}; parallel ${parR.toFixed(2)}× ${parR <= GOAL_START_RATIO ? 'PASS' : 'MISS'}`);
  } else {
    console.log(`  median pod start <= ${GOAL_START_RATIO}× containerd: n/a (containerd skipped)`);
  }
  const mib = perPod(c) / 1024;
  console.log(`  memory per running pod <= ${GOAL_POD_MIB} MiB: ${mib.toFixed(2)} MiB ${mib <= GOAL_POD_MIB ? 'PASS' : 'MISS'}`);
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  logRoot = await mkdtemp(join(tmpdir(), 'corelet-bench-logs-'));
  const logLevel = args.profile ? 'debug' : args['corelet-log-level']!;
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel,
    bridge: `clbench${process.pid % 10000}`,
    subnet: `10.${180 + (process.pid % 20)}.${process.pid % 250}.0/24`,
  });
  const targets: Target[] = [];
  const profileWindow: [number, number] = [0, 0];
  const seq = new Map<string, number[]>();
  const seqPods = new Map<string, StartedPod[]>();
  try {
    const c: Target = {
      name: 'corelet',
      client: createCriClient(`unix://${corelet.socket}`),
      daemonPid: corelet.pid,
      onSandbox: (id) => corelet.noteSandbox(id),
    };
    targets.push(c);
    if (!args['skip-containerd']) {
      targets.push({
        name: 'containerd',
        client: createCriClient(args.containerd!),
        daemonPid: args['containerd-pid'] ? Number(args['containerd-pid']) : await findContainerdPid(),
      });
    }
    for (const t of targets) {
      seq.set(t.name, []);
      seqPods.set(t.name, []);
      const v = await t.client.runtime.Version({});
      console.log(`${t.name}: ${v.runtime_name} ${v.runtime_version} (daemon pid ${t.daemonPid})`);
      await removeLeftovers(t);
      await pull(t, args.image!);
    }
    // containerd pulls its sandbox image on the first RunPodSandbox; pull it now so no sample waits on it
    if (targets[1]) {
      const st = await targets[1].client.runtime.Status({ verbose: true });
      const sandboxImage = (JSON.parse(st.info?.config ?? '{}') as { sandboxImage?: string }).sandboxImage;
      if (sandboxImage) await pull(targets[1], sandboxImage);
    }

    // Sequential: the runtimes take turns pod by pod, so drift on the host hits both alike.
    console.log(`sequential: ${SEQUENTIAL} pods each (${WARMUP} warm-up)`);
    try {
      for (let i = 0; i < SEQUENTIAL; i++) {
        if (i === WARMUP) profileWindow[0] = Date.now();
        for (const t of targets) {
          const ms = await sequentialSample(t, i, seqPods.get(t.name)!);
          if (i >= WARMUP) seq.get(t.name)!.push(ms);
        }
        if (i === SEQUENTIAL - 1) profileWindow[1] = Date.now();
      }
    } finally {
      for (const t of targets) await removePods(t, seqPods.get(t.name)!);
    }

    // Parallel + memory: one runtime at a time, so each has the host to itself.
    const results = new Map<string, Result>();
    for (const t of targets) {
      console.log(`parallel: ${PARALLEL} pods at once on ${t.name}`);
      results.set(t.name, { seq: seq.get(t.name)!, ...(await parallelAndMemory(t)) });
    }
    report(results.get('corelet')!, results.get('containerd'));
    // other work on the host skews latency: say how busy it was
    console.log(`host load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)}, on ${availableParallelism()} CPUs`);
    if (args.profile) {
      console.log('\ncorelet pod-start profile (sequential, counted pods; from --log-level debug):');
      const counted = new Set(seqPods.get('corelet')!.slice(WARMUP).map((p) => p.sandboxId));
      console.log(profileSummary(await corelet.readLog(), profileWindow, SEQUENTIAL - WARMUP, counted));
      console.log('(CNI ADD runs side by side with the pause container in RunPodSandbox, so steps overlap.)');
    }
  } finally {
    if (args['save-log']) await corelet.saveLog(args['save-log']).catch(() => undefined);
    for (const t of targets) t.client.close();
    await corelet.stop();
    await rm(logRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
