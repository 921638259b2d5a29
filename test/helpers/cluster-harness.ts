/**
 * A namespace cluster for e2e tests: `native-scripts/cluster.sh up N` in a private state folder and
 * HOME, the scheduler's REST API with the admin credentials `up` wrote, crictl and commands inside a
 * node's network namespace, and `cluster.sh down` with a check that nothing is left on the host.
 * Tests that need a cluster share one (starting one takes seconds, not minutes): start it in
 * before(), call down() in after().
 */
import { readAdminConfig } from './admin-config.js';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { CORELET, REPO, cgroupExists } from './runtime-harness.js';
import type { PodView } from './agent-harness.js';

export const CLUSTER_SH = join(REPO, 'native-scripts', 'cluster.sh');
export const BUILD_EXAMPLE_IMAGES = join(REPO, 'native-scripts', 'build-example-images.sh');
export const EXAMPLES = join(REPO, 'examples');

/** One node of the cluster, named as cluster.sh names it. */
export interface ClusterNode {
  /** node1, node2, ... (the scheduler's node name) */
  readonly name: string;
  readonly ip: string;
  readonly netns: string;
  /** The node's folder: runtime and agent state, logs. */
  readonly dir: string;
  readonly socket: string;
  readonly qosCgroup: string;
  readonly cgroupParent: string;
}

