/**
 * The soak's invariants. A poller samples the cluster every few seconds (the API, and each node's
 * runtime through crictl) and records violations in the report:
 *   workload-recovery   a Deployment or StatefulSet below its replicas for longer than 2 minutes after
 *                       the last fault ended (or the test scaled it)
 *   node-recovery       a node not Ready 2 minutes after the last fault ended
 *   api-unavailable     the API unreachable 2 minutes after the last fault ended
 *   statefulset-ordinal-twice  one ordinal's container running on two nodes at the same time
 *   sandbox-stuck       a sandbox READY while its pause process is gone, 2 minutes after it died
 *   log-size            a container's log folder above the configured rotation limit (plus the writes
 *                       of one rotation period)
 *   orphan-container    a container running 2 minutes after the API stopped listing its pod
 * and, on demand: pod-deleted-by-scheduler-restart (the uids of the Running pods before a scheduler
 * fault, compared after it), and the end checks: leaked IP allocations, iptables rules, netns, log
 * and volume folders, mounts, pod cgroups, conmon processes before `cluster.sh down`; leftovers
 * (netns, links, processes, cgroups, mounts, rules, files) after it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ApiPod, ClusterHarness, ClusterNode, Leftovers } from '../helpers/cluster-harness.js';
import type { SoakReport } from './report.js';
import type { SoakSettings } from './settings.js';
import { SOAK_NS, TEST_DELETED_PREFIXES } from './workload.js';

interface Workload {
  metadata: { name: string; namespace: string };
  spec: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
}
interface ApiNode {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}
interface CriSandbox {
  id: string;
  state: string;
  labels: Record<string, string>;
}
interface CriContainer {
  id: string;
  state?: string;
  podSandboxId: string;
  labels: Record<string, string>;
}

/** How long the cluster must stay healthy to count as recovered. */
const STABLE_MS = 8_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isReady = (p: ApiPod) => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const deleting = (p: ApiPod) => !!(p.metadata as { deletionTimestamp?: string }).deletionTimestamp;
const ns = (p: ApiPod) => p.metadata.namespace ?? 'default';

/** One sample of the API: undefined when it did not answer. */
export interface ApiSample {
  pods: ApiPod[];
  workloads: { key: string; desired: number; ready: number }[];
  nodes: { name: string; ready: boolean }[];
}

export class Invariants {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private polls = 0;
  private activeFaults = 0;
  /** When the last fault ended (ms); recovery windows count from here. */
  private lastFaultEnd = Date.now();
  /** When the last fault that cut a node off from the scheduler ended. */
  private lastOutageEnd = Date.now();
  private readonly disturbed = new Map<string, number>();
  private readonly notReadySince = new Map<string, number>();
  private apiDownSince: number | undefined;
  private readonly pauseDeadSince = new Map<string, number>();
  /** Every sandbox id seen on each node, and their pause pids (for the leak checks). */
  readonly sandboxes = new Map<string, Set<string>>();
  readonly pausePids = new Map<string, number>();
  /** uid → when the API last listed it, and where. */
  private readonly podSeen = new Map<string, { at: number; node?: string; name: string }>();
  private readonly certSerials = new Map<string, Set<string>>();
  private readonly logMax = new Map<string, number>();
  /** The last API sample; healthy = every workload at its replicas and every node Ready. */
  last: ApiSample | undefined;
  healthy = false;
  private healthySince: number | undefined;
  private readonly orphanSince = new Map<string, number>();
  readonly pollLatenciesMs: number[] = [];

  constructor(
    private readonly cluster: ClusterHarness,
    private readonly report: SoakReport,
    private readonly settings: SoakSettings,
    /** The largest a container's log folder may be (bytes). */
    private readonly logBoundBytes: number,
  ) {
    for (const n of cluster.nodes) this.sandboxes.set(n.name, new Set());
  }

