/**
 * Exec benchmark: ExecSync latency (sequential `true` execs through the CRI client) and exec
 * streaming throughput (`cat` of a large file through `crictl exec`, SPDY and WebSocket), for a
 * private corelet runtime and for containerd's CRI plugin in the same run, with the ratio.
 *
 *   node dist/bench/exec.js [--containerd unix:///run/containerd/containerd.sock]
 *     [--containerd-pid PID] [--skip-containerd] [--execs 200] [--warmup 10] [--chunk 20] [--runs 5] [--size-mib 64]
 *     [--crictl crictl] [--corelet-log-level info] [--save-log FILE]
 *
 * Throughput counts wall time from spawning crictl to its exit, so it includes crictl's own
 * start and the Exec RPC; the "crictl exec true" row shows that fixed cost on its own. On a busy
 * host wall time follows each side's share of the CPUs, so the runtime's CPU time per `cat`
 * (daemon plus what it spawned and reaped: corelet's conmon and corelet-io, containerd's shim and
 * its children; both include runc and cat) is reported too. crictl's own CPU is not counted.
 * MB is 10^6 bytes. It never exits non-zero on a slow figure: it measures.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { COMPARE_OPTIONS, CoreletDaemon } from './corelet-daemon.js';
import { cpuMs, findContainerdPid, listProcs } from './procs.js';
import { mean, median, quantile, table } from './stats.js';
import { messageOf } from '../src/lib/index.js';

const NAMESPACE = 'corelet-bench-exec';
const BIG_FILE = '/tmp/big';

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    execs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '10' },
    chunk: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    'size-mib': { type: 'string', default: '64' },
    crictl: { type: 'string', default: 'crictl' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'corelet-log-level': { type: 'string', default: 'info' },
    'save-log': { type: 'string' },
  },
});
const EXECS = Number(args.execs);
const WARMUP = Number(args.warmup);
const CHUNK = Number(args.chunk);
const RUNS = Number(args.runs);
const SIZE_MIB = Number(args['size-mib']);

type Transport = 'spdy' | 'websocket';

/** One runtime under test. */
interface Target {
  name: 'corelet' | 'containerd';
  endpoint: string;
  client: CriClient;
  onSandbox?(id: string): void;
  /** Processes whose CPU time is the runtime's: the daemon, and containerd's shim of our pod. */
  serverPids: number[];
  sandboxId?: string;
  containerId?: string;
}

/** Everything measured for one runtime; an undefined list means the transport failed. */
interface Result {
  execSync: number[];
  crictlTrue: number[];
  mbps: Record<Transport, number[] | undefined>;
  /** Runtime CPU ms per `cat`, per transport. */
  cpu: Record<Transport, number[]>;
  errors: string[];
}

let logRoot = '';

/** One pod with a `sleep 3600` busybox container, and the big file inside it. */
async function setUp(t: Target): Promise<void> {
  const name = `exec-${t.name}`;
  const config = {
    metadata: { name, namespace: NAMESPACE, uid: randomUUID(), attempt: 0 },
    hostname: name,
    log_directory: join(logRoot, t.name),
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
  if (t.name === 'containerd') {
    // the pod's shim is named by its sandbox id; exec'd processes are its children
    const shim = (await listProcs()).find((p) => p.comm.startsWith('containerd-shim') && p.args.includes(sandboxId));
    if (!shim) throw new Error(`containerd: no shim process for pod ${sandboxId}`);
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

/** n sequential ExecSync(['true']), each timed on its own. */
async function execSyncTimes(t: Target, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const r = await t.client.runtime.ExecSync({ container_id: t.containerId!, cmd: ['true'], timeout: 30 });
    out.push(performance.now() - started);
    if (r.exit_code !== 0) throw new Error(`${t.name}: ExecSync true exited ${r.exit_code}`);
  }
  return out;
}

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
const fmtCpu = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const fmtMBs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} MB/s` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

function report(c: Result, d: Result | undefined): void {
  const row = (label: string, f: (r: Result) => number, fmt: (v: number) => string) => [label, fmt(f(c)), d ? fmt(f(d)) : '-', d ? ratio(f(c), f(d)) : '-'];
  const mbps = (tr: Transport) => (r: Result) => median(r.mbps[tr] ?? []);
  const cpu = (tr: Transport) => (r: Result) => (r.mbps[tr] ? median(r.cpu[tr]) : NaN);
  const rows = [
    ['metric', 'corelet', 'containerd', 'ratio (corelet/containerd)'],
    row(`ExecSync true p50 (n=${c.execSync.length})`, (r) => quantile(r.execSync, 0.5), fmtMs),
    row('ExecSync true p99', (r) => quantile(r.execSync, 0.99), fmtMs),
    row('ExecSync true mean', (r) => mean(r.execSync), fmtMs),
    row(`crictl exec true wall median (n=${c.crictlTrue.length})`, (r) => median(r.crictlTrue), fmtMs),
    row(`crictl exec cat ${SIZE_MIB} MiB, SPDY, median (n=${RUNS})`, mbps('spdy'), fmtMBs),
    row(`crictl exec cat ${SIZE_MIB} MiB, WebSocket, median (n=${RUNS})`, mbps('websocket'), fmtMBs),
    row(`runtime CPU per cat, SPDY, median`, cpu('spdy'), fmtCpu),
    row(`runtime CPU per cat, WebSocket, median`, cpu('websocket'), fmtCpu),
  ];
  console.log('\n' + table(rows));
  for (const [name, r] of [['corelet', c], ['containerd', d]] as const) {
    if (r && r.errors.length > 0) console.log(`${name}: ${r.errors.join('; ')}`);
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

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  logRoot = await mkdtemp(join(tmpdir(), 'corelet-bench-exec-logs-'));
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args['corelet-log-level']!,
    bridge: `clbexec${process.pid % 10000}`,
    subnet: `10.${200 + (process.pid % 20)}.${process.pid % 250}.0/24`,
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
    if (!args['skip-containerd']) {
      targets.push({
        name: 'containerd',
        endpoint: args.containerd!,
        client: createCriClient(args.containerd!),
        serverPids: [args['containerd-pid'] ? Number(args['containerd-pid']) : await findContainerdPid()],
      });
    }
    const results = new Map<string, Result>();
    for (const t of targets) {
      const v = await t.client.runtime.Version({});
      console.log(`${t.name}: ${v.runtime_name} ${v.runtime_version}`);
      await removePods(t);
      await t.client.image.PullImage({ image: { image: args.image! } });
      await setUp(t);
      results.set(t.name, { execSync: [], crictlTrue: [], mbps: { spdy: [], websocket: [] }, cpu: { spdy: [], websocket: [] }, errors: [] });
    }

    // ExecSync: warm-up, then the runtimes take turns in chunks so host drift hits both alike.
    console.log(`ExecSync: ${EXECS} \`true\` each (${WARMUP} warm-up), in chunks of ${CHUNK}`);
    for (const t of targets) await execSyncTimes(t, WARMUP);
    for (let done = 0; done < EXECS; done += CHUNK) {
      for (const t of targets) results.get(t.name)!.execSync.push(...(await execSyncTimes(t, Math.min(CHUNK, EXECS - done))));
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
        r.crictlTrue.push((await crictlExec(t, 'spdy', ['true'])).ms);
      }
    }
    report(results.get('corelet')!, results.get('containerd'));
    console.log(`host load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)}, on ${availableParallelism()} CPUs`);
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
