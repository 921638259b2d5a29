/**
 * Agent benchmark: a private `corelet agent` running static pods from its manifest folder, over a
 * private corelet runtime and over the conformance kit's containerd 1.6 and 2.4 (referenceRuntimes),
 * in one run, the runtimes taking turns.
 *
 *  1. Pods to Ready (--rounds-pods rounds, the runtimes alternating within each round): N
 *     single-container busybox `sleep 3600` pods written into the folder at once, timed from the
 *     write to all N Ready on /pods (polled every 100 ms), then the files removed and timed until
 *     /pods is empty. With --trace the agent logs at debug and each pod's steps (admitted, sandbox
 *     requested/returned, container created/started, Ready) are printed as offsets from the write.
 *  2. Relist cost (once per runtime): --relist-pods pods Ready, --settle-seconds later the agent's CPU
 *     (utime + stime from /proc/PID/stat) over --idle-seconds in which nobody calls it, as % of one core, with the
 *     runtime daemon's CPU over the same window, the agent's CRI calls per second by method (from its
 *     /metrics) and its RSS/PSS.
 *  3. Noisy neighbour (--noisy; over corelet runtime): latency of sequential HTTP GETs from the host
 *     to a Guaranteed busybox httpd pod (500m CPU, 64Mi), alone, next to a BestEffort CPU hog (two
 *     busy loops, no resources) and next to the same hog limited to 500m per container (Burstable),
 *     as ratios to the alone case. Requests are --gap-ms apart, so each finds the server idle (as a
 *     small server's clients would) instead of running it flat out into its own CPU quota; the
 *     cases take turns over a few rounds, so load from elsewhere on a shared host hits them alike.
 *
 *   node dist/bench/agent.js [--containerd unix:///run/containerd/containerd.sock]
 *     [--containerd2 unix:///run/containerd2/containerd.sock] [--skip-containerd] [--skip-containerd1] [--skip-containerd2]
 *     [--pods 30] [--rounds-pods 2] [--relist-pods 100] [--settle-seconds 15] [--idle-seconds 20] [--trace]
 *     [--noisy] [--requests 300] [--warmup 10] [--gap-ms 10] [--rounds 3] [--timeout-seconds 300]
 *     [--prefix corelet] [--subnet 10.X.Y.0/24] [--agent-log-level info] [--corelet-log-level info]
 *
 * It never exits non-zero on a missed goal: it measures. Pods, agents, the runtime, QoS cgroups and
 * temp dirs are removed even when a step fails; on the shared containerds only this bench's
 * namespace (PREFIX-bench-agent) is touched.
 */
import { request } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { AgentDaemon, COMPARE_OPTIONS, CoreletDaemon, isReady, referenceRuntimes, type AgentPod } from './corelet-daemon.js';
import { cpuMs, memKiB, settledPssKiB } from './procs.js';
import { median, quantile, table } from './stats.js';
import { messageOf } from '../src/lib/index.js';

const GOAL_NOISY_RATIO = 1.2;
const GOAL_RELIST_PCT = 1;
const POLL_MS = 100;

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    pods: { type: 'string', default: '30' },
    'rounds-pods': { type: 'string', default: '2' },
    'relist-pods': { type: 'string', default: '100' },
    'idle-seconds': { type: 'string', default: '20' },
    'settle-seconds': { type: 'string', default: '15' },
    trace: { type: 'boolean', default: false },
    noisy: { type: 'boolean', default: false },
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    'gap-ms': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'timeout-seconds': { type: 'string', default: '300' },
    prefix: { type: 'string', default: 'corelet' },
    subnet: { type: 'string', default: `10.${160 + (process.pid % 20)}.${process.pid % 250}.0/24` },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'agent-log-level': { type: 'string', default: 'info' },
    'corelet-log-level': { type: 'string', default: 'info' },
  },
});
const PODS = Number(args.pods);
const ROUNDS_PODS = Number(args['rounds-pods']);
const RELIST_PODS = Number(args['relist-pods']);
const IDLE_MS = Number(args['idle-seconds']) * 1000;
const SETTLE_MS = Number(args['settle-seconds']) * 1000;
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const GAP_MS = Number(args['gap-ms']);
const ROUNDS = Number(args.rounds);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;
const PREFIX = args.prefix!;
const NAMESPACE = `${PREFIX}-bench-agent`;
const AGENT_LOG_LEVEL = args.trace ? 'debug' : args['agent-log-level']!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => (messageOf(err));

