/**
 * The soak's faults, each one injected and ended here (the daemon restarted, the link back up) and
 * recorded in the report with its times; victims are picked with the seeded PRNG.
 *   kill-scheduler   SIGKILL, restarted 1 s later (as systemd would)
 *   scheduler-down   SIGTERM, started again after schedulerDownSeconds (longer than the 40 s
 *                    heartbeat grace: the case that used to evict every pod)
 *   kill-agent, kill-runtime   SIGKILL of one node's daemon, restarted 2 s later
 *   kill-conmon      SIGKILL of the conmon of one running container
 *   kill-pause       SIGKILL of the pause process of one READY sandbox
 *   node-lost        the node's link on the host bridge down for nodeLostSeconds, then up again
 *   big-apply        a 1 MiB manifest applied with the CLI while the API is probed every 100 ms
 * Outages are injected only when every node certificate outlives them (a certificate that expires
 * while its node cannot reach the scheduler ends that node, in Kubernetes too: that would be the
 * test's fault, not the cluster's); the test waits for rotation first.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ClusterHarness } from '../helpers/cluster-harness.js';
import { CORELET } from '../helpers/runtime-harness.js';
import type { Invariants } from './invariants.js';
import { IMAGE_POD_PREFIX } from './image-churn.js';
import type { FaultRecord, SoakReport } from './report.js';
import { durationSeconds, type Prng, type SoakSettings } from './settings.js';

export const FAULT_KINDS = ['kill-scheduler', 'scheduler-down', 'kill-agent', 'kill-runtime', 'kill-conmon', 'kill-pause', 'node-lost', 'big-apply'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultContext {
  cluster: ClusterHarness;
  report: SoakReport;
  rng: Prng;
  settings: SoakSettings;
  invariants: Invariants;
  /** Pauses and resumes the churn workload (scheduler faults want a still cluster). */
  churn: { pause(): Promise<void>; resume(): void };
}

/**
 * The order of faults: the short form injects each kind once: a pause first (a sandbox left stuck
 * shows only 2 minutes later), then the scheduler outage (while every node certificate is young),
 * the rest shuffled with the node outage in the middle. The long form starts with the same round,
 * then picks kinds at random.
 */
export function firstRound(rng: Prng): FaultKind[] {
  const rest = rng.shuffle(FAULT_KINDS.filter((k) => k !== 'kill-pause' && k !== 'scheduler-down' && k !== 'node-lost'));
  return ['kill-pause', 'scheduler-down', ...rest.slice(0, 2), 'node-lost', ...rest.slice(2)];
}

export async function inject(kind: FaultKind, ctx: FaultContext): Promise<FaultRecord | undefined> {
  const { cluster, rng } = ctx;
  const node = rng.pick(cluster.nodes).name;
  switch (kind) {
    case 'kill-scheduler':
      return schedulerFault(ctx, kind, async (f) => {
        await cluster.daemon('kill', 'scheduler');
        await sleep(1000);
        await cluster.daemon('start', 'scheduler');
        f.detail = 'SIGKILL, restarted after 1 s';
      });
    case 'scheduler-down':
      await certsOutlive(ctx, ctx.settings.schedulerDownSeconds, cluster.nodes.map((n) => n.name));
      return schedulerFault(ctx, kind, async (f) => {
        await cluster.daemon('stop', 'scheduler');
        await sleep(ctx.settings.schedulerDownSeconds * 1000);
        await cluster.daemon('start', 'scheduler');
        f.detail = `SIGTERM, started again after ${ctx.settings.schedulerDownSeconds} s`;
      });
    case 'kill-agent':
    case 'kill-runtime': {
      const daemon = `${node}/${kind.slice(5)}`;
      return run(ctx, kind, daemon, async (f) => {
        await cluster.daemon('kill', daemon);
        await sleep(2000);
        await cluster.daemon('start', daemon);
        f.detail = 'SIGKILL, restarted after 2 s';
      });
    }
    case 'kill-conmon': {
      const victim = await onSomeNode(ctx, (n) => pickConmon(ctx, n));
      if (!victim) return skipped(ctx, kind, 'any node', 'no conmon of a running container of a listed pod found');
      return run(ctx, kind, `${victim.node} ${victim.pod}`, async (f) => {
        process.kill(victim.pid, 'SIGKILL');
        f.detail = `conmon ${victim.pid} of container ${victim.id.slice(0, 13)}`;
      });
    }
    case 'kill-pause': {
      const victim = await onSomeNode(ctx, (n) => pickPause(ctx, n));
      if (!victim) return skipped(ctx, kind, 'any node', 'no READY sandbox of a listed pod with a pause process found');
      return run(ctx, kind, `${victim.node} ${victim.pod}`, async (f) => {
        process.kill(victim.pid, 'SIGKILL');
        f.detail = `pause ${victim.pid} of sandbox ${victim.id.slice(0, 13)}`;
      });
    }
    case 'node-lost': {
      await certsOutlive(ctx, ctx.settings.nodeLostSeconds, [node]);
      const link = `${cluster.name}-v${node.slice(4)}`;
      return run(ctx, kind, node, async (f) => {
        await execa('ip', ['link', 'set', link, 'down']);
        try {
          await sleep(ctx.settings.nodeLostSeconds * 1000);
        } finally {
          await execa('ip', ['link', 'set', link, 'up']);
        }
        f.detail = `host link ${link} down for ${ctx.settings.nodeLostSeconds} s`;
      });
    }
    case 'big-apply':
      return run(ctx, kind, 'scheduler', (f) => bigApply(ctx, f));
  }
}

