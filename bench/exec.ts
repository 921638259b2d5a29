/**
 * Exec benchmark: corelet vs containerd 1.6 vs containerd 2.4 from one run, the runtimes taking
 * turns chunk by chunk: ExecSync `true` latency (p50/p99 through the CRI client), `crictl exec
 * <id> true` wall time from spawn to exit (p50/p99), the OCI runtime's own floor measured in the
 * same run (`<runtime> exec <id> true` straight into the container: crun or runc into corelet's,
 * runc into containerd 2.4's), the runtime's CPU per ExecSync, and exec streaming throughput
 * (`cat` of a large file through `crictl exec`, SPDY and WebSocket). Prints the CPU model and the
 * load before and after.
 *
 *   node dist/bench/exec.js [--skip-containerd] [--skip-containerd1] [--skip-containerd2]
 *     [--execs 200] [--warmup 10] [--chunk 20] [--crictl-execs 60] [--runs 5] [--size-mib 64]
 *     [--crictl crictl] [--corelet-log-level info] [--save-log FILE] [--trace]
 *
 * --trace runs corelet at debug level and prints the median of each step of its ExecSync `true`
 * (container lookup, reading its spec, the exec's files, spawning runc, runc until it exits, the
 * output's end, cleanup; the whole RPC) and of its streaming `crictl exec true` sessions.
 *
 * Throughput counts wall time from spawning crictl to its exit, so it includes crictl's own
 * start and the Exec RPC; the "crictl exec true" rows show that fixed cost on its own. On a busy
 * host wall time follows each side's share of the CPUs, so the runtime's CPU time (daemon plus
 * what it spawned and reaped: corelet's runc/crun, conmon and corelet-io, containerd's shim and
 * its children) is reported too. crictl's own CPU is not counted. MB is 10^6 bytes. It never
 * exits non-zero on a slow figure: it measures.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, getPriority, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { COMPARE_OPTIONS, CoreletDaemon, referenceRuntimes } from './corelet-daemon.js';
import { cpuMs, listProcs } from './procs.js';
import { mean, median, quantile, table } from './stats.js';
import { messageOf } from '../src/lib/index.js';

const NAMESPACE = 'corelet-bench-exec';
const BIG_FILE = '/tmp/big';
/** containerd's runc shim keeps its containers' state here (1.6 and 2.4 alike, namespace k8s.io). */
const CONTAINERD_RUNC_ROOT = '/run/containerd/runc/k8s.io';

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    execs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '10' },
    chunk: { type: 'string', default: '20' },
    'crictl-execs': { type: 'string', default: '60' },
    runs: { type: 'string', default: '5' },
    'size-mib': { type: 'string', default: '64' },
    crictl: { type: 'string', default: 'crictl' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'corelet-log-level': { type: 'string', default: 'info' },
    'save-log': { type: 'string' },
    /** Runs corelet at debug level and prints where its ExecSync and streaming exec time went. */
    trace: { type: 'boolean', default: false },
  },
});
const EXECS = Number(args.execs);
const WARMUP = Number(args.warmup);
const CHUNK = Number(args.chunk);
const CRICTL_EXECS = Number(args['crictl-execs']);
const RUNS = Number(args.runs);
const SIZE_MIB = Number(args['size-mib']);

type Transport = 'spdy' | 'websocket';

/** One runtime under test. */
interface Target {
  /** "corelet", "containerd 1.6.20", "containerd v2.4.2". */
  name: string;
  endpoint: string;
  client: CriClient;
  onSandbox?(id: string): void;
  /** Processes whose CPU time is the runtime's: the daemon, and containerd's shim of our pod. */
  serverPids: number[];
  /** The OCI runtime binary and --root its containers live under, for the floor. */
  oci?: { binary: string; root: string };
  sandboxId?: string;
  containerId?: string;
}