  start(): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        this.polling = this.poll()
          .catch((err: unknown) => this.report.note(`poll failed: ${String(err).split('\n')[0]}`))
          .finally(() => {
            if (this.timer) tick();
          });
      }, this.settings.pollMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  faultStarted(): void {
    this.activeFaults++;
    this.healthySince = undefined;
  }

  /** kind: faults that keep a node from hearing the scheduler also restart the orphan clocks. */
  faultEnded(kind?: string): void {
    this.activeFaults = Math.max(0, this.activeFaults - 1);
    this.lastFaultEnd = Date.now();
    if (kind && /scheduler|node-lost|agent/.test(kind)) this.lastOutageEnd = this.lastFaultEnd;
    this.healthy = false;
  }

  /** When the last fault ended (ms), undefined while one is under way: recovery windows start there. */
  quietSince(): number | undefined {
    return this.activeFaults > 0 ? undefined : this.lastFaultEnd;
  }

  /** The test changed this workload (scaled it): it gets a fresh recovery window. */
  disturb(key: string): void {
    this.disturbed.set(key, Date.now());
  }

  /**
   * Waits until every workload is at its replicas and every node Ready, and stays so for
   * STABLE_MS (a scheduler just restarted still lists its old, healthy-looking state for a moment);
   * false after timeoutMs.
   */
  async waitHealthy(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await this.sampleApi().catch(() => undefined);
      if (s) this.last = s;
      if (this.observe(s !== undefined && this.isHealthy(s))) return true;
      await sleep(2000);
    }
    return false;
  }

  /**
   * Feeds one health sample; true once healthy for STABLE_MS. Faults that ended before the healthy
   * streak began recovered when it began.
   */
  private observe(healthy: boolean): boolean {
    const now = Date.now();
    if (!healthy || this.activeFaults > 0) {
      this.healthySince = undefined;
      return (this.healthy = false);
    }
    this.healthySince ??= now;
    if (now - this.healthySince < STABLE_MS) return (this.healthy = false);
    const at = this.report.now() - (now - this.healthySince) / 1000;
    for (const f of this.report.faults) if (f.end !== undefined && f.recovered === undefined && f.end <= at + 0.1) f.recovered = Math.max(f.end, Math.round(at * 10) / 10);
    return (this.healthy = true);
  }

  private isHealthy(s: ApiSample): boolean {
    return s.workloads.every((w) => w.ready >= w.desired) && s.nodes.length === this.cluster.size && s.nodes.every((n) => n.ready);
  }

  /** Pods, workloads (Deployments and StatefulSets with their Ready pods) and nodes, from the API. */
  async sampleApi(timeoutMs = 10_000): Promise<ApiSample> {
    const get = async <T>(path: string): Promise<T> => {
      const t0 = Date.now();
      const r = await this.cluster.api<{ items: T }>(path, { timeoutMs });
      this.pollLatenciesMs.push(Date.now() - t0);
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      return r.json.items;
    };
    const pods = await get<ApiPod[]>('/api/v1/pods');
    const deployments = await get<Workload[]>('/api/v1/deployments');
    const statefulsets = await get<Workload[]>('/api/v1/statefulsets');
    const apiNodes = await get<ApiNode[]>('/api/v1/nodes');
    const workloads = [...deployments, ...statefulsets].map((w) => {
      const labels = Object.entries(w.spec.selector?.matchLabels ?? {});
      const ready = pods.filter((p) => ns(p) === w.metadata.namespace && !deleting(p) && isReady(p) && labels.every(([k, v]) => p.metadata.labels?.[k] === v)).length;
      return { key: `${w.metadata.namespace}/${w.metadata.name}`, desired: w.spec.replicas ?? 1, ready };
    });
    const nodes = apiNodes.map((n) => ({ name: n.metadata.name, ready: !!n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') }));
    return { pods, workloads, nodes };
  }

  /** One sample of everything; violations go to the report. */
  async poll(): Promise<void> {
    this.polls++;
    const now = Date.now();
    const quiet = this.activeFaults === 0;
    let s: ApiSample | undefined;
    try {
      s = await this.sampleApi();
      this.apiDownSince = undefined;
    } catch (err) {
      this.observe(false);
      this.apiDownSince ??= now;
      if (quiet && now - Math.max(this.apiDownSince, this.lastFaultEnd) > this.settings.recoveryMs) {
        this.report.violation('api-unavailable', `the API has not answered for ${Math.round((now - this.apiDownSince) / 1000)} s (${String(err).split('\n')[0]})`, String(this.apiDownSince));
      }
    }
    if (s) {
      this.last = s;
      for (const p of s.pods) this.podSeen.set(p.metadata.uid, { at: now, node: p.spec.nodeName, name: `${ns(p)}/${p.metadata.name}` });
      const states: [string, boolean, string][] = [
        ...s.workloads.map((w): [string, boolean, string] => [`workload ${w.key}`, w.ready >= w.desired, `${w.ready}/${w.desired} Ready`]),
        ...s.nodes.map((n): [string, boolean, string] => [`node ${n.name}`, n.ready, 'not Ready']),
      ];
      for (const [key, ok, detail] of states) {
        if (ok) {
          this.notReadySince.delete(key);
          continue;
        }
        const since = this.notReadySince.get(key) ?? now;
        this.notReadySince.set(key, since);
        const from = Math.max(since, this.lastFaultEnd, this.disturbed.get(key.replace(/^workload /, '')) ?? 0);
        if (quiet && now - from > this.settings.recoveryMs) {
          const invariant = key.startsWith('node') ? 'node-recovery' : 'workload-recovery';
          this.report.violation(invariant, `${key.replace(/^\w+ /, '')} ${detail} for ${Math.round((now - since) / 1000)} s, ${Math.round((now - this.lastFaultEnd) / 1000)} s after the last fault ended`, `${key} ${since}`);
        }
      }
      this.observe(this.isHealthy(s));
    }
    await this.sampleNodes(now, quiet, s);
  }

  /**
   * A running container whose pod the API no longer lists: its node should have stopped it (the
   * pod's grace period is 2 to 5 s here); 2 minutes after it was orphaned, or after the last fault
   * that kept its node from hearing the scheduler, it is a violation.
   */
  private checkOrphans(node: string, running: CriContainer[], api: ApiSample, now: number, quiet: boolean): void {
    const uids = new Set(api.pods.map((p) => p.metadata.uid));
    for (const c of running) {
      const uid = c.labels['io.kubernetes.pod.uid'] ?? '';
      if (uids.has(uid)) {
        this.orphanSince.delete(c.id);
        continue;
      }
      const since = this.orphanSince.get(c.id) ?? now;
      this.orphanSince.set(c.id, since);
      if (quiet && now - Math.max(since, this.lastOutageEnd) > this.settings.recoveryMs) {
        const pod = `${c.labels['io.kubernetes.pod.namespace']}/${c.labels['io.kubernetes.pod.name']}`;
        this.report.violation('orphan-container', `${node}: container ${c.id.slice(0, 13)} of ${pod} (uid ${uid.slice(0, 8)}) still running ${Math.round((now - since) / 1000)} s after the API stopped listing its pod`, c.id);
      }
    }
  }

  /** crictl on each node: ordinals running twice, stuck sandboxes; log sizes and certificates. */
  private async sampleNodes(now: number, quiet: boolean, api: ApiSample | undefined): Promise<void> {
    const ordinals = new Map<string, string[]>();
    const deepCheck = this.polls % 6 === 1;
    for (const n of this.cluster.nodes) {
      await this.readCert(n);
      const pods = await this.criSandboxes(n.name);
      if (!pods) continue;
      for (const p of pods) this.sandboxes.get(n.name)!.add(p.id);
      const running = await this.criContainers(n.name, 'running');
      if (running && api) this.checkOrphans(n.name, running, api, now, quiet);
      for (const c of running ?? []) {
        const name = c.labels['io.kubernetes.pod.name'] ?? '';
        if (c.labels['io.kubernetes.pod.namespace'] === SOAK_NS && /^ordinal-\d+$/.test(name)) ordinals.set(name, [...(ordinals.get(name) ?? []), n.name]);
      }
      if (deepCheck) {
        await this.checkPauses(n, pods, now);
        await this.checkLogs(n);
      }
    }
    for (const [name, nodes] of ordinals) {
      if (new Set(nodes).size > 1) this.report.violation('statefulset-ordinal-twice', `${SOAK_NS}/${name} is running on ${[...new Set(nodes)].join(' and ')} at once`, `${name} ${[...new Set(nodes)].sort().join(',')}`);
    }
  }

  private async checkPauses(n: ClusterNode, pods: CriSandbox[], now: number): Promise<void> {
    for (const p of pods.filter((x) => x.state === 'SANDBOX_READY')) {
      let pid = this.pausePids.get(p.id);
      if (pid === undefined) {
        const r = await this.cluster.crictl(n.name, ['inspectp', p.id], { reject: false });
        pid = (JSON.parse(String(r.stdout || '{}')) as { info?: { pid?: number } }).info?.pid;
        if (!pid) continue;
        this.pausePids.set(p.id, pid);
      }
      if (await isPause(pid)) {
        this.pauseDeadSince.delete(p.id);
        continue;
      }
      const since = this.pauseDeadSince.get(p.id) ?? now;
      this.pauseDeadSince.set(p.id, since);
      if (now - since > this.settings.recoveryMs) {
        this.report.violation('sandbox-stuck', `${n.name}: sandbox ${p.id.slice(0, 13)} of ${p.labels['io.kubernetes.pod.namespace']}/${p.labels['io.kubernetes.pod.name']} is READY but its pause process ${pid} is gone (for ${Math.round((now - since) / 1000)} s or more)`, p.id);
      }
    }
  }

  private async checkLogs(n: ClusterNode): Promise<void> {
    const logDir = join(n.dir, 'pod-logs');
    for (const pod of await readdir(logDir).catch(() => [] as string[])) {
      for (const ctr of await readdir(join(logDir, pod)).catch(() => [] as string[])) {
        const size = await folderBytes(join(logDir, pod, ctr));
        const key = `${n.name} ${pod}/${ctr}`;
        this.logMax.set(key, Math.max(this.logMax.get(key) ?? 0, size));
        if (size > this.logBoundBytes) {
          this.report.violation('log-size', `${n.name}: logs of ${pod.split('_').slice(0, 2).join('/')}/${ctr} use ${mib(size)}, above the bound ${mib(this.logBoundBytes)}`, key);
        }
      }
    }
  }

  private async readCert(n: ClusterNode): Promise<void> {
    const pem = await readFile(join(n.dir, 'agent', 'pki', 'node.crt'), 'utf8').catch(() => undefined);
    if (!pem) return;
    const serials = this.certSerials.get(n.name) ?? new Set();
    serials.add(new X509Certificate(pem).serialNumber);
    this.certSerials.set(n.name, serials);
  }

  /** Seconds until each node's certificate expires. */
  async certSecondsLeft(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of this.cluster.nodes) {
      const pem = await readFile(join(n.dir, 'agent', 'pki', 'node.crt'), 'utf8').catch(() => undefined);
      if (pem) out.set(n.name, (Date.parse(new X509Certificate(pem).validTo) - Date.now()) / 1000);
    }
    return out;
  }

  async criSandboxes(node: string): Promise<CriSandbox[] | undefined> {
    const r = await this.cluster.crictl(node, ['pods', '-o', 'json'], { reject: false }).catch(() => undefined);
    if (!r || r.exitCode !== 0) return undefined;
    return (JSON.parse(String(r.stdout)) as { items?: CriSandbox[] }).items ?? [];
  }

  async criContainers(node: string, state?: string): Promise<CriContainer[] | undefined> {
    const r = await this.cluster.crictl(node, ['ps', '-a', '-o', 'json', ...(state ? ['--state', state] : [])], { reject: false }).catch(() => undefined);
    if (!r || r.exitCode !== 0) return undefined;
    return (JSON.parse(String(r.stdout)) as { containers?: CriContainer[] }).containers ?? [];
  }

  /**
   * The Running pods a scheduler restart must leave alone: every one but those the test deletes
   * itself (scaled-down churn replicas, Jobs).
   */
  async snapshotPods(): Promise<Map<string, string>> {
    const s = await this.sampleApi(30_000);
    const out = new Map<string, string>();
    for (const p of s.pods) {
      if (p.status?.phase !== 'Running' || deleting(p)) continue;
      if (ns(p) === SOAK_NS && TEST_DELETED_PREFIXES.some((x) => p.metadata.name.startsWith(x))) continue;
      out.set(p.metadata.uid, `${ns(p)}/${p.metadata.name} on ${p.spec.nodeName}`);
    }
    return out;
  }

  /** Every pod of the snapshot must still exist (same uid). */
  async checkPodsKept(snapshot: Map<string, string>, fault: string): Promise<void> {
    const s = await this.sampleApi(30_000).catch(() => undefined);
    if (!s) {
      this.report.note(`after ${fault}: the API did not answer; the pod uids are checked at the end`);
      return;
    }
    const uids = new Set(s.pods.map((p) => p.metadata.uid));
    const gone = [...snapshot].filter(([uid]) => !uids.has(uid)).map(([, what]) => what);
    if (gone.length > 0) this.report.violation('pod-deleted-by-scheduler-restart', `${fault}: ${gone.length} of ${snapshot.size} Running pods were deleted: ${gone.join(', ')}`);
    else this.report.note(`after ${fault}: all ${snapshot.size} Running pods kept their uids`);
  }

  /**
   * Before `cluster.sh down`, on a still cluster: every IP allocation, iptables rule and netns
   * belongs to a READY sandbox, every log and volume folder to a pod the API still lists on that
   * node, every conmon to a container or sandbox the runtime lists. Two samples 10 s apart: only
   * what is leaked in both counts (a pod being torn down right now is not a leak).
   */
  async checkLeaksBeforeDown(): Promise<void> {
    const first = await this.leakSample();
    await sleep(10_000);
    const second = await this.leakSample();
    for (const [kind, items] of Object.entries(second)) {
      const both = items.filter((x) => first[kind]?.includes(x));
      this.report.measure(`leaks before down: ${kind}`, both.length);
      for (const x of both) this.report.violation(`leak-${kind}`, x, x);
    }
  }

  private async leakSample(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = { container: [], ip: [], rule: [], netns: [], 'log-dir': [], 'volume-dir': [], conmon: [], mount: [], cgroup: [] };
    const s = await this.sampleApi(30_000).catch(() => undefined);
    const ps = String((await execa('ps', ['-eo', 'pid=,args='])).stdout).split('\n');
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
    for (const n of this.cluster.nodes) {
      const pods = await this.criSandboxes(n.name);
      const ctrs = await this.criContainers(n.name);
      if (!pods || !ctrs) {
        this.report.note(`leak check: ${n.name}'s runtime did not answer; skipped`);
        continue;
      }
      const ready = new Set(pods.filter((p) => p.state === 'SANDBOX_READY').map((p) => p.id));
      const known = new Set([...pods.map((p) => p.id), ...ctrs.map((c) => c.id)]);
      // host-local IPAM: one file per allocated IP holding the sandbox id
      const ipamRoot = join(n.dir, 'runtime', 'cni', 'networks');
      for (const net of await readdir(ipamRoot).catch(() => [] as string[])) {
        for (const f of await readdir(join(ipamRoot, net)).catch(() => [] as string[])) {
          if (!/^[\d.]+$|:/.test(f)) continue;
          const id = (await readFile(join(ipamRoot, net, f), 'utf8').catch(() => '')).split(/\s/)[0] ?? '';
          if (!ready.has(id)) out.ip!.push(`${n.name}: ${f} allocated to ${id.slice(0, 13) || '?'}, not a READY sandbox`);
        }
      }
      // CNI's iptables rules (bridge ipMasq, portmap) carry the sandbox id in their comments
      const rules = await execa('nsenter', [`--net=/run/netns/${n.netns}`, 'iptables-save'], { reject: false });
      const ruleIds = new Set([...String(rules.stdout).matchAll(/id: "([0-9a-f]{64})"/g)].map((m) => m[1]!));
      for (const id of ruleIds) if (!ready.has(id)) out.rule!.push(`${n.name}: iptables rules of sandbox ${id.slice(0, 13)}, not a READY sandbox`);
      for (const id of this.sandboxes.get(n.name) ?? []) {
        if (!ready.has(id) && existsSync(`/run/netns/corelet-${id.slice(0, 16)}`)) out.netns!.push(`${n.name}: netns corelet-${id.slice(0, 16)} of a sandbox that is not READY`);
      }
      // folders of pods the API no longer lists on this node (and has not for a minute)
      const live = (uid: string) => {
        const seen = this.podSeen.get(uid);
        const listed = s?.pods.some((p) => p.metadata.uid === uid && p.spec.nodeName === n.name);
        return listed || (seen !== undefined && Date.now() - seen.at < 60_000) || !s;
      };
      for (const c of ctrs.filter((x) => x.state === 'CONTAINER_RUNNING')) {
        const uid = c.labels['io.kubernetes.pod.uid'] ?? '';
        if (!live(uid)) out.container!.push(`${n.name}: container ${c.id.slice(0, 13)} of deleted pod ${c.labels['io.kubernetes.pod.namespace']}/${c.labels['io.kubernetes.pod.name']} still running`);
      }
      for (const d of await readdir(join(n.dir, 'pod-logs')).catch(() => [] as string[])) {
        const uid = d.split('_')[2] ?? '';
        if (!live(uid)) out['log-dir']!.push(`${n.name}: pod-logs/${d} of a deleted pod`);
      }
      for (const uid of await readdir(join(n.dir, 'agent', 'pods')).catch(() => [] as string[])) {
        if (!live(uid)) out['volume-dir']!.push(`${n.name}: agent/pods/${uid} (${this.podSeen.get(uid)?.name ?? 'unknown pod'}) of a deleted pod`);
      }
      // mounts under the node's folder (rootfs, volumes) of containers or pods that are gone
      for (const m of mounts.filter((x) => x.startsWith(`${n.dir}/`))) {
        const ids = m.match(/[0-9a-f]{64}/g) ?? [];
        const uids = m.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
        if (ids.some((id) => !known.has(id)) || uids.some((uid) => !live(uid))) out.mount!.push(`${n.name}: ${m.slice(n.dir.length + 1)}`);
      }
      // pod cgroups (QOS_CGROUP[/burstable|/besteffort]/pod<uid>) of pods that are gone
      for (const tier of ['', 'burstable', 'besteffort']) {
        for (const d of await readdir(join('/sys/fs/cgroup/memory', n.qosCgroup, tier)).catch(() => [] as string[])) {
          const uid = /^pod(.+)$/.exec(d)?.[1];
          if (uid && !live(uid)) out.cgroup!.push(`${n.name}: memory/${n.qosCgroup}/${tier ? `${tier}/` : ''}${d} (${this.podSeen.get(uid)?.name ?? 'unknown pod'})`);
        }
      }
      for (const line of ps) {
        if (!/\bconmon\b/.test(line) || !line.includes(`${n.dir}/`)) continue;
        const id = /(?:-c|--cid)[ =]([0-9a-f]{64})/.exec(line)?.[1];
        if (id && !known.has(id)) out.conmon!.push(`${n.name}: conmon of ${id.slice(0, 13)}, which the runtime does not list (${line.trim().split(' ')[0]})`);
      }
    }
    return out;
  }

  /** After `cluster.sh down`: nothing of the cluster on the host. */
  async checkLeftovers(left: Leftovers): Promise<void> {
    for (const [kind, items] of Object.entries(left)) for (const x of items as string[]) this.report.violation(`leftover-${kind}`, x, x);
    const ids = [...this.sandboxes.values()].flatMap((s) => [...s]);
    for (const id of ids) if (existsSync(`/run/netns/corelet-${id.slice(0, 16)}`)) this.report.violation('leftover-netns', `/run/netns/corelet-${id.slice(0, 16)}`, id);
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    for (const id of ids) if (mountinfo.includes(id.slice(0, 16))) this.report.violation('leftover-mounts', `a mount naming sandbox ${id.slice(0, 16)}`, id);
    for (const [id, pid] of this.pausePids) if (await isPause(pid)) this.report.violation('leftover-processes', `pause ${pid} of sandbox ${id.slice(0, 13)}`, id);
    const host = await execa('iptables-save', [], { reject: false });
    for (const line of String(host.stdout).split('\n')) {
      if (line.includes(`corelet cluster ${this.cluster.name}"`) || line.includes(`${this.cluster.name}-br `)) this.report.violation('leftover-rules', line, line);
    }
    const nft = await execa('nft', ['list', 'ruleset'], { reject: false });
    for (const line of String(nft.stdout).split('\n')) {
      if (ids.some((id) => line.includes(id)) || line.includes(`corelet cluster ${this.cluster.name}"`)) this.report.violation('leftover-rules', `nft: ${line.trim()}`, line);
    }
  }

  /** Disk use of each node's folder and of its image store (du -x: not into the containers' rootfs mounts). */
  async diskUse(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of this.cluster.nodes) {
      const du = async (p: string) => Number(String((await execa('du', ['-sxb', p], { reject: false })).stdout).split('\t')[0]) || 0;
      out[n.name] = `${mib(await du(n.dir))} (images ${mib(await du(join(n.dir, 'runtime', 'images')))}, pod logs ${mib(await du(join(n.dir, 'pod-logs')))})`;
    }
    return out;
  }

  /** Figures for the report. */
  summary(): Record<string, unknown> {
    const sorted = [...this.pollLatenciesMs].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return {
      'polls': this.polls,
      'API latency of the poller (ms) p50/p99/max': `${q(0.5)}/${q(0.99)}/${sorted.at(-1) ?? 0} over ${sorted.length} calls`,
      'node certificate serials seen (rotations + 1)': Object.fromEntries([...this.certSerials].map(([k, v]) => [k, v.size])),
      'largest container log folder': [...this.logMax].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}: ${mib(v)}`),
      'sandboxes seen': Object.fromEntries([...this.sandboxes].map(([k, v]) => [k, v.size])),
    };
  }
}

/** True when pid is a live pause process (not gone, not a zombie, not a reused pid). */
async function isPause(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  return state !== 'Z' && comm === 'pause';
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(p) : ((await stat(p).catch(() => undefined))?.size ?? 0);
  }
  return total;
}

export const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