/** Runs a fault: recorded, the invariants told when it starts and ends (even when it throws). */
async function run(ctx: FaultContext, kind: FaultKind, target: string, body: (f: FaultRecord) => Promise<void>): Promise<FaultRecord> {
  const f = ctx.report.fault(kind, target);
  ctx.invariants.faultStarted();
  try {
    await body(f);
  } catch (err) {
    f.detail = `${f.detail ?? ''} failed: ${String(err).split('\n')[0]}`;
    ctx.report.violation('fault-injection', `${kind} ${target}: ${String(err).split('\n')[0]}`);
  } finally {
    f.end = ctx.report.now();
    ctx.invariants.faultEnded(kind);
  }
  ctx.report.note(`fault ended: ${kind} ${target}${f.detail ? ` (${f.detail})` : ''}`);
  return f;
}

function skipped(ctx: FaultContext, kind: FaultKind, target: string, why: string): undefined {
  ctx.report.note(`fault ${kind} on ${target} skipped: ${why}`);
  return undefined;
}

/**
 * A scheduler fault on a still cluster: churn paused, the Running pods' uids taken before, and
 * compared once the cluster has recovered (no pod may be deleted because the scheduler restarted).
 */
async function schedulerFault(ctx: FaultContext, kind: FaultKind, body: (f: FaultRecord) => Promise<void>): Promise<FaultRecord> {
  await ctx.churn.pause();
  try {
    await ctx.invariants.waitHealthy(ctx.settings.recoveryMs);
    const snapshot = await ctx.invariants.snapshotPods();
    const f = await run(ctx, kind, 'scheduler', body);
    await ctx.invariants.waitHealthy(ctx.settings.recoveryMs);
    // a scheduler that evicts after its restart does so within its eviction timeout (10 s, or the
    // flag's) of marking the nodes NotReady: look again a little later
    await sleep(15_000);
    await ctx.invariants.checkPodsKept(snapshot, `${kind} at ${f.start} s`);
    return f;
  } finally {
    ctx.churn.resume();
  }
}

/** Waits (bounded) until the named nodes' certificates outlive an outage of `seconds` by 30 s. */
async function certsOutlive(ctx: FaultContext, seconds: number, nodes: string[]): Promise<void> {
  const deadline = Date.now() + durationSeconds(ctx.settings.nodeCertTtl) * 350;
  for (;;) {
    const left = await ctx.invariants.certSecondsLeft();
    const short = nodes.filter((n) => (left.get(n) ?? Infinity) < seconds + 30);
    if (short.length === 0) return;
    if (Date.now() > deadline) {
      ctx.report.note(`certificates of ${short.join(', ')} expire within the outage; injecting it anyway`);
      return;
    }
    ctx.report.note(`waiting for ${short.join(', ')} to rotate its certificate before a ${seconds} s outage`);
    await sleep(5000);
  }
}

/** The first victim found on the nodes taken in a seeded random order. */
async function onSomeNode<T>(ctx: FaultContext, pick: (node: string) => Promise<T | undefined>): Promise<(T & { node: string }) | undefined> {
  for (const n of ctx.rng.shuffle(ctx.cluster.nodes.map((x) => x.name))) {
    const v = await pick(n);
    if (v) return { ...v, node: n };
  }
  return undefined;
}

/** The uids of the pods the API lists: victims are picked among them, never among leftovers. */
async function livePods(ctx: FaultContext): Promise<Set<string>> {
  const s = await ctx.invariants.sampleApi(30_000).catch(() => ctx.invariants.last);
  return new Set((s?.pods ?? []).map((p) => p.metadata.uid));
}

async function pickConmon(ctx: FaultContext, node: string): Promise<{ pid: number; id: string; pod: string } | undefined> {
  const ctrs = (await ctx.invariants.criContainers(node, 'running')) ?? [];
  const dir = ctx.cluster.node(node).dir;
  const ps = String((await execa('ps', ['-eo', 'pid=,args='])).stdout).split('\n');
  const live = await livePods(ctx);
  const candidates = ctrs.filter((c) => live.has(c.labels['io.kubernetes.pod.uid'] ?? '')).flatMap((c) => {
    const line = ps.find((l) => /\bconmon\b/.test(l) && l.includes(`${dir}/`) && l.includes(c.id));
    const pod = `${c.labels['io.kubernetes.pod.namespace']}/${c.labels['io.kubernetes.pod.name']}`;
    // not the crash loop's (it dies anyway) nor an image-churn pod (replaced within seconds): a victim whose recovery shows
    return line && !pod.includes('/crashloop') && !pod.includes(`/${IMAGE_POD_PREFIX}`) ? [{ pid: Number(line.trim().split(/\s+/)[0]), id: c.id, pod }] : [];
  });
  return candidates.length > 0 ? ctx.rng.pick(candidates) : undefined;
}