/** Everything measured for one runtime; an undefined list means the transport failed. */
interface Result {
  execSync: number[];
  /** Runtime CPU ms per ExecSync, one figure per chunk. */
  execSyncCpu: number[];
  crictlTrue: number[];
  /** Runtime CPU ms per `crictl exec true` (its Exec RPC and streaming session), one per sample. */
  crictlTrueCpu: number[];
  /** `<oci runtime> exec <id> true` wall ms, straight into this runtime's container. */
  floor: number[];
  mbps: Record<Transport, number[] | undefined>;
  /** Runtime CPU ms per `cat`, per transport. */
  cpu: Record<Transport, number[]>;
  errors: string[];
}

let logRoot = '';

/** One pod with a `sleep 3600` busybox container, and the big file inside it. */
async function setUp(t: Target): Promise<void> {
  const name = `ex-bench-${t.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
  const config = {
    metadata: { name, namespace: NAMESPACE, uid: randomUUID(), attempt: 0 },
    hostname: 'ex-bench',
    log_directory: join(logRoot, name),
    linux: {},
  };
  const { pod_sandbox_id: sandboxId } = await t.client.runtime.RunPodSandbox({ config, runtime_handler: '' });
  t.sandboxId = sandboxId;
  t.onSandbox?.(sandboxId);
  const { container_id: containerId } = await t.client.runtime.CreateContainer({
    pod_sandbox_id: sandboxId,
    config: { metadata: { name: 'sleep' }, image: { image: args.image }, command: ['sleep', '3600'], log_path: 'sleep.log', linux: {} },
    sandbox_config: config,
  });
  t.containerId = containerId;
  await t.client.runtime.StartContainer({ container_id: containerId });
  const dd = await t.client.runtime.ExecSync({
    container_id: containerId,
    cmd: ['dd', 'if=/dev/zero', `of=${BIG_FILE}`, 'bs=1M', `count=${SIZE_MIB}`],
    timeout: 60,
  });
  if (dd.exit_code !== 0) throw new Error(`${t.name}: dd exited ${dd.exit_code}: ${String(dd.stderr)}`);
  if (t.name !== 'corelet') {
    // the pod's shim is named by its sandbox id; exec'd processes are its children
    const shim = (await listProcs()).find((p) => p.comm.startsWith('containerd-shim') && p.args.includes(sandboxId));
    if (!shim) throw new Error(`${t.name}: no shim process for pod ${sandboxId}`);
    t.serverPids.push(shim.pid);
  }
}

/** Total CPU ms (own and reaped children) of the runtime's processes. */
async function serverCpuMs(t: Target): Promise<number> {
  let sum = 0;
  for (const pid of t.serverPids) {
    const c = await cpuMs(pid);
    sum += c.self + c.children;
  }
  return sum;
}

/** Stops and removes every pod of our namespace (the one we made, or one a failed run left). */
async function removePods(t: Target): Promise<void> {
  const { items } = await t.client.runtime.ListPodSandbox({ filter: null }).catch(() => ({ items: [] }));
  for (const s of (items ?? []).filter((i) => i.metadata?.namespace === NAMESPACE)) {
    await t.client.runtime.StopPodSandbox({ pod_sandbox_id: s.id }).catch((e) => console.error(`${t.name}: stop ${s.id}: ${e}`));
    await t.client.runtime.RemovePodSandbox({ pod_sandbox_id: s.id }).catch((e) => console.error(`${t.name}: remove ${s.id}: ${e}`));
  }
}

/** n sequential ExecSync(['true']), each timed on its own, and the runtime's CPU ms per exec. */
async function execSyncTimes(t: Target, n: number): Promise<{ ms: number[]; cpuPerExec: number }> {
  const out: number[] = [];
  const cpu0 = await serverCpuMs(t);
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const r = await t.client.runtime.ExecSync({ container_id: t.containerId!, cmd: ['true'], timeout: 30 });
    out.push(performance.now() - started);
    if (r.exit_code !== 0) throw new Error(`${t.name}: ExecSync true exited ${r.exit_code}`);
  }
  return { ms: out, cpuPerExec: ((await serverCpuMs(t)) - cpu0) / n };
}

/** Wall ms of one command from spawn to exit; rejects on a non-zero exit. */
function timed(file: string, argv: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    execFile(file, argv, (err, _stdout, stderr) => {
      const ms = performance.now() - started;
      if (err) reject(new Error(`${file} ${argv.join(' ')}: ${err.message} ${String(stderr).slice(-300)}`));
      else resolvePromise(ms);
    });
  });
}

/** The OCI runtime's own cost of `exec <id> true`, no CRI runtime in between. */
const floorTime = (t: Target) => timed(t.oci!.binary, ['--root', t.oci!.root, 'exec', t.containerId!, 'true']);

/**
 * `crictl exec` of cmd, stdout drained in Node and counted: its byte count and wall ms from spawn
 * to exit. Rejects if crictl fails.
 */
function crictlExec(t: Target, transport: Transport, cmd: string[]): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(args.crictl!, ['--runtime-endpoint', t.endpoint, '--image-endpoint', t.endpoint, 'exec', '-r', transport, t.containerId!, ...cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (bytes += b.length));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // crictl warns about its missing config file on every run: keep only what explains a failure
    const why = () => stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('level=warning')).join(' ').slice(-300);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`crictl exec -r ${transport} exited ${code}: ${why()}`));
      else resolvePromise({ bytes, ms });
    });
  });
}

/** One streaming sample: MB/s and the runtime's CPU ms; checks every byte of the file came through. */
async function throughput(t: Target, transport: Transport): Promise<{ mbps: number; cpuMs: number }> {
  const cpu0 = await serverCpuMs(t);
  const { bytes, ms } = await crictlExec(t, transport, ['cat', BIG_FILE]);
  const cpuMs = (await serverCpuMs(t)) - cpu0;
  const want = SIZE_MIB * 1024 * 1024;
  if (bytes !== want) throw new Error(`${t.name} ${transport}: got ${bytes} bytes of ${want}`);
  return { mbps: bytes / 1e6 / (ms / 1000), cpuMs };
}

const fmtMs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
const fmtCpu = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
const fmtMBs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} MB/s` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

function report(targets: Target[], results: Map<string, Result>): void {
  const [corelet, ...refs] = targets.map((t) => results.get(t.name)!);
  const head = ['metric', ...targets.map((t) => t.name), ...refs.map((_, i) => `corelet/${targets[i + 1]!.name}`)];
  const row = (label: string, f: (r: Result) => number, fmt: (v: number) => string) => [
    label,
    ...targets.map((t) => fmt(f(results.get(t.name)!))),
    ...refs.map((r) => ratio(f(corelet!), f(r))),
  ];
  const mbps = (tr: Transport) => (r: Result) => median(r.mbps[tr] ?? []);
  const cpu = (tr: Transport) => (r: Result) => (r.mbps[tr] ? median(r.cpu[tr]) : NaN);
  const rows = [
    head,
    row(`ExecSync true p50 (n=${corelet!.execSync.length})`, (r) => quantile(r.execSync, 0.5), fmtMs),
    row('ExecSync true p99', (r) => quantile(r.execSync, 0.99), fmtMs),
    row('runtime CPU per ExecSync true', (r) => median(r.execSyncCpu), fmtCpu),
    row(`crictl exec true wall p50 (n=${corelet!.crictlTrue.length})`, (r) => quantile(r.crictlTrue, 0.5), fmtMs),
    row('crictl exec true wall p99', (r) => quantile(r.crictlTrue, 0.99), fmtMs),
    row('runtime CPU per crictl exec true (mean)', (r) => mean(r.crictlTrueCpu), fmtCpu),
    row(`floor: OCI runtime exec true p50 (n=${corelet!.floor.length})`, (r) => quantile(r.floor, 0.5), fmtMs),
    row('floor: OCI runtime exec true p99', (r) => quantile(r.floor, 0.99), fmtMs),
    row(`crictl exec cat ${SIZE_MIB} MiB, SPDY, median (n=${RUNS})`, mbps('spdy'), fmtMBs),
    row(`crictl exec cat ${SIZE_MIB} MiB, WebSocket, median (n=${RUNS})`, mbps('websocket'), fmtMBs),
    row(`runtime CPU per cat, SPDY, median`, cpu('spdy'), fmtCpu),
    row(`runtime CPU per cat, WebSocket, median`, cpu('websocket'), fmtCpu),
  ];
  console.log('\n' + table(rows));
  for (const t of targets) console.log(`floor of ${t.name}: ${t.oci ? `${t.oci.binary} --root ${t.oci.root} exec <id> true` : 'n/a'}`);
  for (const t of targets) {
    const r = results.get(t.name)!;
    if (r.errors.length > 0) console.log(`${t.name}: ${r.errors.join('; ')}`);
  }
}

/** Runs fn, recording a failure as n/a for that transport instead of ending the benchmark. */
async function sample(r: Result, tr: Transport, fn: () => Promise<{ mbps: number; cpuMs: number }>): Promise<void> {
  if (r.mbps[tr] === undefined) return;
  try {
    const s = await fn();
    r.mbps[tr]!.push(s.mbps);
    r.cpu[tr].push(s.cpuMs);
  } catch (err) {
    r.errors.push(`${tr}: ${messageOf(err)}`);
    r.mbps[tr] = undefined;
  }
}

/** Median of each numeric field of the log lines with this msg that pass keep. */
function phaseMedians(lines: Array<Record<string, unknown>>, msg: string, keep: (l: Record<string, unknown>) => boolean = () => true): string {
  const picked = lines.filter((l) => l.msg === msg && keep(l));
  const fields = new Map<string, number[]>();
  for (const l of picked) {
    for (const [k, v] of Object.entries(l)) {
      if (/Ms$|^ms$/.test(k) && typeof v === 'number') fields.set(k, [...(fields.get(k) ?? []), v]);
    }
  }
  return `${[...fields].map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ')} (n=${picked.length})`;
}

/** Where corelet's exec time went, from its debug log (medians over the run). */
function printTrace(log: string): void {
  const lines = log
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .filter((l): l is Record<string, unknown> => l !== undefined);
  const isTrue = (l: Record<string, unknown>) => JSON.stringify(l.args ?? l.cmd) === '["true"]';
  console.log('\ncorelet trace (medians, ms):');
  console.log(`  ExecSync rpc:               ${phaseMedians(lines, 'rpc', (l) => l.method === 'ExecSync')}`);
  console.log(`  ExecSync prepared:          ${phaseMedians(lines, 'exec sync prepared')}`);
  console.log(`  ExecSync runc exec:         ${phaseMedians(lines, 'oci exec', isTrue)}`);
  console.log(`  Exec rpc (URL):             ${phaseMedians(lines, 'rpc', (l) => l.method === 'Exec')}`);
  console.log(`  streaming session prepared: ${phaseMedians(lines, 'exec session prepared')}`);
  console.log(`  streaming runc exec:        ${phaseMedians(lines, 'exec finished', isTrue)}`);
}

const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');

/** corelet's OCI runtime and its --root: the one folder of <state>/{crun,runc} that holds our container. */
function coreletOci(corelet: CoreletDaemon, containerId: string): { binary: string; root: string } | undefined {
  for (const name of ['crun', 'runc']) {
    const root = join(corelet.root, 'run', name);
    if (existsSync(join(root, containerId))) return { binary: name, root };
  }
  return undefined;
}

async function main(): Promise<void> {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  console.log(`CPU: ${cpuModel}, ${availableParallelism()} CPUs; load average (1/5/15 min) at start: ${load()}`);
  const refs = await referenceRuntimes(args);
  logRoot = await mkdtemp(join(tmpdir(), 'ex-bench-exec-logs-'));
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args.trace ? 'debug' : args['corelet-log-level']!,
    bridge: `exbench${process.pid % 10000}`,
    subnet: `10.83.${200 + (process.pid % 50)}.0/24`,
  });
  const targets: Target[] = [];
  try {
    targets.push({
      name: 'corelet',
      endpoint: `unix://${corelet.socket}`,
      client: createCriClient(`unix://${corelet.socket}`),
      serverPids: [corelet.pid],
      onSandbox: (id) => corelet.noteSandbox(id),
    });
    for (const ref of refs) {
      targets.push({ name: ref.label, endpoint: ref.endpoint, client: createCriClient(ref.endpoint), serverPids: [ref.pid] });
    }
    const results = new Map<string, Result>();
    for (const t of targets) {
      const v = await t.client.runtime.Version({});
      // A niced daemon (the bench's own corelet inherits `nice -n 19`) loses wall time on a busy host.
      console.log(`${t.name}: ${v.runtime_name} ${v.runtime_version} at ${t.endpoint}, daemon pid ${t.serverPids[0]} at nice ${getPriority(t.serverPids[0]!)}`);
      await removePods(t);
      await t.client.image.PullImage({ image: { image: args.image! } });
      await setUp(t);
      t.oci = t.name === 'corelet' ? coreletOci(corelet, t.containerId!) : { binary: 'runc', root: CONTAINERD_RUNC_ROOT };
      results.set(t.name, { execSync: [], execSyncCpu: [], crictlTrue: [], crictlTrueCpu: [], floor: [], mbps: { spdy: [], websocket: [] }, cpu: { spdy: [], websocket: [] }, errors: [] });
    }

    // Latency: warm-up, then the runtimes take turns in chunks so host drift hits all alike.
    console.log(`latency: ${EXECS} ExecSync \`true\`, ${CRICTL_EXECS} crictl exec true and ${CRICTL_EXECS} OCI runtime exec true each (${WARMUP} warm-up), in chunks of ${CHUNK}`);
    for (const t of targets) {
      await execSyncTimes(t, WARMUP);
      await crictlExec(t, 'spdy', ['true']);
      if (t.oci) await floorTime(t);
    }
    const chunks = Math.ceil(EXECS / CHUNK);
    const crictlPerChunk = Math.ceil(CRICTL_EXECS / chunks);
    for (let c = 0; c < chunks; c++) {
      for (const t of targets) {
        const r = results.get(t.name)!;
        const es = await execSyncTimes(t, Math.min(CHUNK, EXECS - c * CHUNK));
        r.execSync.push(...es.ms);
        r.execSyncCpu.push(es.cpuPerExec);
        for (let i = 0; i < crictlPerChunk && r.crictlTrue.length < CRICTL_EXECS; i++) {
          const cpu0 = await serverCpuMs(t);
          r.crictlTrue.push((await crictlExec(t, 'spdy', ['true'])).ms);
          r.crictlTrueCpu.push((await serverCpuMs(t)) - cpu0);
        }
        for (let i = 0; t.oci && i < crictlPerChunk && r.floor.length < CRICTL_EXECS; i++) r.floor.push(await floorTime(t));
      }
    }

    // Streaming: one warm-up cat each, then the runtimes take turns run by run.
    console.log(`streaming: crictl exec cat ${SIZE_MIB} MiB, ${RUNS} runs per runtime and transport`);
    for (const t of targets) {
      const r = results.get(t.name)!;
      await sample(r, 'spdy', () => throughput(t, 'spdy'));
      r.mbps.spdy = r.mbps.spdy && [];
      r.cpu.spdy = [];
    }
    for (let i = 0; i < RUNS; i++) {
      for (const t of targets) {
        const r = results.get(t.name)!;
        for (const tr of ['spdy', 'websocket'] as const) await sample(r, tr, () => throughput(t, tr));
      }
    }
    report(targets, results);
    if (args.trace) printTrace(await corelet.readLog());
    console.log(`CPU: ${cpuModel}; load average (1/5/15 min) at end: ${load()}`);
  } finally {
    for (const t of targets) {
      await removePods(t);
      t.client.close();
    }
    if (args['save-log']) await corelet.saveLog(args['save-log']).catch(() => undefined);
    await corelet.stop();
    await rm(logRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
