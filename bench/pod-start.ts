/**
 * Runtime benchmark: pod start (RunPodSandbox + CreateContainer + StartContainer, busybox, image
 * present) for a private corelet runtime vs containerd 1.6 vs containerd 2.4 from ONE run, through
 * gRPC and through crictl, sequential and N in parallel, the runtimes alternating; the runc
 * create+start and netns+CNI floors measured in the same run; host load before/after and the CPU
 * model; then a trace of ONE corelet pod start (each step's ms and every program spawned).
 *
 *   node dist/bench/pod-start.js [--rounds 2] [--sequential 10] [--warmup 2] [--parallel 20]
 *     [--mode both|grpc|crictl] [--floors 8] [--trace|--no-trace] [--trace-only]
 *     [--containerd URL] [--containerd2 URL] [--skip-containerd|--skip-containerd1|--skip-containerd2]
 *     [--bridge ps-bench0] [--subnet 10.81.0.0/16] [--cgroup-parent /ps-bench]
 *     [--corelet-log-level info] [--save-log FILE]
 *
 * It never exits non-zero on a missed goal: it measures. Root; the registry must be up
 * (../shared/conformance/up.sh) and the image present or pullable.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { COMPARE_OPTIONS, CoreletDaemon, referenceRuntimes, removeCgroupTree } from './corelet-daemon.js';
import { cpuMsWithChildren as cpuMs, listProcs, memKiB, settledPssKiB, type Proc } from './procs.js';
import { mean, median, quantile, table } from './stats.js';
import { parseStrace, podTrace, profileSummary, spawnLabel } from './profile.js';

const exec = promisify(execFile);
const GOAL_START_RATIO = 0.6;
const NAMESPACE = 'ps-bench';

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    rounds: { type: 'string', default: '2' },
    sequential: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    parallel: { type: 'string', default: '20' },
    mode: { type: 'string', default: 'both' },
    floors: { type: 'string', default: '8' },
    trace: { type: 'boolean', default: true },
    'trace-only': { type: 'boolean', default: false },
    bridge: { type: 'string', default: 'ps-bench0' },
    subnet: { type: 'string', default: '10.81.0.0/17' },
    'baseline-subnet': { type: 'string', default: '10.81.128.0/17' },
    'cgroup-parent': { type: 'string', default: '/ps-bench' },
    crictl: { type: 'string', default: 'crictl' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    /** A second corelet build (its dist/src/cli/main.js) run as one more runtime of the same run: before/after under one load. */
    'baseline-cli': { type: 'string' },
    'corelet-log-level': { type: 'string', default: 'info' },
    'save-log': { type: 'string' },
  },
  allowNegative: true,
});
const ROUNDS = Number(args.rounds);
const SEQUENTIAL = Number(args.sequential);
const WARMUP = Number(args.warmup);
const PARALLEL = Number(args.parallel);
const FLOORS = Number(args.floors);
type Mode = 'grpc' | 'crictl';
const MODES: readonly Mode[] | undefined = args.mode === 'both' ? ['grpc', 'crictl'] : args.mode === 'grpc' || args.mode === 'crictl' ? [args.mode] : undefined;
if (!MODES) throw new Error(`--mode must be both, grpc or crictl, got "${args.mode}"`);

/** One runtime under test. */
interface Target {
  kind: 'corelet' | 'baseline' | 'reference';
  label: string;
  short: string;
  endpoint: string;
  client: CriClient;
  daemonPid: number;
  onSandbox?(id: string): void;
}

interface StartedPod {
  sandboxId: string;
  containerId: string;
  ms: number;
}

/** Samples of one runtime in one mode. */
interface Samples {
  seq: number[];
  par: number[];
  parWall: number[];
}

let logRoot = '';

function podConfig(name: string) {
  return {
    metadata: { name, namespace: NAMESPACE, uid: randomUUID(), attempt: 0 },
    hostname: name,
    log_directory: join(logRoot, name),
    linux: {},
  };
}