async function pickPause(ctx: FaultContext, node: string): Promise<{ pid: number; id: string; pod: string } | undefined> {
  const live = await livePods(ctx);
  const pods = ((await ctx.invariants.criSandboxes(node)) ?? []).filter((p) => p.state === 'SANDBOX_READY' && live.has(p.labels['io.kubernetes.pod.uid'] ?? '') && p.labels['io.kubernetes.pod.name'] !== 'crashloop' && !(p.labels['io.kubernetes.pod.name'] ?? '').startsWith(IMAGE_POD_PREFIX));
  for (const p of ctx.rng.shuffle(pods)) {
    const r = await ctx.cluster.crictl(node, ['inspectp', p.id], { reject: false });
    const pid = (JSON.parse(String(r.stdout || '{}')) as { info?: { pid?: number } }).info?.pid;
    const comm = pid ? (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() : '';
    // never a wrong process: the pid must be this sandbox's pause right now
    if (pid && comm === 'pause') return { pid, id: p.id, pod: `${p.labels['io.kubernetes.pod.namespace']}/${p.labels['io.kubernetes.pod.name']}` };
  }
  return undefined;
}

/**
 * About 1 MiB of YAML as people write it: a namespace and ~1,000 Deployments (0 replicas: only the
 * API and the controllers work, no pods start).
 */
export function bigManifest(): string {
  const parts = ['apiVersion: v1\nkind: Namespace\nmetadata: {name: soak-big}\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < 1024 * 1024; i++) {
    const d = `apiVersion: apps/v1
kind: Deployment
metadata: {name: big-${i}, namespace: soak-big, labels: {soak: big}}
spec:
  replicas: 0
  selector: {matchLabels: {app: big-${i}}}
  template:
    metadata: {labels: {app: big-${i}}}
    spec:
      containers:
      - name: main
        image: corelet.local/zeus/api:1.0
        command: ["sh", "-c", "echo ${'x'.repeat(600)}"]
`;
    parts.push(d);
    size += d.length + 4;
  }
  return parts.join('---\n');
}

/**
 * Applies bigManifest() with the CLI while GET /api/v1/nodes is sent every 100 ms (each on its own,
 * so a blocked scheduler shows as long answers, not as fewer probes). p99 above 1 s is a violation.
 */
async function bigApply(ctx: FaultContext, f: FaultRecord): Promise<void> {
  const file = join(ctx.cluster.root, 'big.yaml');
  const manifest = bigManifest();
  await writeFile(file, manifest);
  const latencies: number[] = [];
  const probes: Promise<void>[] = [];
  let failed = 0;
  const probe = () => {
    const t0 = Date.now();
    probes.push(
      ctx.cluster
        .api('/api/v1/nodes', { timeoutMs: 30_000 })
        .then((r) => {
          if (r.status !== 200) failed++;
          latencies.push(Date.now() - t0);
        })
        .catch(() => {
          // no answer (or a broken connection) counts as the longest wait
          failed++;
          latencies.push(Math.max(Date.now() - t0, 30_000));
        }),
    );
  };
  const timer = setInterval(probe, 100);
  const t0 = Date.now();
  const r = await execa(process.execPath, [CORELET, 'apply', '-f', file], { env: { HOME: ctx.cluster.home }, reject: false, timeout: 300_000 });
  const applyMs = Date.now() - t0;
  clearInterval(timer);
  await Promise.all(probes);
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const figures = { manifestBytes: manifest.length, objects: manifest.split('\n---\n').length, applySeconds: applyMs / 1000, probes: sorted.length, failedProbes: failed, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: sorted.at(-1) ?? 0 };
  ctx.report.measure('API latency while a 1 MiB manifest is applied', figures);
  f.detail = `${(manifest.length / 1024).toFixed(0)} KiB in ${figures.applySeconds.toFixed(1)} s; probes p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms`;
  if (r.exitCode !== 0) ctx.report.violation('big-apply', `corelet apply of the 1 MiB manifest failed (${r.exitCode}): ${String(r.stderr).split('\n').slice(0, 3).join(' ')}`);
  if (failed > 0) ctx.report.violation('api-latency', `${failed} of ${sorted.length} API calls failed while a 1 MiB manifest was applied`);
  if (figures.p99Ms > 1000) ctx.report.violation('api-latency', `p99 ${figures.p99Ms} ms (max ${figures.maxMs} ms) over ${sorted.length} API calls while a 1 MiB manifest was applied; the bound is 1000 ms`);
  await execa(process.execPath, [CORELET, 'delete', 'namespace', 'soak-big'], { env: { HOME: ctx.cluster.home }, reject: false, timeout: 120_000 });
}