/** A static pod manifest in our namespace; containers is the YAML list under `containers:`. */
function manifest(name: string, containers: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  terminationGracePeriodSeconds: 1
  containers:
${containers}`;
}

const sleepPod = (name: string) => manifest(name, `  - name: sleep
    image: ${args.image}
    command: ["sleep", "3600"]
`);

/** Guaranteed: requests = limits for cpu and memory. Serves a 1 KiB file. */
const serverPod = () => manifest('server', `  - name: httpd
    image: ${args.image}
    command: ["sh", "-c", "mkdir -p /www && head -c 1024 /dev/zero | tr '\\\\0' x > /www/index.html && exec httpd -f -p 8080 -h /www"]
    resources:
      requests: {cpu: 500m, memory: 64Mi}
      limits: {cpu: 500m, memory: 64Mi}
`);

/** Two busy loops; limited: each gets limits cpu 500m (requests default to it: Burstable). */
function hogPod(limited: boolean): string {
  const res = limited ? `    resources:
      limits: {cpu: 500m}
` : '';
  const c = (n: number) => `  - name: spin${n}
    image: ${args.image}
    command: ["sh", "-c", "while :; do :; done"]
${res}`;
  return manifest('hog', c(1) + c(2));
}

/** Pods of our namespace on /pods (the agent may list nothing else, but be sure). */
async function ourPods(agent: AgentDaemon): Promise<AgentPod[]> {
  return (await agent.pods()).filter((p) => p.metadata.namespace === NAMESPACE);
}

/** Polls /pods every 100 ms until check(pods) holds; returns ms waited, or NaN on timeout. */
async function pollUntil(agent: AgentDaemon, started: number, check: (pods: AgentPod[]) => boolean, onPoll?: (pods: AgentPod[], ms: number) => void): Promise<number> {
  for (;;) {
    const pods = await ourPods(agent).catch(() => undefined);
    const ms = performance.now() - started;
    if (pods) {
      onPoll?.(pods, ms);
      if (check(pods)) return ms;
    }
    if (ms > TIMEOUT_MS) return NaN;
    await sleep(POLL_MS);
  }
}

/** The steps the agent logs at debug for each pod it starts (src/agent: 'pod start step'). */
const TRACE_STEPS = ['admitted', 'sync', 'sandbox-requested', 'sandbox-returned', 'container-created', 'container-started', 'ready'] as const;

/** What one pods-to-Ready pass measured. */
interface PodsResult {
  allReadyMs: number;
  firstReadyMs: number;
  medianReadyMs: number;
  readyCount: number;
  emptyMs: number;
  /** The agent's CPU (utime + stime) from the write to all Ready, and over the removal: load-independent. */
  startCpuMs: number;
  removeCpuMs: number;
  /** The runtime daemon's own CPU over the same spans (its shims/conmons are not its children: left out). */
  runtimeStartCpuMs: number;
  runtimeRemoveCpuMs: number;
  /** Sandboxes of our namespace the runtime still holds after /pods went empty. */
  leftoverSandboxes: number;
  /** pod<uid> cgroups left under the agent's QoS cgroup after /pods went empty. */
  leftoverCgroups: number;
  /** --trace: per step, each pod's ms after the write. */
  trace: Map<string, number[]>;
  errors: string[];
}

/** What the relist pass measured: N pods Ready, then an idle window. */
interface RelistResult {
  readyMs: number;
  idleCpuPct: number;
  runtimeCpuPct: number;
  /** The agent's CRI calls per second over the window, by method. */
  criPerS: Map<string, number>;
  rssKiB: number;
  pssKiB: number;
  emptyMs: number;
  errors: string[];
}

/** Sandboxes of our namespace in the runtime. */
async function ourSandboxes(cri: CriClient): Promise<string[]> {
  const { items } = await cri.runtime.ListPodSandbox({ filter: null });
  return (items ?? []).filter((s) => s.metadata?.namespace === NAMESPACE).map((s) => s.id);
}

/** Directories named pod<uid> under the QoS cgroup, in the cpu hierarchy. */
async function podCgroups(qosCgroup: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      if (e.name.startsWith('pod')) found.push(join(dir, e.name));
      else if (depth < 1) await walk(join(dir, e.name), depth + 1);
    }
  };
  await walk(join('/sys/fs/cgroup/cpu', qosCgroup), 0);
  return found;
}

const podNames = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(3, '0')}`);