function containerConfig() {
  return { metadata: { name: 'sleep' }, image: { image: args.image! }, command: ['sleep', '3600'], log_path: 'sleep.log', linux: {} };
}

/** RunPodSandbox + CreateContainer + StartContainer over gRPC, timed as one sample. */
async function startPodGrpc(t: Target, name: string): Promise<StartedPod> {
  const config = podConfig(name);
  const started = performance.now();
  const { pod_sandbox_id: sandboxId } = await t.client.runtime.RunPodSandbox({ config, runtime_handler: '' });
  t.onSandbox?.(sandboxId);
  return orRemove(t, sandboxId, async () => {
    const { container_id: containerId } = await t.client.runtime.CreateContainer({ pod_sandbox_id: sandboxId, config: containerConfig(), sandbox_config: config });
    await t.client.runtime.StartContainer({ container_id: containerId });
    return { sandboxId, containerId, ms: performance.now() - started };
  });
}

/** The rest of a pod start; on failure the sandbox already made is removed before the error goes on. */
async function orRemove(t: Target, sandboxId: string, rest: () => Promise<StartedPod>): Promise<StartedPod> {
  try {
    return await rest();
  } catch (err) {
    await removePods(t, [{ sandboxId, containerId: '', ms: 0 }]);
    throw err;
  }
}

async function crictl(t: Target, cmd: string[]): Promise<string> {
  const { stdout } = await exec(args.crictl!, ['-r', t.endpoint, '-t', '120s', ...cmd]);
  return stdout.trim();
}

/** `crictl runp` + `crictl create` + `crictl start`, timed from outside as one sample. */
async function startPodCrictl(t: Target, name: string): Promise<StartedPod> {
  const config = podConfig(name);
  const dir = join(logRoot, `crictl-${name}`);
  await mkdir(dir, { recursive: true });
  const pod = join(dir, 'pod.json');
  const ctr = join(dir, 'ctr.json');
  await writeFile(pod, JSON.stringify(config));
  await writeFile(ctr, JSON.stringify(containerConfig()));
  const started = performance.now();
  const sandboxId = await crictl(t, ['runp', pod]);
  t.onSandbox?.(sandboxId);
  return orRemove(t, sandboxId, async () => {
    const containerId = await crictl(t, ['create', sandboxId, ctr, pod]);
    await crictl(t, ['start', containerId]);
    return { sandboxId, containerId, ms: performance.now() - started };
  });
}

const startPod = (mode: Mode, t: Target, name: string) => (mode === 'grpc' ? startPodGrpc(t, name) : startPodCrictl(t, name));

/** Stops and removes pods (best effort: one failure must not leave the others behind). */
async function removePods(t: Target, pods: readonly StartedPod[]): Promise<void> {
  await Promise.all(
    pods.map(async (p) => {
      await t.client.runtime.StopPodSandbox({ pod_sandbox_id: p.sandboxId }).catch((e) => console.error(`${t.short}: stop ${p.sandboxId}: ${e}`));
      await t.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.sandboxId }).catch((e) => console.error(`${t.short}: remove ${p.sandboxId}: ${e}`));
    }),
  );
}

/** Removes every pod of this bench's namespace a failed run may have left on the target. */
async function removeLeftovers(t: Target): Promise<void> {
  const { items } = await t.client.runtime.ListPodSandbox({ filter: null }).catch(() => ({ items: [] }));
  const ours = (items ?? []).filter((s) => s.metadata?.namespace === NAMESPACE);
  await removePods(t, ours.map((s) => ({ sandboxId: s.id, containerId: '', ms: 0 })));
}

