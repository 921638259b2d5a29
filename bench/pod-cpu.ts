/**
 * Runtime benchmark (issue 14): the CPU a corelet runtime spends per pod under parallel pod start,
 * and how many programs it runs per pod. Each daemon runs in a cgroup of its own (cpuacct), so the
 * figure covers the daemon and EVERY process it starts that stays there: CNI plugins, iptables,
 * mount, conmon and runc (a container's own processes leave for the pod's cgroup and do not count).
 * Rounds of N pods at once through gRPC (RunPodSandbox + CreateContainer + StartContainer, busybox),
 * then their stop + remove, measured apart; with --baseline-cli a second build takes turns with this
 * one round by round, so before/after meet the same load.
 *
 *   node dist/bench/pod-cpu.js [--pods 20] [--rounds 3] [--warmup 2] [--baseline-cli OTHER/dist/src/cli/main.js]
 *     [--cpu-prof DIR] [--spawns|--no-spawns] [--bridge cp-bench0] [--subnet 10.81.0.0/17]
 *     [--baseline-subnet 10.81.128.0/17] [--cgroup-parent /cp-bench]
 *
 * --cpu-prof DIR: this build's daemon runs under node --cpu-prof (a .cpuprofile written into DIR
 * when it stops). --spawns: one more round per daemon under `strace -f -e trace=execve` (not
 * counted in the CPU figures), printing the programs run per pod. Root; the registry up.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { BUSYBOX, CoreletDaemon } from './corelet-daemon.js';
import { cpuMs, listProcs } from './procs.js';
import { parseStrace, spawnLabel } from './profile.js';
import { mean, median, table } from './stats.js';

const exec = promisify(execFile);
const NAMESPACE = 'cp-bench';
const CPUACCT = '/sys/fs/cgroup/cpuacct';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    image: { type: 'string', default: BUSYBOX },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'baseline-cli': { type: 'string' },
    'cpu-prof': { type: 'string' },
    spawns: { type: 'boolean', default: true },
    /** With --spawns: every program's command line too (use with --pods 1). */
    'spawn-list': { type: 'boolean', default: false },
    bridge: { type: 'string', default: 'cp-bench0' },
    subnet: { type: 'string', default: '10.81.0.0/17' },
    'baseline-subnet': { type: 'string', default: '10.81.128.0/17' },
    'cgroup-parent': { type: 'string', default: '/cp-bench' },
    'log-level': { type: 'string', default: 'info' },
  },
  allowNegative: true,
});
const PODS = Number(args.pods);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
for (const [name, v] of [['--pods', PODS], ['--rounds', ROUNDS], ['--warmup', WARMUP]] as const) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number ≥ 0, got ${v}`);
}

/** One build under test, in its own cpuacct cgroup. */
interface Runtime {
  label: string;
  daemon: CoreletDaemon;
  client: CriClient;
  cgroup: string;
  start: number[];
  remove: number[];
  wall: number[];
  ownStart: number[];
  reapedStart: number[];
}

interface Pod {
  sandboxId: string;
  containerId: string;
}

/** The cgroup's CPU in ms (cpuacct.usage is in ns). */
async function cgroupMs(cgroup: string): Promise<number> {
  return Number(await readFile(join(cgroup, 'cpuacct.usage'), 'utf8')) / 1e6;
}

async function ownMs(pid: number): Promise<{ self: number; children: number }> {
  return cpuMs(pid);
}

function podConfig(name: string, logRoot: string) {
  return { metadata: { name, namespace: NAMESPACE, uid: randomUUID(), attempt: 0 }, hostname: name, log_directory: join(logRoot, name), linux: {} };
}

async function startPod(r: Runtime, name: string, logRoot: string): Promise<Pod> {
  const config = podConfig(name, logRoot);
  const { pod_sandbox_id: sandboxId } = await r.client.runtime.RunPodSandbox({ config, runtime_handler: '' });
  r.daemon.noteSandbox(sandboxId);
  const { container_id: containerId } = await r.client.runtime.CreateContainer({
    pod_sandbox_id: sandboxId,
    config: { metadata: { name: 'sleep' }, image: { image: args.image! }, command: ['sleep', '3600'], log_path: 'sleep.log', linux: {} },
    sandbox_config: config,
  });
  await r.client.runtime.StartContainer({ container_id: containerId });
  return { sandboxId, containerId };
}

async function removePods(r: Runtime, pods: readonly Pod[]): Promise<void> {
  await Promise.all(
    pods.map(async (p) => {
      await r.client.runtime.StopPodSandbox({ pod_sandbox_id: p.sandboxId });
      await r.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.sandboxId });
    }),
  );
}

/** PODS pods at once; every pod made is removed even when one fails. */
async function round(r: Runtime, tag: string, logRoot: string): Promise<{ startMs: number; removeMs: number; wall: number; own: number; reaped: number }> {
  const cg0 = await cgroupMs(r.cgroup);
  const own0 = await ownMs(r.daemon.pid);
  const t0 = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: PODS }, (_, i) => startPod(r, `${tag}-${i}`, logRoot)));
  const wall = performance.now() - t0;
  const cg1 = await cgroupMs(r.cgroup);
  const own1 = await ownMs(r.daemon.pid);
  const pods = settled.filter((s): s is PromiseFulfilledResult<Pod> => s.status === 'fulfilled').map((s) => s.value);
  await removePods(r, pods);
  const cg2 = await cgroupMs(r.cgroup);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw new Error(`${r.label}: ${PODS - pods.length} of ${PODS} pods failed: ${String(failed.reason)}`);
  return { startMs: cg1 - cg0, removeMs: cg2 - cg1, wall, own: own1.self - own0.self, reaped: own1.children - own0.children };
}

/** One round under strace -f: programs run per pod (start + remove), by name. */
async function countSpawns(r: Runtime, logRoot: string): Promise<string> {
  const file = join(logRoot, `strace-${r.label}.txt`);
  // the daemon and its long-lived children (the host helper runs programs too): strace -f only follows children made after it attached
  const pids = [r.daemon.pid, ...(await listProcs()).filter((p) => p.ppid === r.daemon.pid).map((p) => p.pid)];
  const child = spawn('strace', ['-f', '--seccomp-bpf', '-q', '-ttt', '-e', 'trace=execve', '-s', '64', '-o', file, ...pids.flatMap((p) => ['-p', String(p)])], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const traced = await Promise.all(pids.map((p) => readFile(`/proc/${p}/status`, 'utf8').then((s) => /TracerPid:\s+[1-9]/.test(s), () => true)));
    if (traced.every(Boolean)) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const from = Date.now();
  const settled = await Promise.allSettled(Array.from({ length: PODS }, (_, i) => startPod(r, `spawns-${r.label}-${i}`, logRoot)));
  const pods = settled.filter((s): s is PromiseFulfilledResult<Pod> => s.status === 'fulfilled').map((s) => s.value);
  const mid = Date.now();
  await removePods(r, pods);
  const to = Date.now();
  const gone = new Promise((res) => child.once('exit', res));
  child.kill('SIGINT');
  await gone;
  const spawns = parseStrace(await readFile(file, 'utf8')).filter((s) => s.at >= from - 1 && s.at <= to + 1);
  const line = (list: typeof spawns) => {
    const counts = new Map<string, number>();
    for (const s of list) counts.set(spawnLabel(s.argv.slice(0, 1)), (counts.get(spawnLabel(s.argv.slice(0, 1))) ?? 0) + 1);
    return `${(list.length / pods.length).toFixed(1)} = ${[...counts].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${(c / pods.length).toFixed(c % pods.length ? 1 : 0)}× ${n}`).join(', ')}`;
  };
  const list = args['spawn-list'] ? `\n${spawns.map((s) => `    ${s.at <= mid ? 'start' : 'stop '} ${s.argv.join(' ').slice(0, 150)}`).join('\n')}` : '';
  return `  start: ${line(spawns.filter((s) => s.at <= mid))}\n  stop + remove: ${line(spawns.filter((s) => s.at > mid))}${list}`;
}