/** Writes the pods' files at once; resolves with the ms until all are Ready (NaN: timeout) and each pod's Ready ms. */
async function startPods(agent: AgentDaemon, names: string[]): Promise<{ startedEpochMs: number; allReadyMs: number; readyAt: Map<string, number> }> {
  const readyAt = new Map<string, number>();
  const startedEpochMs = Date.now();
  const started = performance.now();
  await Promise.all(names.map((n) => agent.apply(`${n}.yaml`, sleepPod(n))));
  const allReadyMs = await pollUntil(agent, started, (pods) => pods.filter(isReady).length >= names.length, (pods, ms) => {
    for (const p of pods) if (isReady(p) && !readyAt.has(p.metadata.name)) readyAt.set(p.metadata.name, ms);
  });
  return { startedEpochMs, allReadyMs, readyAt };
}

/** Removes the pods' files at once; ms until /pods is empty (NaN: timeout). */
async function removePods(agent: AgentDaemon, names: string[]): Promise<number> {
  const removing = performance.now();
  await Promise.all(names.map((n) => agent.remove(`${n}.yaml`)));
  return pollUntil(agent, removing, (pods) => pods.length === 0);
}

/** The 'pod start step' lines of the agent's debug log since epochMs: per step, each pod's ms after epochMs. */
async function readTrace(agent: AgentDaemon, epochMs: number): Promise<Map<string, number[]>> {
  const first = new Map<string, number>(); // "pod step" → first time
  for (const line of (await agent.readLog()).split('\n')) {
    if (!line.includes('"pod start step"')) continue;
    try {
      const l = JSON.parse(line) as { time: number; pod: string; step: string };
      if (l.time < epochMs) continue;
      const key = `${l.pod}\u0000${l.step}`;
      if (!first.has(key)) first.set(key, l.time - epochMs);
    } catch {
      // a line cut by the log's rotation: skip
    }
  }
  const out = new Map<string, number[]>(TRACE_STEPS.map((s) => [s, []]));
  for (const [key, ms] of first) out.get(key.split('\u0000')[1]!)?.push(ms);
  return out;
}

/** N pods to Ready, then removal until /pods is empty. */
async function podsPass(agent: AgentDaemon, cri: CriClient, qosCgroup: string, runtimePid: number): Promise<PodsResult> {
  const r: PodsResult = { allReadyMs: NaN, firstReadyMs: NaN, medianReadyMs: NaN, readyCount: 0, emptyMs: NaN, startCpuMs: NaN, removeCpuMs: NaN, runtimeStartCpuMs: NaN, runtimeRemoveCpuMs: NaN, leftoverSandboxes: NaN, leftoverCgroups: NaN, trace: new Map(), errors: [] };
  const names = podNames(PODS, 'sleep');
  const rtCpu = async () => (runtimePid ? (await cpuMs(runtimePid).catch(() => undefined))?.self ?? NaN : NaN);
  const cpu0 = await cpuMs(agent.pid);
  const rt0 = await rtCpu();
  const { startedEpochMs, allReadyMs, readyAt } = await startPods(agent, names);
  r.startCpuMs = (await cpuMs(agent.pid)).self - cpu0.self;
  r.runtimeStartCpuMs = (await rtCpu()) - rt0;
  r.allReadyMs = allReadyMs;
  r.readyCount = readyAt.size;
  r.firstReadyMs = Math.min(...readyAt.values());
  r.medianReadyMs = median([...readyAt.values()]);
  if (r.readyCount < PODS) r.errors.push(`only ${r.readyCount}/${PODS} pods Ready after ${TIMEOUT_MS / 1000} s`);
  if (args.trace) r.trace = await readTrace(agent, startedEpochMs);
  await sleep(1000);
  const cpu1 = await cpuMs(agent.pid);
  const rt1 = await rtCpu();
  r.emptyMs = await removePods(agent, names);
  r.removeCpuMs = (await cpuMs(agent.pid)).self - cpu1.self;
  r.runtimeRemoveCpuMs = (await rtCpu()) - rt1;
  if (Number.isNaN(r.emptyMs)) r.errors.push(`/pods not empty ${TIMEOUT_MS / 1000} s after removing the files`);
  r.leftoverSandboxes = (await ourSandboxes(cri)).length;
  r.leftoverCgroups = (await podCgroups(qosCgroup)).length;
  return r;
}