/** The pid in a verbose status' info.info JSON (every runtime here puts it there). */
function verbosePid(info: Record<string, string> | undefined): number {
  try {
    return Number((JSON.parse(info?.info ?? '{}') as { pid?: number }).pid ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Per-pod process PSS: mean over pods of the summed PSS of each pod's runtime-side processes
 * (conmon or shim, pause, every parent of pause and app up to the daemon; app excluded).
 */
async function perPodMemory(t: Target, pods: readonly StartedPod[]): Promise<{ kib: number; names: string }> {
  const procs = await listProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const sums: number[] = [];
  const names = new Map<string, number>();
  for (const pod of pods) {
    const s = await t.client.runtime.PodSandboxStatus({ pod_sandbox_id: pod.sandboxId, verbose: true });
    const c = await t.client.runtime.ContainerStatus({ container_id: pod.containerId, verbose: true });
    const pause = verbosePid(s.info);
    const app = verbosePid(c.info);
    const mine = new Map<number, Proc>();
    for (const p of procs) if (p.pid !== process.pid && p.pid !== t.daemonPid && (p.args.includes(pod.sandboxId) || p.args.includes(pod.containerId))) mine.set(p.pid, p);
    if (byPid.get(pause)) mine.set(pause, byPid.get(pause)!);
    for (const start of [pause, app]) {
      let cur = byPid.get(byPid.get(start)?.ppid ?? 0);
      while (cur && cur.pid > 1 && cur.pid !== t.daemonPid && cur.pid !== process.pid) {
        mine.set(cur.pid, cur);
        cur = byPid.get(cur.ppid);
      }
    }
    mine.delete(app);
    let sum = 0;
    for (const p of mine.values()) {
      const m = await memKiB(p.pid).catch(() => undefined);
      if (!m) continue;
      sum += m.pss;
      names.set(p.comm, (names.get(p.comm) ?? 0) + 1);
    }
    sums.push(sum);
  }
  return { kib: mean(sums), names: [...names].map(([n, c]) => `${(c / pods.length).toFixed(c % pods.length ? 1 : 0)}× ${n}`).join(' + ') };
}

/** PARALLEL pods at once; returns their samples and the wall time (memory measured when asked). */
async function parallelRound(mode: Mode, t: Target, round: number, memory?: Map<string, string>): Promise<{ per: number[]; wall: number }> {
  const before = memory ? await settledPssKiB(t.daemonPid) : 0;
  const started = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: PARALLEL }, (_, i) => startPod(mode, t, `par-${mode}-${t.short}-${round}-${i}`)));
  const wall = performance.now() - started;
  const pods = settled.filter((s): s is PromiseFulfilledResult<StartedPod> => s.status === 'fulfilled').map((s) => s.value);
  try {
    const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw new Error(`${t.short}: ${PARALLEL - pods.length} of ${PARALLEL} parallel pods failed: ${failed.reason}`);
    if (memory) {
      await new Promise((r) => setTimeout(r, 1000));
      const withPods = await settledPssKiB(t.daemonPid);
      const mem = await perPodMemory(t, pods);
      memory.set(t.short, `${((((withPods - before) / PARALLEL) + mem.kib) / 1024).toFixed(2)} MiB (daemon ${(before / 1024).toFixed(1)} → ${(withPods / 1024).toFixed(1)} MiB; ${mem.names})`);
    }
    return { per: pods.map((p) => p.ms), wall };
  } finally {
    await removePods(t, pods);
  }
}

// ---- floors: what any runtime pays, measured on this host in this run ----