/** A pod as the scheduler's API returns it. */
export interface ApiPod extends PodView {
  metadata: PodView['metadata'] & { labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[]; creationTimestamp?: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
}

/** Settings cluster.sh reads from the environment (see its header); given ones override the caller's. */
export interface ClusterEnv {
  CORELET_CLUSTER_NET?: string;
  CORELET_CLUSTER_PORT?: string;
  CORELET_CLUSTER_SCHEDULER_ARGS?: string;
  CORELET_CLUSTER_AGENT_ARGS?: string;
  CORELET_CLUSTER_RUNTIME_ARGS?: string;
  CORELET_CLUSTER_IMAGEFS_SIZE?: string;
  CORELET_CLUSTER_PINNED_IMAGES?: string;
}

/** What `cluster.sh down` must have removed; every list empty when it did. */
export interface Leftovers {
  netns: string[];
  links: string[];
  processes: string[];
  cgroups: string[];
  mounts: string[];
  stateDir: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterHarness {
  readonly nodes: ClusterNode[];
  private config: { server: string; token: string; caCert: string } | undefined;

  private constructor(
    /** Temp folder: the cluster's state (`dir`), HOME, built images. */
    readonly root: string,
    readonly name: string,
    readonly size: number,
    /** cluster.sh's settings (CORELET_CLUSTER_NET, _PORT, _*_ARGS) for every call; none: its defaults. */
    readonly env: ClusterEnv = {},
  ) {
    this.nodes = Array.from({ length: size }, (_, k) => {
      const i = k + 1;
      const dir = join(this.dir, 'nodes', `node${i}`);
      return {
        name: `node${i}`,
        ip: `${env.CORELET_CLUSTER_NET ?? process.env.CORELET_CLUSTER_NET ?? '10.99.0'}.${10 + i}`,
        netns: `${name}-node${i}`,
        dir,
        socket: join(dir, 'corelet.sock'),
        qosCgroup: `${name}-node${i}-kubepods`,
        cgroupParent: `/${name}-node${i}-pods`,
      };
    });
  }

  /** The cluster's state folder (cluster.sh --dir). */
  get dir(): string {
    return join(this.root, 'cluster');
  }

  /** HOME of every command: `up` writes the CLI config to HOME/.corelet/config. */
  get home(): string {
    return join(this.root, 'home');
  }

  /**
   * Runs `cluster.sh up N` (name: a short one of its own, so a person's default cluster is not
   * touched). When `up` fails, removes what it made and throws with its output.
   */
  static async up(size: number, opts: { name?: string; env?: ClusterEnv; tmpParent?: string } = {}): Promise<ClusterHarness> {
    const root = await mkdtemp(join(opts.tmpParent ?? tmpdir(), 'corelet-cluster-'));
    // CORELET_E2E_CLUSTER_NAME (with CORELET_CLUSTER_NET/PORT) lets runs side by side use their own names.
    const h = new ClusterHarness(root, opts.name ?? process.env.CORELET_E2E_CLUSTER_NAME ?? 'cle2e', size, opts.env);
    const r = await h.cluster(['up', String(size)], { reject: false, timeoutMs: 180_000 });
    if (r.exitCode !== 0) {
      await h.down().catch(() => undefined);
      throw new Error(`cluster.sh up ${size} failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
    }
    return h;
  }

  /** Runs cluster.sh with this cluster's folder, name and HOME. */
  async cluster(args: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<Result> {
    return execa(CLUSTER_SH, ['--dir', this.dir, '--name', this.name, ...args], {
      // The cluster tests lose nodes on purpose and expect replacements within a minute: a 10 s
      // pod eviction timeout instead of the scheduler's 300 s default (kube-controller-manager's).
      env: { CORELET_CLUSTER_SCHEDULER_ARGS: process.env.CORELET_CLUSTER_SCHEDULER_ARGS ?? '--pod-eviction-timeout 10', ...this.env, HOME: this.home },
      reject: opts.reject ?? true,
      timeout: opts.timeoutMs ?? 120_000,
    });
  }

  /**
   * Stops (SIGTERM), kills (SIGKILL) or starts again one daemon: 'scheduler', a node ('node2': its
   * agent and runtime), 'node2/agent' or 'node2/runtime'. Pods keep running while their node's
   * daemons are down; a started runtime is serving when this returns.
   */
  async daemon(action: 'stop' | 'kill' | 'start', target: string): Promise<void> {
    await this.cluster([action, target]);
  }

  /** Runs the corelet CLI as the cluster's admin (HOME/.corelet/config). */
  async corelet(args: string[], opts: { reject?: boolean; input?: string } = {}): Promise<Result> {
    return execa(process.execPath, [CORELET, ...args], { env: { HOME: this.home }, reject: opts.reject ?? true, input: opts.input, timeout: 120_000 });
  }

  /** Builds the Zeus example images once (into this cluster's temp folder) and loads them into every node. */
  async loadExampleImages(): Promise<void> {
    const archive = join(this.root, 'zeus-images.tar');
    if (!existsSync(archive)) await execa(BUILD_EXAMPLE_IMAGES, [archive]);
    await this.cluster(['load', archive]);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in this cluster`);
    return n;
  }

  /**
   * A request to the scheduler's REST API as the admin; the body is sent as is (YAML or JSON). With
   * timeoutMs, a request not answered by then fails.
   */
  async api<T = any>(path: string, init: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<{ status: number; json: T }> {
    this.config ??= await readAdminConfig(join(this.dir, 'admin-config'));
    const { server, token, caCert } = this.config;
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, server), { method: init.method ?? 'GET', ca: caCert, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: (body ? JSON.parse(body) : undefined) as T });
          } catch (err) {
            reject(new Error(`${path}: not JSON (${res.statusCode}): ${body.slice(0, 200)}`, { cause: err }));
          }
        });
      });
      req.on('error', reject);
      if (init.timeoutMs !== undefined) req.setTimeout(init.timeoutMs, () => req.destroy(new Error(`${path}: no answer within ${init.timeoutMs} ms`)));
      req.end(init.body);
    });
  }

  /** POST /api/v1/apply; throws unless the scheduler took every object. */
  async apply(manifest: string): Promise<void> {
    const r = await this.api('/api/v1/apply', { method: 'POST', body: manifest });
    if (r.status !== 200) throw new Error(`apply: ${r.status} ${JSON.stringify(r.json)}`);
  }

  /** Pods in a namespace, optionally only those with a label (k=v). */
  async pods(opts: { namespace?: string; labelSelector?: string } = {}): Promise<ApiPod[]> {
    const q = opts.labelSelector ? `?labelSelector=${encodeURIComponent(opts.labelSelector)}` : '';
    const r = await this.api<{ items: ApiPod[] }>(`/api/v1/namespaces/${opts.namespace ?? 'default'}/pods${q}`);
    if (r.status !== 200) throw new Error(`list pods: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json.items;
  }

  /** Polls check until it returns something other than undefined/false; throws with describe() after the timeout. */
  async waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 120_000, describe?: () => Promise<string>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const v = await check();
        if (v !== undefined && v !== false) return v;
      } catch (err) {
        lastError = err;
      }
      await sleep(500);
    }
    const detail = describe ? await describe().catch((e: unknown) => String(e)) : '';
    throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}\n${detail}`);
  }

  /** Waits until `count` pods match the selector and all are Running and Ready; returns them. */
  async waitForReadyPods(labelSelector: string, count: number, timeoutMs = 180_000): Promise<ApiPod[]> {
    return this.waitFor(
      `${count} ready pods with ${labelSelector}`,
      async () => {
        const pods = await this.pods({ labelSelector });
        const ready = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return pods.length === count && ready.length === count ? pods : undefined;
      },
      timeoutMs,
      async () => `pods:\n${(await this.pods({ labelSelector })).map((p) => `  ${p.metadata.name} on ${p.spec.nodeName ?? '-'}: ${JSON.stringify(p.status)}`).join('\n')}\n${await this.logTails()}`,
    );
  }

  /** The last lines of the scheduler's and every agent's log, for failure messages. */
  async logTails(lines = 15): Promise<string> {
    const files = [join(this.dir, 'scheduler', 'scheduler.log'), ...this.nodes.flatMap((n) => [join(n.dir, 'agent.log'), join(n.dir, 'runtime.log')])];
    const out: string[] = [];
    for (const f of files) out.push(`--- ${f}\n${(await readFile(f, 'utf8').catch(() => '')).split('\n').slice(-lines).join('\n')}`);
    return out.join('\n');
  }

  /** crictl against one node's runtime, inside its netns (exec streams from the runtime's 127.0.0.1). */
  async crictl(node: string, args: string[], opts: { reject?: boolean } = {}): Promise<Result> {
    const n = this.node(node);
    return execa('nsenter', [`--net=/run/netns/${n.netns}`, 'crictl', '--runtime-endpoint', `unix://${n.socket}`, '--image-endpoint', `unix://${n.socket}`, '--timeout', '30s', ...args], {
      reject: opts.reject ?? true,
      timeout: 60_000,
    });
  }

  /** Runs a command in a pod's container (CRI exec on the pod's node); resolves with its output. */
  async execInPod(pod: ApiPod, command: string[], container?: string): Promise<Result> {
    const node = pod.spec.nodeName;
    if (!node) throw new Error(`pod ${pod.metadata.name} is not bound to a node`);
    const name = container ?? pod.spec.containers[0]!.name;
    const ps = await this.crictl(node, ['ps', '-q', '--label', `io.kubernetes.pod.uid=${pod.metadata.uid}`, '--name', `^${name}$`, '--state', 'running']);
    const id = String(ps.stdout).trim().split('\n')[0];
    if (!id) throw new Error(`no running container ${name} of pod ${pod.metadata.name} on ${node}`);
    return this.crictl(node, ['exec', id, ...command], { reject: false });
  }

  /**
   * Stops and removes the whole cluster (cluster.sh down; safe to call twice), then says what is
   * still on the host (all lists empty when down removed everything) and removes the temp folder.
   */
  async down(): Promise<Leftovers> {
    const r = await this.cluster(['down'], { reject: false, timeoutMs: 180_000 });
    const left = await this.leftovers();
    await rm(this.root, { recursive: true, force: true });
    if (r.exitCode !== 0) throw new Error(`cluster.sh down failed (${r.exitCode}):\n${r.stderr}`);
    return left;
  }

  /** What of this cluster is on the host: netns, links, processes, cgroups, mounts, state folder. */
  async leftovers(): Promise<Leftovers> {
    const prefix = `${this.name}-`;
    const netns = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
    const links = (await execa('ip', ['-o', 'link', 'show'])).stdout
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
      .filter((l) => l.startsWith(prefix));
    const ps = await execa('ps', ['-eo', 'pid=,args=']);
    const processes = ps.stdout.split('\n').filter((l) => l.includes(this.dir));
    const cgroups: string[] = [];
    for (const n of this.nodes) for (const cg of [`/${n.qosCgroup}`, n.cgroupParent]) if (await cgroupExists(cg)) cgroups.push(cg);
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(this.root));
    const stateDir = existsSync(this.dir) ? [this.dir] : [];
    return { netns, links, processes, cgroups, mounts, stateDir };
  }
}