async function startRuntime(label: string, cli: string, bridge: string, subnet: string, cgroupParent: string, nodeArgs: string[]): Promise<Runtime> {
  const daemon = await CoreletDaemon.start({ cli, logLevel: args['log-level']!, bridge, subnet, cgroupParent, nodeArgs });
  const cgroup = join(CPUACCT, `${cgroupParent.slice(1)}-cpu`);
  await mkdir(cgroup, { recursive: true });
  await writeFile(join(cgroup, 'cgroup.procs'), String(daemon.pid));
  const client = createCriClient(`unix://${daemon.socket}`);
  await client.image.PullImage({ image: { image: args.image! } });
  return { label, daemon, client, cgroup, start: [], remove: [], wall: [], ownStart: [], reapedStart: [] };
}

async function stopRuntime(r: Runtime): Promise<void> {
  r.client.close();
  await r.daemon.stop();
  await rmdir(r.cgroup).catch((e: unknown) => console.error(`${r.cgroup}: ${String(e)}`));
}

async function main(): Promise<void> {
  const load0 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const commit = await exec('git', ['-C', import.meta.dirname, 'describe', '--always', '--dirty']).then((r) => r.stdout.trim(), () => 'unknown');
  console.log(`pod-cpu bench ${new Date().toISOString()}, commit ${commit}, ${availableParallelism()} CPUs, load before ${load0}`);
  const logRoot = await mkdtemp(join(tmpdir(), 'cp-bench-'));
  const runtimes: Runtime[] = [];
  try {
    const prof = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(args['cpu-prof'])] : [];
    runtimes.push(await startRuntime('corelet', args['corelet-cli']!, args.bridge!, args.subnet!, args['cgroup-parent']!, prof));
    if (args['baseline-cli']) runtimes.push(await startRuntime('baseline', args['baseline-cli'], `${args.bridge}b`.slice(0, 15), args['baseline-subnet']!, `${args['cgroup-parent']}-b`, []));
    for (const r of runtimes) {
      for (let i = 0; i < WARMUP; i++) await removePods(r, [await startPod(r, `warm-${r.label}-${i}`, logRoot)]);
    }
    for (let n = 0; n < ROUNDS; n++) {
      const order = n % 2 ? [...runtimes].reverse() : runtimes;
      for (const r of order) {
        const load = loadavg()[0]!.toFixed(2);
        const res = await round(r, `r${n}-${r.label}`, logRoot);
        r.start.push(res.startMs / PODS);
        r.remove.push(res.removeMs / PODS);
        r.wall.push(res.wall);
        r.ownStart.push(res.own / PODS);
        r.reapedStart.push(res.reaped / PODS);
        console.log(`round ${n + 1} ${r.label}: ${PODS} pods, wall ${res.wall.toFixed(0)} ms, CPU per pod start ${(res.startMs / PODS).toFixed(1)} ms (daemon ${(res.own / PODS).toFixed(1)} + reaped children ${(res.reaped / PODS).toFixed(1)}), stop+remove ${(res.removeMs / PODS).toFixed(1)} ms; load ${load}`);
      }
    }
    const f = (v: number) => v.toFixed(1);
    console.log(`\n## CPU per pod, ${PODS} pods at once, ${ROUNDS} rounds (median of rounds; cgroup = daemon + every process it started that stayed in its cgroup)`);
    console.log(
      table([
        ['metric', ...runtimes.map((r) => r.label), ...(runtimes.length > 1 ? ['corelet/baseline'] : [])],
        ['CPU ms per pod start (cgroup)', ...runtimes.map((r) => f(median(r.start))), ...(runtimes.length > 1 ? [`${(median(runtimes[0]!.start) / median(runtimes[1]!.start)).toFixed(2)}×`] : [])],
        ['  of which the daemon itself (node)', ...runtimes.map((r) => f(median(r.ownStart))), ...(runtimes.length > 1 ? [`${(median(runtimes[0]!.ownStart) / median(runtimes[1]!.ownStart)).toFixed(2)}×`] : [])],
        ['  of which what it reaped (CNI, iptables, mount, ...)', ...runtimes.map((r) => f(median(r.reapedStart))), ...(runtimes.length > 1 ? [`${(median(runtimes[0]!.reapedStart) / median(runtimes[1]!.reapedStart)).toFixed(2)}×`] : [])],
        ['CPU ms per pod stop + remove (cgroup)', ...runtimes.map((r) => f(median(r.remove))), ...(runtimes.length > 1 ? [`${(median(runtimes[0]!.remove) / median(runtimes[1]!.remove)).toFixed(2)}×`] : [])],
        [`wall ms, ${PODS} at once (median; mean)`, ...runtimes.map((r) => `${median(r.wall).toFixed(0)}; ${mean(r.wall).toFixed(0)}`), ...(runtimes.length > 1 ? [`${(median(runtimes[0]!.wall) / median(runtimes[1]!.wall)).toFixed(2)}×`] : [])],
      ]),
    );
    if (args.spawns) {
      for (const r of runtimes) console.log(`\nprograms run per pod (execve under the daemon, strace -f, one more round of ${PODS}), ${r.label}:\n${await countSpawns(r, logRoot)}`);
    }
  } finally {
    for (const r of runtimes) await stopRuntime(r).catch((e: unknown) => console.error(`stop ${r.label}: ${String(e)}`));
    await rm(logRoot, { recursive: true, force: true });
  }
  console.log(`\nhost load (1/5/15 min) before ${load0}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