/** A runc bundle on the pause rootfs corelet uses; create+start timed, delete not. */
async function runcFloor(dir: string, rootfs: string, n: number): Promise<number[]> {
  const bundle = join(dir, 'runc-bundle');
  const root = join(dir, 'runc-root');
  await mkdir(bundle, { recursive: true });
  await exec('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  spec.process.terminal = false;
  spec.process.args = ['/pause'];
  spec.root = { path: rootfs, readonly: true };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `ps-floor-${process.pid}-${i}`;
    spec.linux.cgroupsPath = `${args['cgroup-parent']}-floor/${id}`;
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const started = performance.now();
    try {
      // stdio not piped: the container's init inherits runc create's, and would hold a pipe open
      await run('runc', ['--root', root, 'create', '--bundle', bundle, id]);
      await run('runc', ['--root', root, 'start', id]);
      out.push(performance.now() - started);
    } finally {
      await exec('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
    }
  }
  await removeCgroupTree(`${args['cgroup-parent']}-floor`);
  return out;
}

/** Runs a command with stdio to /dev/null; rejects on a non-zero exit. */
function run(file: string, argv: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(file, argv, { stdio: 'ignore' });
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${file} ${argv.join(' ')}: exit ${code}`))));
  });
}

interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string }>;
}

const CNI_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];

/** Runs one CNI plugin as libcni does; returns its stdout. */
function runPlugin(command: 'ADD' | 'DEL', plugin: Record<string, unknown> & { type: string }, env: Record<string, string>): Promise<string> {
  return new Promise((res, rej) => {
    const bin = CNI_BIN_DIRS.map((d) => join(d, plugin.type));
    const child = spawn(bin.find((b) => existsSync(b)) ?? bin[0]!, [], { env: { ...env, CNI_COMMAND: command, CNI_PATH: CNI_BIN_DIRS.join(':') } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.resume();
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res(stdout) : rej(new Error(`CNI ${command} ${plugin.type}: exit ${code}: ${stdout}`))));
    child.stdin.end(JSON.stringify(plugin));
  });
}

/**
 * `ip netns add` + the CNI chain's ADD (same config list as the corelet daemon), timed; DEL not.
 * Then the same chain with the bridge's ipMasq off: the cost of
 * the per-pod masquerade chain (the bridge plugin runs iptables for it) on this host.
 */
async function cniFloor(confDir: string, n: number): Promise<{ asConfigured: number[]; noIpMasq: number[] }> {
  const file = (await readdir(confDir)).filter((f) => f.endsWith('.conflist')).sort()[0];
  if (!file) throw new Error(`no .conflist in ${confDir}`);
  const configured = JSON.parse(await readFile(join(confDir, file), 'utf8')) as ConfList;
  const noMasq: ConfList = { ...configured, plugins: configured.plugins.map((p) => (p.type === 'bridge' ? { ...p, ipMasq: false } : p)) };
  return { asConfigured: await cniChainAdd(configured, n, 'a'), noIpMasq: await cniChainAdd(noMasq, n, 'b') };
}

async function cniChainAdd(list: ConfList, n: number, tag: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ps-floor-${process.pid}-${tag}${i}`;
    const env = { CNI_CONTAINERID: `${ns}-${randomUUID().slice(0, 8)}`, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', PATH: process.env.PATH ?? '' };
    const conf = (p: ConfList['plugins'][number], prev?: unknown) => ({ ...p, cniVersion: list.cniVersion, name: list.name, ...(prev ? { prevResult: prev } : {}) });
    const started = performance.now();
    try {
      await exec('ip', ['netns', 'add', ns]);
      let prev: unknown;
      for (const p of list.plugins) {
        const r = await runPlugin('ADD', conf(p, prev), env);
        prev = JSON.parse(r || '{}');
      }
      out.push(performance.now() - started);
    } finally {
      for (const p of [...list.plugins].reverse()) await runPlugin('DEL', conf(p), env).catch((e) => console.error(`floor: ${e}`));
      await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }
  return out;
}

// ---- the trace of one pod ----

/** Starts strace on pid (following every descendant) and resolves once it is attached. */
async function startStrace(pid: number, file: string): Promise<() => Promise<string>> {
  const child = spawn('strace', ['-f', '--seccomp-bpf', '-q', '-ttt', '-e', 'trace=execve', '-s', '64', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    if (/TracerPid:\s+[1-9]/.test(status)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return async () => {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await gone;
    return readFile(file, 'utf8');
  };
}

async function traceOnePod(cli: string, dir: string): Promise<void> {
  console.log('\n## trace of ONE corelet pod start (gRPC; a private daemon at --log-level debug, traced by strace -f)');
  const d = await CoreletDaemon.start({ cli, logLevel: 'debug', bridge: `${args.bridge}t`.slice(0, 15), subnet: args.subnet!, cgroupParent: `${args['cgroup-parent']}-trace` });
  const client = createCriClient(`unix://${d.socket}`);
  const t: Target = { kind: 'corelet', label: 'corelet', short: 'corelet', endpoint: `unix://${d.socket}`, client, daemonPid: d.pid, onSandbox: (id) => d.noteSandbox(id) };
  const pods: StartedPod[] = [];
  try {
    await client.image.PullImage({ image: { image: args.image! } });
    // two warm-up pods: the first one loads code paths, the bridge and its iptables chains
    for (let i = 0; i < 2; i++) pods.push(await startPodGrpc(t, `trace-warm-${i}`));
    const stop = await startStrace(d.pid, join(dir, 'strace.txt'));
    const from = Date.now();
    const pod = await startPodGrpc(t, 'trace-pod');
    const to = Date.now();
    pods.push(pod);
    const spawns = parseStrace(await stop()).filter((s) => s.at >= from - 1 && s.at <= to + 1);
    console.log(`pod ${pod.sandboxId.slice(0, 12)}: ${pod.ms.toFixed(0)} ms end to end; host load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log(podTrace(await d.readLog(), spawns, [from, to], pod.sandboxId));
    const counts = new Map<string, number>();
    for (const s of spawns) {
      const name = spawnLabel(s.argv.slice(0, 1));
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    console.log(`\nprograms run (execve) for this one pod start: ${spawns.length} = ${[...counts].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${c}× ${n}`).join(', ')}`);
    console.log('\nsummary of the same pod by step (runs, median, total ms):');
    console.log(profileSummary(await d.readLog(), [from, to], 1, new Set([pod.sandboxId])));
  } finally {
    await removePods(t, pods);
    client.close();
    await d.stop();
  }
}

// ---- report ----

const fmtMs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

function hostLine(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /model name\s*:\s*(.*)/.exec(info)?.[1] ?? 'unknown';
}

async function commit(): Promise<string> {
  return exec('git', ['-C', import.meta.dirname, 'describe', '--always', '--dirty']).then((r) => r.stdout.trim(), () => 'unknown');
}

function report(mode: Mode, targets: readonly Target[], samples: Map<string, Samples>): void {
  const refs = targets.filter((t) => t.kind === 'reference');
  const base = targets.find((t) => t.kind === 'baseline');
  const c = samples.get('corelet')!;
  const metric = (label: string, f: (s: Samples) => number) => {
    const vals = targets.map((t) => f(samples.get(t.short)!));
    const own = f(c);
    const refVals = refs.map((r) => f(samples.get(r.short)!));
    return [
      label,
      ...vals.map(fmtMs),
      ...(base ? [ratio(own, f(samples.get(base.short)!))] : []),
      ...refVals.map((v) => ratio(own, v)),
      refs.length ? ratio(own, Math.min(...refVals)) : '-',
    ];
  };
  console.log(`\n### ${mode === 'grpc' ? 'through gRPC (bench client → CRI socket)' : 'through crictl (runp + create + start, timed from outside)'}`);
  console.log(
    table([
      ['metric', ...targets.map((t) => t.label), ...(base ? ['corelet/baseline'] : []), ...refs.map((r) => `corelet/${r.short}`), 'corelet/faster'],
      metric(`sequential median (n=${c.seq.length})`, (s) => median(s.seq)),
      metric('sequential p90', (s) => quantile(s.seq, 0.9)),
      metric(`parallel (${PARALLEL}) per-pod median`, (s) => median(s.par)),
      metric(`parallel (${PARALLEL}) per-pod p90`, (s) => quantile(s.par, 0.9)),
      metric(`parallel (${PARALLEL}) wall, median of ${ROUNDS}`, (s) => median(s.parWall)),
    ]),
  );
  if (refs.length) {
    const fastest = (f: (s: Samples) => number) => Math.min(...refs.map((r) => f(samples.get(r.short)!)));
    const seqR = median(c.seq) / fastest((s) => median(s.seq));
    const parR = median(c.par) / fastest((s) => median(s.par));
    console.log(`goal ≤ ${GOAL_START_RATIO}× the faster containerd: sequential ${seqR.toFixed(2)}× ${seqR <= GOAL_START_RATIO ? 'PASS' : 'MISS'}; parallel ${parR.toFixed(2)}× ${parR <= GOAL_START_RATIO ? 'PASS' : 'MISS'}`);
  }
}

async function main(): Promise<void> {
  const load0 = hostLine();
  const t0 = new Date().toISOString();
  console.log(`pod-start bench ${t0}, commit ${await commit()}, CPU ${await cpuModel()} × ${availableParallelism()}, load before ${load0}`);
  logRoot = await mkdtemp(join(tmpdir(), 'ps-bench-'));
  const cli = args['corelet-cli']!;
  try {
    if (!args['trace-only']) await compare(cli);
    if (args.trace || args['trace-only']) await traceOnePod(cli, logRoot);
  } finally {
    await rm(logRoot, { recursive: true, force: true });
  }
  console.log(`\nhost load (1/5/15 min) before ${load0}, after ${hostLine()}, on ${availableParallelism()} CPUs`);
}

async function compare(cli: string): Promise<void> {
  const corelet = await CoreletDaemon.start({ cli, logLevel: args['corelet-log-level']!, bridge: args.bridge!, subnet: args.subnet!, cgroupParent: args['cgroup-parent']! });
  const targets: Target[] = [];
  let baseline: CoreletDaemon | undefined;
  try {
    if (args['baseline-cli']) {
      baseline = await CoreletDaemon.start({ cli: args['baseline-cli'], logLevel: args['corelet-log-level']!, bridge: `${args.bridge}b`.slice(0, 15), subnet: args['baseline-subnet']!, cgroupParent: `${args['cgroup-parent']}-baseline` });
      console.log(`baseline: ${args['baseline-cli']}`);
    }
    const refs = await referenceRuntimes(args);
    targets.push({ kind: 'corelet', label: 'corelet', short: 'corelet', endpoint: `unix://${corelet.socket}`, client: createCriClient(`unix://${corelet.socket}`), daemonPid: corelet.pid, onSandbox: (id) => corelet.noteSandbox(id) });
    const base = baseline;
    if (base) targets.push({ kind: 'baseline', label: 'corelet baseline', short: 'baseline', endpoint: `unix://${base.socket}`, client: createCriClient(`unix://${base.socket}`), daemonPid: base.pid, onSandbox: (id) => base.noteSandbox(id) });
    for (const r of refs) targets.push({ kind: 'reference', label: r.label, short: r.label.includes('v2') || r.endpoint.includes('containerd2') ? 'ctrd2' : 'ctrd1', endpoint: r.endpoint, client: createCriClient(r.endpoint), daemonPid: r.pid });
    for (const t of targets) {
      console.log(`${t.short}: ${t.label} at ${t.endpoint} (daemon pid ${t.daemonPid})`);
      await removeLeftovers(t);
      await t.client.image.PullImage({ image: { image: args.image! } });
      // containerd pulls its sandbox image on the first RunPodSandbox; pull it now so no sample waits on it
      const st = await t.client.runtime.Status({ verbose: true });
      const sandboxImage = (JSON.parse(st.info?.config ?? '{}') as { sandboxImage?: string }).sandboxImage;
      if (sandboxImage) await t.client.image.PullImage({ image: { image: sandboxImage } });
    }

    // floors, between the warm-ups and the samples (the daemon has written its config list by now)
    for (const t of targets) {
      const warm: StartedPod[] = [];
      for (let i = 0; i < WARMUP; i++) warm.push(await startPodGrpc(t, `warm-${t.short}-${i}`));
      await removePods(t, warm);
    }
    const pauseRootfs = resolve(cli, '..', '..', '..', 'pause', 'rootfs');
    const runcMs = await runcFloor(logRoot, pauseRootfs, FLOORS);
    const cniFloors = await cniFloor(join(corelet.dir, 'net.d'), FLOORS);
    const cniMs = cniFloors.asConfigured;

    const cpu0 = await cpuMs(corelet.pid);
    const baseCpu0 = baseline ? await cpuMs(baseline.pid) : undefined;
    let coreletSeqPods = 0;
    const results = new Map<Mode, Map<string, Samples>>();
    const memory = new Map<string, string>();
    for (const mode of MODES!) {
      const samples = new Map<string, Samples>(targets.map((t) => [t.short, { seq: [], par: [], parWall: [] }]));
      results.set(mode, samples);
      for (let round = 0; round < ROUNDS; round++) {
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        console.log(`${mode} round ${round + 1}: ${SEQUENTIAL} sequential pods each, alternating pod by pod (${order.map((t) => t.short).join(', ')}); load ${hostLine()}`);
        const made = new Map<string, StartedPod[]>(targets.map((t) => [t.short, []]));
        try {
          for (let i = 0; i < SEQUENTIAL; i++) {
            for (const t of order) {
              const pod = await startPod(mode, t, `seq-${mode}-${t.short}-${round}-${i}`);
              made.get(t.short)!.push(pod);
              samples.get(t.short)!.seq.push(pod.ms);
              if (t.short === 'corelet') coreletSeqPods++;
            }
          }
        } finally {
          for (const t of targets) await removePods(t, made.get(t.short)!);
        }
        for (const t of order) {
          console.log(`${mode} round ${round + 1}: ${PARALLEL} pods at once on ${t.short}; load ${hostLine()}`);
          const { per, wall } = await parallelRound(mode, t, round, mode === 'grpc' && round === 0 ? memory : undefined);
          samples.get(t.short)!.par.push(...per);
          samples.get(t.short)!.parWall.push(wall);
        }
      }
    }
    const cpu1 = await cpuMs(corelet.pid);
    const baseCpu1 = baseline ? await cpuMs(baseline.pid) : undefined;
    const coreletPods = coreletSeqPods + PARALLEL * ROUNDS * MODES!.length;

    console.log(`\n## pod start: ${targets.map((t) => t.label).join(' vs ')}; ${ROUNDS} rounds, runtimes alternating`);
    for (const mode of MODES!) report(mode, targets, results.get(mode)!);
    console.log('\n### floors on this host, same run (medians of ' + FLOORS + ')');
    const runc = median(runcMs);
    const cni = median(cniMs);
    console.log(
      table([
        ['floor', 'median', 'min'],
        ['runc create + start (pause rootfs, runc directly)', fmtMs(runc), fmtMs(Math.min(...runcMs))],
        ['ip netns add + CNI ADD chain (same conflist)', fmtMs(cni), fmtMs(Math.min(...cniMs))],
        ['  the same, bridge ipMasq off (no per-pod iptables)', fmtMs(median(cniFloors.noIpMasq)), fmtMs(Math.min(...cniFloors.noIpMasq))],
        ['pod, serial: netns+CNI + 2 × runc', fmtMs(cni + 2 * runc), '-'],
        ['pod, overlapped: max(netns+CNI, runc) + runc', fmtMs(Math.max(cni, runc) + runc), '-'],
      ]),
    );
    console.log(`\ncorelet daemon CPU (utime+stime, self + reaped children such as CNI plugins + its live children, the host helper with what it reaped; conmon and the runc under it are not its children): ${((cpu1.self + cpu1.children - cpu0.self - cpu0.children) / coreletPods).toFixed(1)} ms per pod over ${coreletPods} pods`);
    // the baseline starts as many pods as corelet (same rounds, same counts)
    if (baseCpu0 && baseCpu1) console.log(`baseline daemon CPU, the same way: ${((baseCpu1.self + baseCpu1.children - baseCpu0.self - baseCpu0.children) / coreletPods).toFixed(1)} ms per pod over ${coreletPods} pods`);
    if (memory.size) {
      console.log('memory per running pod (daemon PSS growth per pod + the pod\'s runtime processes; first gRPC parallel round):');
      for (const t of targets) if (memory.has(t.short)) console.log(`  ${t.short}: ${memory.get(t.short)}`);
    }
  } finally {
    if (args['save-log']) await corelet.saveLog(args['save-log']).catch(() => undefined);
    for (const t of targets) {
      await removeLeftovers(t).catch(() => undefined);
      t.client.close();
    }
    await corelet.stop();
    await baseline?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