/** The agent's CRI calls so far by method, from corelet_cri_call_duration_seconds_count on /metrics. */
async function criCalls(agent: AgentDaemon): Promise<Map<string, number>> {
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^corelet_cri_call_duration_seconds_count\{[^}]*method="([^"]+)"[^}]*\} (\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** RELIST_PODS pods Ready, then the agent's and the runtime's CPU over an idle window, then removal. */
async function relistPass(agent: AgentDaemon, runtimePid: number): Promise<RelistResult> {
  const r: RelistResult = { readyMs: NaN, idleCpuPct: NaN, runtimeCpuPct: NaN, criPerS: new Map(), rssKiB: NaN, pssKiB: NaN, emptyMs: NaN, errors: [] };
  const names = podNames(RELIST_PODS, 'idle');
  const { allReadyMs, readyAt } = await startPods(agent, names);
  r.readyMs = allReadyMs;
  if (readyAt.size < RELIST_PODS) r.errors.push(`only ${readyAt.size}/${RELIST_PODS} pods Ready after ${TIMEOUT_MS / 1000} s`);
  // let the start-up's syncs and their first resyncs pass (the steady state is measured); nobody
  // calls the agent during the window
  await sleep(SETTLE_MS);
  const calls0 = await criCalls(agent);
  const cpu0 = await cpuMs(agent.pid);
  const rt0 = runtimePid ? await cpuMs(runtimePid).catch(() => undefined) : undefined;
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const cpu1 = await cpuMs(agent.pid);
  const rt1 = runtimePid ? await cpuMs(runtimePid).catch(() => undefined) : undefined;
  const wall = performance.now() - t0;
  const calls1 = await criCalls(agent);
  r.idleCpuPct = ((cpu1.self - cpu0.self) / wall) * 100;
  if (rt0 && rt1) r.runtimeCpuPct = ((rt1.self + rt1.children - rt0.self - rt0.children) / wall) * 100;
  for (const [m, n] of calls1) if (n - (calls0.get(m) ?? 0) > 0) r.criPerS.set(m, ((n - (calls0.get(m) ?? 0)) * 1000) / wall);
  r.rssKiB = (await memKiB(agent.pid)).rss;
  r.pssKiB = await settledPssKiB(agent.pid);
  const stillReady = (await ourPods(agent)).filter(isReady).length;
  if (stillReady < readyAt.size) r.errors.push(`${readyAt.size - stillReady} pods stopped being Ready while idle`);
  r.emptyMs = await removePods(agent, names);
  if (Number.isNaN(r.emptyMs)) r.errors.push(`/pods not empty ${TIMEOUT_MS / 1000} s after removing the files`);
  return r;
}

