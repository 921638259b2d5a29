/**
 * Agent benchmark: a private `corelet agent` running static pods from its manifest folder.
 *
 *  1. Pods to Ready: N single-container busybox `sleep 3600` pods written into the folder at once,
 *     timed from the write to all N Ready on /pods (polled every 100 ms), then the files removed and
 *     timed until /pods is empty. Once over a private corelet runtime and once over containerd, in
 *     the same run.
 *  2. Idle: with the N pods running, the agent's CPU (utime + stime from /proc/PID/stat over a
 *     window in which nobody calls it) and its RSS/PSS.
 *  3. Noisy neighbour (over corelet runtime): latency of sequential HTTP GETs from the host to a
 *     Guaranteed busybox httpd pod (500m CPU, 64Mi), alone, next to a BestEffort CPU hog (two busy
 *     loops, no resources) and next to the same hog limited to 500m per container (Burstable), as
 *     ratios to the alone case. Requests are --gap-ms apart, so each finds the server idle (as a
 *     small server's clients would) instead of running it flat out into its own CPU quota; the
 *     cases take turns over a few rounds, so load from elsewhere on a shared host hits them alike.
 *
 *   node dist/bench/agent.js [--containerd unix:///run/containerd/containerd.sock] [--skip-containerd]
 *     [--pods 30] [--idle-seconds 20] [--requests 300] [--warmup 10] [--gap-ms 10] [--rounds 3] [--timeout-seconds 300]
 *     [--agent-log-level info] [--corelet-log-level info]
 *
 * It never exits non-zero on a missed goal: it measures. Pods, agents, the runtime, QoS cgroups and
 * temp dirs are removed even when a step fails.
 */
import { request } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { BUSYBOX, AgentDaemon, CoreletDaemon, isReady, type AgentPod } from './corelet-daemon.js';
import { cpuMs, memKiB, settledPssKiB } from './procs.js';
import { median, quantile, table } from './stats.js';
import { messageOf } from '../src/lib/index.js';

const NAMESPACE = 'corelet-bench-agent';
const GOAL_NOISY_RATIO = 1.2;
const POLL_MS = 100;

const { values: args } = parseArgs({
  options: {
    containerd: { type: 'string', default: 'unix:///run/containerd/containerd.sock' },
    'skip-containerd': { type: 'boolean', default: false },
    image: { type: 'string', default: BUSYBOX },
    pods: { type: 'string', default: '30' },
    'idle-seconds': { type: 'string', default: '20' },
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    'gap-ms': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'timeout-seconds': { type: 'string', default: '300' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'agent-log-level': { type: 'string', default: 'info' },
    'corelet-log-level': { type: 'string', default: 'info' },
  },
});
const PODS = Number(args.pods);
const IDLE_MS = Number(args['idle-seconds']) * 1000;
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const GAP_MS = Number(args['gap-ms']);
const ROUNDS = Number(args.rounds);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;

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

/** What one agent-over-runtime pass measured. */
interface PodsResult {
  allReadyMs: number;
  firstReadyMs: number;
  medianReadyMs: number;
  readyCount: number;
  emptyMs: number;
  idleCpuPct: number;
  rssKiB: number;
  pssKiB: number;
  /** Sandboxes of our namespace the runtime still holds after /pods went empty. */
  leftoverSandboxes: number;
  /** pod<uid> cgroups left under the agent's QoS cgroup after /pods went empty. */
  leftoverCgroups: number;
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

/** N pods to Ready, idle cost with them running, then removal until /pods is empty. */
async function podsPass(agent: AgentDaemon, cri: CriClient, qosCgroup: string): Promise<PodsResult> {
  const r: PodsResult = { allReadyMs: NaN, firstReadyMs: NaN, medianReadyMs: NaN, readyCount: 0, emptyMs: NaN, idleCpuPct: NaN, rssKiB: NaN, pssKiB: NaN, leftoverSandboxes: NaN, leftoverCgroups: NaN, errors: [] };
  const names = Array.from({ length: PODS }, (_, i) => `sleep-${String(i).padStart(2, '0')}`);
  const readyAt = new Map<string, number>();
  const started = performance.now();
  await Promise.all(names.map((n) => agent.apply(`${n}.yaml`, sleepPod(n))));
  r.allReadyMs = await pollUntil(agent, started, (pods) => pods.filter(isReady).length >= PODS, (pods, ms) => {
    for (const p of pods) if (isReady(p) && !readyAt.has(p.metadata.name)) readyAt.set(p.metadata.name, ms);
  });
  r.readyCount = readyAt.size;
  r.firstReadyMs = Math.min(...readyAt.values());
  r.medianReadyMs = median([...readyAt.values()]);
  if (r.readyCount < PODS) r.errors.push(`only ${r.readyCount}/${PODS} pods Ready after ${TIMEOUT_MS / 1000} s`);

  // idle: nobody calls the agent during the window; it only relists and syncs on its own
  await sleep(2000);
  const cpu0 = await cpuMs(agent.pid);
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const cpu1 = await cpuMs(agent.pid);
  r.idleCpuPct = ((cpu1.self - cpu0.self) / (performance.now() - t0)) * 100;
  r.rssKiB = (await memKiB(agent.pid)).rss;
  r.pssKiB = await settledPssKiB(agent.pid);
  const stillReady = (await ourPods(agent)).filter(isReady).length;
  if (stillReady < r.readyCount) r.errors.push(`${r.readyCount - stillReady} pods stopped being Ready while idle`);

  const removing = performance.now();
  await Promise.all(names.map((n) => agent.remove(`${n}.yaml`)));
  r.emptyMs = await pollUntil(agent, removing, (pods) => pods.length === 0);
  if (Number.isNaN(r.emptyMs)) r.errors.push(`/pods not empty ${TIMEOUT_MS / 1000} s after removing the files`);
  r.leftoverSandboxes = (await ourSandboxes(cri)).length;
  r.leftoverCgroups = (await podCgroups(qosCgroup)).length;
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

/** Starts an agent over endpoint, runs the passes, and always tears it down. */
async function withAgent<T>(name: string, endpoint: string, run: (agent: AgentDaemon, cri: CriClient, qos: string) => Promise<T>): Promise<T> {
  const cri = createCriClient(endpoint);
  const qosCgroup = `kubepods-bench-${process.pid}-${name.split(' ')[0]}`;
  let agent: AgentDaemon | undefined;
  try {
    const v = await cri.runtime.Version({});
    console.log(`${name}: ${v.runtime_name} ${v.runtime_version}`);
    await tearDown(undefined, cri); // pods a failed earlier run may have left
    await cri.image.PullImage({ image: { image: args.image! } });
    agent = await AgentDaemon.start({ cli: args['corelet-cli']!, endpoint, qosCgroup, nodeName: 'bench', logLevel: args['agent-log-level']! });
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

function reportPods(results: Map<string, PodsResult | string>): void {
  const names = [...results.keys()];
  const cell = (f: (r: PodsResult) => string) => names.map((n) => {
    const r = results.get(n)!;
    return typeof r === 'string' ? 'failed' : f(r);
  });
  const rows = [
    ['metric', ...names.map((n) => `agent → ${n}`)],
    [`${PODS} pods: write → all Ready`, ...cell((r) => fmtS(r.allReadyMs))],
    ['  first pod Ready', ...cell((r) => fmtS(r.firstReadyMs))],
    ['  median pod Ready', ...cell((r) => fmtS(r.medianReadyMs))],
    [`idle agent CPU over ${IDLE_MS / 1000} s, ${PODS} pods`, ...cell((r) => `${fmtN(r.idleCpuPct)} %`)],
    ['idle agent RSS', ...cell((r) => fmtMiB(r.rssKiB))],
    ['idle agent PSS', ...cell((r) => fmtMiB(r.pssKiB))],
    [`remove ${PODS} files → /pods empty`, ...cell((r) => fmtS(r.emptyMs))],
    ['  sandboxes left in runtime', ...cell((r) => String(r.leftoverSandboxes))],
    ['  pod cgroups left', ...cell((r) => String(r.leftoverCgroups))],
  ];
  console.log('\n' + table(rows));
  for (const n of names) {
    const r = results.get(n)!;
    if (typeof r === 'string') console.log(`${n}: ${r}`);
    else if (r.errors.length > 0) console.log(`${n}: ${r.errors.join('; ')}`);
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

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const podResults = new Map<string, PodsResult | string>();
  let noisy: NoisyCase[] | string = 'not run';
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args['corelet-log-level']!,
    bridge: `clbagent${process.pid % 10000}`,
    subnet: `10.${160 + (process.pid % 20)}.${process.pid % 250}.0/24`,
  });
  try {
    const endpoint = `unix://${corelet.socket}`;
    await withAgent('corelet runtime', endpoint, async (agent, cri, qos) => {
      try {
        podResults.set('corelet runtime', await podsPass(agent, cri, qos));
      } catch (err) {
        podResults.set('corelet runtime', errText(err));
      }
      // the runtime's sandboxes are recorded so its stop() can clear a failed run's netns
      for (const id of await ourSandboxes(cri).catch(() => [] as string[])) corelet.noteSandbox(id);
      try {
        noisy = await noisyNeighbour(agent, qos);
      } catch (err) {
        noisy = errText(err);
      } finally {
        for (const id of await ourSandboxes(cri).catch(() => [] as string[])) corelet.noteSandbox(id);
      }
    }).catch((err: unknown) => podResults.set('corelet runtime', errText(err)));
  } finally {
    await corelet.stop();
  }
  if (!args['skip-containerd']) {
    await withAgent('containerd', args.containerd!, async (agent, cri, qos) => {
      podResults.set('containerd', await podsPass(agent, cri, qos));
    }).catch((err: unknown) => podResults.set('containerd', errText(err)));
  }
  reportPods(podResults);
  reportNoisy(noisy);
  console.log(`host load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)}, on ${availableParallelism()} CPUs`);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