/** One GET to url, timed from the request to the end of the body; a new connection each time. */
function timedGet(url: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const req = request(url, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolvePromise(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Host CPU ticks (busy, total) from the first line of /proc/stat. */
async function hostTicks(): Promise<{ busy: number; total: number }> {
  const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** cpuacct.usage (ns) of a pod's cgroup, 0 if there is none. */
async function podCpuNs(qosCgroup: string, uid: string | undefined): Promise<number> {
  if (!uid) return 0;
  for (const tier of ['', 'burstable', 'besteffort']) {
    const file = join('/sys/fs/cgroup/cpuacct', qosCgroup, tier, `pod${uid}`, 'cpuacct.usage');
    if (existsSync(file)) return Number(await readFile(file, 'utf8'));
  }
  return 0;
}

/** One case of the noisy-neighbour test, summed over its rounds. */
interface NoisyCase {
  label: string;
  /** Whether a hog runs next to the server, and its QoS class as /pods reports it. */
  withHog: boolean;
  hogQos: string;
  latencies: number[];
  failures: number;
  /** Host CPU ticks (busy, total) and the hog pod's CPU ns over the requests' wall time. */
  hostBusy: number;
  hostTotal: number;
  hogNs: number;
  wallMs: number;
  error?: string;
}

const noisyCase = (label: string, withHog: boolean): NoisyCase => ({ label, withHog, hogQos: '?', latencies: [], failures: 0, hostBusy: 0, hostTotal: 0, hogNs: 0, wallMs: 0 });

/** n sequential GETs (after WARMUP) added to c, with the host's and the hog's CPU over the same time. */
async function sampleLatency(c: NoisyCase, url: string, n: number, qosCgroup: string, hog?: AgentPod): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await timedGet(url).catch(() => undefined);
  if (hog) c.hogQos = hog.status?.qosClass ?? '?';
  const h0 = await hostTicks();
  const hog0 = await podCpuNs(qosCgroup, hog?.metadata.uid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    try {
      c.latencies.push(await timedGet(url));
    } catch {
      c.failures++;
    }
    if (GAP_MS > 0) await sleep(GAP_MS);
  }
  c.wallMs += performance.now() - t0;
  const h1 = await hostTicks();
  c.hostBusy += h1.busy - h0.busy;
  c.hostTotal += h1.total - h0.total;
  c.hogNs += (await podCpuNs(qosCgroup, hog?.metadata.uid)) - hog0;
}

/**
 * Server alone, next to an unlimited BestEffort hog, next to a limited (Burstable) hog. The cases
 * take turns for --rounds rounds so that load from elsewhere on a shared host hits them alike.
 */
async function noisyNeighbour(agent: AgentDaemon, qosCgroup: string): Promise<NoisyCase[]> {
  await agent.apply('server.yaml', serverPod());
  const readyMs = await pollUntil(agent, performance.now(), (pods) => pods.some((p) => p.metadata.name.startsWith('server') && isReady(p)));
  if (Number.isNaN(readyMs)) throw new Error('server pod never became Ready');
  const server = (await ourPods(agent)).find((p) => p.metadata.name.startsWith('server'))!;
  const ip = server.status?.podIP;
  if (!ip) throw new Error('server pod has no podIP on /pods');
  const url = `http://${ip}:8080/index.html`;
  // httpd is up a moment after the container starts: wait until it answers
  for (let i = 0; ; i++) {
    try {
      await timedGet(url);
      break;
    } catch (err) {
      if (i >= 100) throw new Error(`server at ${url} never answered: ${errText(err)}`, { cause: err });
      await sleep(100);
    }
  }
  console.log(`server pod ${server.metadata.name} (${server.status?.qosClass}) at ${ip}; ${ROUNDS} rounds of alone, unlimited hog, limited hog`);
  const alone = noisyCase('alone', false);
  const hogs = [
    { limited: false, c: noisyCase('hog unlimited (2 busy loops)', true) },
    { limited: true, c: noisyCase('hog limited (2 × limits cpu 500m)', true) },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    const n = Math.ceil(REQUESTS / ROUNDS);
    await sampleLatency(alone, url, n, qosCgroup);
    for (const { limited, c } of hogs) {
      if (c.error) continue;
      try {
        await agent.apply('hog.yaml', hogPod(limited));
        const ok = await pollUntil(agent, performance.now(), (pods) => pods.some((p) => p.metadata.name.startsWith('hog') && isReady(p)));
        if (Number.isNaN(ok)) throw new Error('hog pod never became Ready');
        await sleep(2000); // let the busy loops settle in
        const hog = (await ourPods(agent)).find((p) => p.metadata.name.startsWith('hog'));
        await sampleLatency(c, url, n, qosCgroup, hog);
      } catch (err) {
        c.error = errText(err);
      } finally {
        await agent.remove('hog.yaml');
        await pollUntil(agent, performance.now(), (pods) => !pods.some((p) => p.metadata.name.startsWith('hog')));
      }
    }
  }
  return [alone, ...hogs.map((h) => h.c)];
}

/**
 * Removes our manifests, waits for /pods to empty, then removes through the CRI whatever sandbox
 * of our namespace is still there (a failed run), and stops the agent.
 */
async function tearDown(agent: AgentDaemon | undefined, cri: CriClient): Promise<void> {
  if (agent) {
    for (const f of await agent.files()) await agent.remove(f);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await ourPods(agent).catch(() => [])).length > 0) await sleep(250);
  }
  for (const id of await ourSandboxes(cri).catch(() => [] as string[])) {
    console.error(`removing leftover sandbox ${id} through the CRI`);
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: id }).catch((e) => console.error(`stop ${id}: ${errText(e)}`));
    await cri.runtime.RemovePodSandbox({ pod_sandbox_id: id }).catch((e) => console.error(`remove ${id}: ${errText(e)}`));
  }
  await agent?.stop();
}

/** Starts an agent over endpoint, runs the pass, and always tears it down. */
async function withAgent<T>(name: string, endpoint: string, run: (agent: AgentDaemon, cri: CriClient, qos: string) => Promise<T>, logLevel = AGENT_LOG_LEVEL): Promise<T> {
  const cri = createCriClient(endpoint);
  const qosCgroup = `${PREFIX}-kubepods-bench-${process.pid}-${name.replace(/[^a-z0-9]+/gi, '-')}`;
  let agent: AgentDaemon | undefined;
  try {
    await tearDown(undefined, cri); // pods a failed earlier run may have left
    await cri.image.PullImage({ image: { image: args.image! } });
    agent = await AgentDaemon.start({ cli: args['corelet-cli']!, endpoint, qosCgroup, nodeName: 'bench', logLevel });
    return await run(agent, cri, qosCgroup);
  } finally {
    const log = agent ? await agent.readLog() : '';
    await tearDown(agent, cri);
    cri.close();
    const problems = log.split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    if (problems.length > 0) console.log(`${name} agent: ${problems.length} warn/error log lines, first: ${problems[0]!.slice(0, 400)}`);
  }
}

const fmtS = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const fmtMs = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(2)} ms` : 'n/a');
const fmtMiB = (kib: number) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : 'n/a');
const fmtN = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** One runtime of the run: corelet's private daemon first, then the references. */
interface Runtime {
  label: string;
  endpoint: string;
  pid: number;
}

/** A cell per runtime: f of its results, or 'failed'. */
function cells<R>(runtimes: Runtime[], results: Map<string, (R | string)[]>, f: (rs: R[]) => string): string[] {
  return runtimes.map((rt) => {
    const rs = results.get(rt.label) ?? [];
    const ok = rs.filter((r): r is R => typeof r !== 'string');
    return ok.length === 0 ? (rs.length === 0 ? '-' : 'failed') : f(ok);
  });
}

/** Each round's figure, "a / b", and the ratio of their medians to the reference runtimes'. */
function reportPods(runtimes: Runtime[], results: Map<string, (PodsResult | string)[]>): void {
  const each = (f: (r: PodsResult) => number) => (rs: PodsResult[]) => rs.map((r) => fmtS(f(r))).join(' / ');
  const med = (label: string, f: (r: PodsResult) => number) => median((results.get(label) ?? []).filter((r): r is PodsResult => typeof r !== 'string').map(f));
  const ratioRows = (metric: string, f: (r: PodsResult) => number) =>
    runtimes.slice(1).map((ref) => [`  corelet ÷ ${ref.label} (medians)`, ...runtimes.map((rt, i) => (i === 0 ? `${fmtN(med(rt.label, f) / med(ref.label, f))}× ${metric}` : ''))]);
  const rows = [
    ['metric (each round)', ...runtimes.map((rt) => `agent → ${rt.label}`)],
    [`${PODS} pods: write → all Ready`, ...cells(runtimes, results, each((r) => r.allReadyMs))],
    ...ratioRows('≤ 1.0 goal', (r) => r.allReadyMs),
    ['  agent CPU, write → all Ready', ...cells(runtimes, results, (rs) => rs.map((r) => `${r.startCpuMs} ms`).join(' / '))],
    ['  runtime daemon CPU (own), same span', ...cells(runtimes, results, (rs) => rs.map((r) => `${r.runtimeStartCpuMs} ms`).join(' / '))],
    ['  first pod Ready', ...cells(runtimes, results, each((r) => r.firstReadyMs))],
    ['  median pod Ready', ...cells(runtimes, results, each((r) => r.medianReadyMs))],
    [`remove ${PODS} files → /pods empty`, ...cells(runtimes, results, each((r) => r.emptyMs))],
    ...ratioRows('≤ 1.0 goal', (r) => r.emptyMs),
    ['  agent CPU, removal', ...cells(runtimes, results, (rs) => rs.map((r) => `${r.removeCpuMs} ms`).join(' / '))],
    ['  runtime daemon CPU (own), same span', ...cells(runtimes, results, (rs) => rs.map((r) => `${r.runtimeRemoveCpuMs} ms`).join(' / '))],
    ['  sandboxes left in runtime', ...cells(runtimes, results, (rs) => rs.map((r) => String(r.leftoverSandboxes)).join(' / '))],
    ['  pod cgroups left', ...cells(runtimes, results, (rs) => rs.map((r) => String(r.leftoverCgroups)).join(' / '))],
  ];
  console.log('\n' + table(rows));
  for (const rt of runtimes) for (const r of results.get(rt.label) ?? []) {
    if (typeof r === 'string') console.log(`${rt.label}: ${r}`);
    else if (r.errors.length > 0) console.log(`${rt.label}: ${r.errors.join('; ')}`);
  }
  if (!args.trace) return;
  // per step: median and max over the pods of the first round... of every round, each pod's first time
  const trows = [['step (ms after the write; median / max over pods, all rounds)', ...runtimes.map((rt) => rt.label)]];
  for (const step of TRACE_STEPS) {
    trows.push([step, ...cells(runtimes, results, (rs) => {
      const v = rs.flatMap((r) => r.trace.get(step) ?? []);
      return v.length === 0 ? '-' : `${median(v).toFixed(0)} / ${Math.max(...v).toFixed(0)} (n=${v.length})`;
    })]);
  }
  console.log('\n' + table(trows));
}

function reportRelist(runtimes: Runtime[], results: Map<string, (RelistResult | string)[]>): void {
  const one = (f: (r: RelistResult) => string) => (rs: RelistResult[]) => f(rs[0]!);
  const methods = [...new Set([...results.values()].flat().flatMap((r) => (typeof r === 'string' ? [] : [...r.criPerS.keys()])))].sort();
  const rows = [
    ['metric', ...runtimes.map((rt) => `agent → ${rt.label}`)],
    [`${RELIST_PODS} pods: write → all Ready`, ...cells(runtimes, results, one((r) => fmtS(r.readyMs)))],
    [`idle agent CPU over ${IDLE_MS / 1000} s (goal ≤ ${GOAL_RELIST_PCT} % of a core)`, ...cells(runtimes, results, one((r) => `${fmtN(r.idleCpuPct)} % ${r.idleCpuPct <= GOAL_RELIST_PCT ? 'met' : 'MISSED'}`))],
    ['  runtime daemon CPU, same window (+ its reaped children)', ...cells(runtimes, results, one((r) => `${fmtN(r.runtimeCpuPct)} %`))],
    ...methods.map((m) => [`  agent CRI ${m} /s`, ...cells(runtimes, results, one((r) => fmtN(r.criPerS.get(m) ?? 0)))]),
    ['idle agent RSS', ...cells(runtimes, results, one((r) => fmtMiB(r.rssKiB)))],
    ['idle agent PSS', ...cells(runtimes, results, one((r) => fmtMiB(r.pssKiB)))],
    [`remove ${RELIST_PODS} files → /pods empty`, ...cells(runtimes, results, one((r) => fmtS(r.emptyMs)))],
  ];
  console.log('\n' + table(rows));
  for (const rt of runtimes) for (const r of results.get(rt.label) ?? []) {
    if (typeof r === 'string') console.log(`${rt.label} (relist): ${r}`);
    else if (r.errors.length > 0) console.log(`${rt.label} (relist): ${r.errors.join('; ')}`);
  }
}

function reportNoisy(cases: NoisyCase[] | string): void {
  if (typeof cases === 'string') {
    console.log(`\nnoisy neighbour: failed: ${cases}`);
    return;
  }
  const alone = cases[0]!;
  const p = (c: NoisyCase, q: number) => quantile(c.latencies, q);
  const ratio = (c: NoisyCase, q: number) => p(c, q) / p(alone, q);
  const rows = [['server latency (agent → corelet runtime)', 'n', 'p50', 'p99', 'p50 ratio', 'p99 ratio', 'hog CPU', 'host CPU busy', `goal ≤ ${GOAL_NOISY_RATIO}`]];
  for (const c of cases) {
    const verdict = (q: number) => (ratio(c, q) <= GOAL_NOISY_RATIO ? 'met' : 'MISSED');
    const goal = c.label.startsWith('hog limited') ? `p50 ${verdict(0.5)}, p99 ${verdict(0.99)}` : c.withHog ? '(info)' : '-';
    rows.push([
      c.withHog ? `${c.label}, ${c.hogQos}` : c.label,
      `${c.latencies.length}${c.failures ? ` (+${c.failures} failed)` : ''}`,
      fmtMs(p(c, 0.5)),
      fmtMs(p(c, 0.99)),
      `${fmtN(ratio(c, 0.5))}×`,
      `${fmtN(ratio(c, 0.99))}×`,
      c.withHog ? `${fmtN(c.hogNs / 1e6 / c.wallMs)} cores` : '-',
      `${fmtN((c.hostBusy / c.hostTotal) * availableParallelism())} cores`,
      c.error ? 'failed' : goal,
    ]);
  }
  console.log('\n' + table(rows));
  for (const c of cases) if (c.error) console.log(`${c.label}: ${c.error}`);
}

const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
};

async function main(): Promise<void> {
  const before = uptime();
  console.log(`before: ${before}`);
  console.log(`CPU: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}`);
  const refs = await referenceRuntimes(args);
  const podResults = new Map<string, (PodsResult | string)[]>();
  const relistResults = new Map<string, (RelistResult | string)[]>();
  const push = <R>(m: Map<string, (R | string)[]>, k: string, v: R | string) => m.set(k, [...(m.get(k) ?? []), v]);
  let noisy: NoisyCase[] | string = 'not run (--noisy)';
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args['corelet-log-level']!,
    bridge: `${PREFIX.slice(0, 4)}ba${process.pid % 10000}`,
    subnet: args.subnet!,
    cgroupParent: `/${PREFIX}-corelet-bench-${process.pid}`,
  });
  const runtimes: Runtime[] = [];
  try {
    const endpoint = `unix://${corelet.socket}`;
    const cri = createCriClient(endpoint);
    const v = await cri.runtime.Version({}).finally(() => cri.close());
    runtimes.push({ label: `${v.runtime_name} ${v.runtime_version}`, endpoint, pid: corelet.pid }, ...refs);
    console.log(`runtimes: ${runtimes.map((r) => `${r.label} (${r.endpoint}, pid ${r.pid})`).join('; ')}`);
    // the runtime's sandboxes are recorded so its stop() can clear a failed run's netns
    const note = async (c: CriClient) => {
      for (const id of await ourSandboxes(c).catch(() => [] as string[])) corelet.noteSandbox(id);
    };
    for (let round = 0; round < ROUNDS_PODS; round++) {
      for (const rt of runtimes) {
        await withAgent(rt.label, rt.endpoint, async (agent, cri, qos) => {
          try {
            push(podResults, rt.label, await podsPass(agent, cri, qos, rt.pid));
          } finally {
            if (rt.pid === corelet.pid) await note(cri);
          }
        }).catch((err: unknown) => push(podResults, rt.label, errText(err)));
        console.log(`round ${round + 1}, ${rt.label}: ${(() => {
          const r = podResults.get(rt.label)?.at(-1);
          return typeof r === 'string' ? r : r ? `${fmtS(r.allReadyMs)} to Ready, ${fmtS(r.emptyMs)} to empty` : '?';
        })()} (load ${loadavg()[0]!.toFixed(2)})`);
      }
    }
    if (RELIST_PODS > 0) {
      for (const rt of runtimes) {
        await withAgent(rt.label, rt.endpoint, async (agent, cri) => {
          try {
            push(relistResults, rt.label, await relistPass(agent, rt.pid));
          } finally {
            if (rt.pid === corelet.pid) await note(cri);
          }
          // never at --trace's debug level: its log lines are CPU the relist cost would count
        }, args['agent-log-level']!).catch((err: unknown) => push(relistResults, rt.label, errText(err)));
        console.log(`relist, ${rt.label}: done (load ${loadavg()[0]!.toFixed(2)})`);
      }
    }
    if (args.noisy) {
      await withAgent(runtimes[0]!.label, endpoint, async (agent, cri, qos) => {
        try {
          noisy = await noisyNeighbour(agent, qos);
        } catch (err) {
          noisy = errText(err);
        } finally {
          await note(cri);
        }
      }).catch((err: unknown) => (noisy = errText(err)));
    }
  } finally {
    await corelet.stop();
  }
  reportPods(runtimes, podResults);
  if (RELIST_PODS > 0) reportRelist(runtimes, relistResults);
  if (args.noisy) reportNoisy(noisy);
  console.log(`\nCPU: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}`);
  console.log(`before: ${before}`);
  console.log(`after:  ${uptime()}`);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
