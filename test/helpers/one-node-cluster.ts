/**
 * A control plane and one node on this machine, without namespaces: `corelet scheduler init` in a
 * private folder and HOME, the scheduler on a free port, a corelet runtime (RuntimeHarness: its own
 * socket, bridge, subnet and cgroup parent) and an agent joined with the printed command
 * (AgentHarness, node name test-node), read as the scheduler reads it. Create it at module level,
 * start() it in before(), stop() it in after(): stop removes whatever start got to make.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX, CORELET } from './runtime-harness.js';
import { AgentHarness } from './agent-harness.js';
import { freePort } from './free-port.js';
import { schedulerApi } from './admin-api.js';
import { readAdminConfig } from './admin-config.js';
import { busyboxPod } from './pod-manifest.js';
import { runAllSteps } from './cleanup.js';

export interface OneNodeClusterOptions {
  /** Names the temporary folder (corelet-e2e-NAME-…). */
  name: string;
  /** Flags added to `corelet scheduler` (e.g. ['--node-cert-ttl', '60s']). */
  schedulerArgs?: string[];
  /** The agent joins with a token made by `corelet token create --ttl Ns` instead of init's 24 h one. */
  joinTokenTtlSeconds?: number;
  /** Flags added to `corelet agent` (e.g. ['--eviction-hard', 'memory.available<99%']). */
  agentArgs?: string[];
  /** Whether start() waits for the node to be Ready (default true). */
  waitReady?: boolean;
}

export type ApiInit = { method?: string; body?: string; token?: string | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OneNodeCluster {
  dir = '';
  home = '';
  port = 0;
  adminToken = '';
  ca = '';
  /** The agent's join flags as init printed them: --server URL --token-file FILE --ca-cert-hash HASH. */
  joinArgs: string[] = [];
  /** When the short-lived join token was created (joinTokenTtlSeconds), ms since the epoch. */
  joinTokenCreatedAt = 0;
  runtime!: RuntimeHarness;
  agent!: AgentHarness;
  private scheduler: ChildProcess | undefined;

  constructor(private readonly opts: OneNodeClusterOptions) {}

  /** The file the agent reads its bootstrap token from. */
  get tokenFile(): string {
    return this.joinArgs[3]!;
  }

  get schedulerDir(): string {
    return join(this.dir, 'scheduler');
  }

  /** The scheduler's REST API as the admin (token null: none; a string: that one). */
  api(path: string, init: ApiInit = {}): Promise<{ status: number; json: any }> {
    return schedulerApi({ port: this.port, ca: this.ca, token: this.adminToken }, path, init);
  }

  /** The corelet CLI with the admin's HOME; never rejects. */
  cli(args: string[], input?: string) {
    return execa(process.execPath, [CORELET, ...args], { env: { ...process.env, HOME: this.home }, reject: false, input, timeout: 60_000 });
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `corelet-e2e-${this.opts.name}-`));
    this.home = join(this.dir, 'home');
    this.port = await freePort();
    const init = await this.cli(['scheduler', 'init', '--dir', this.schedulerDir, '--port', String(this.port)]);
    assert.equal(init.exitCode, 0, init.stderr);
    this.joinArgs = init.stdout.split('\n').pop()!.trim().split(/\s+/).slice(2);
    const config = await readAdminConfig(join(this.home, '.corelet', 'config'));
    this.adminToken = config.token;
    this.ca = config.caCert;
    this.runtime = await RuntimeHarness.start();
    this.startScheduler();
    await this.until('the scheduler answers', async () => (await this.api('/api/v1/nodes')).status === 200, 20_000);
    if (this.opts.joinTokenTtlSeconds !== undefined) {
      const created = await this.cli(['token', 'create', '--ttl', `${this.opts.joinTokenTtlSeconds}s`, '--description', 'short-lived']);
      assert.equal(created.exitCode, 0, created.stderr);
      this.joinTokenCreatedAt = Date.now();
      await writeFile(this.tokenFile, `${created.stdout.trim()}\n`, { mode: 0o600 });
    }
    await this.runtime.crictl(['pull', BUSYBOX]);
    this.agent = await AgentHarness.start(`unix://${this.runtime.socket}`, [...this.joinArgs, ...(this.opts.agentArgs ?? [])]);
    // the joined agent's port is HTTPS for cluster-CA client certificates: read it as the scheduler
    await this.agent.actAsScheduler(join(this.schedulerDir, 'pki'));
    if (this.opts.waitReady !== false) await this.until('the node is Ready', () => this.nodeReady(), 30_000);
  }

  /** Starts the scheduler (again, after killScheduler) on the same folder and port. */
  startScheduler(): void {
    this.scheduler = spawn(
      process.execPath,
      [
        CORELET, 'scheduler', '--dir', this.schedulerDir, '--address', '127.0.0.1', '--port', String(this.port),
        // the node's pod CIDR comes from the scheduler: the runtime's own subnet, so parallel harnesses never clash
        '--cluster-cidr', this.runtime.subnet, '--node-cidr-mask-size', '24',
        ...(this.opts.schedulerArgs ?? []),
      ],
      { env: { ...process.env, HOME: this.home }, stdio: 'ignore' },
    );
  }

  /** SIGKILL the scheduler and wait for it to exit. */
  async killScheduler(): Promise<void> {
    const s = this.scheduler;
    if (!s) return;
    const gone = s.exitCode !== null || s.signalCode !== null ? Promise.resolve() : new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await gone;
  }

  async nodeReady(): Promise<boolean> {
    const node = (await this.api('/api/v1/nodes/test-node')).json;
    return node?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  /** Polls check every 500 ms (a throw counts as false); fails after deadlineMs with the agent's log tail. */
  async until(what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > end) {
        const tail = this.agent ? (await this.agent.log()).split('\n').slice(-12).join('\n') : '(no agent yet)';
        assert.fail(`${what}: not within ${deadlineMs / 1000} s\nagent log tail:\n${tail}`);
      }
      await sleep(500);
    }
  }

  /** Applies a busybox pod NAME in default that sleeps an hour, and waits until it runs. */
  async runSleeper(name: string): Promise<void> {
    const applied = await this.api('/api/v1/apply', { method: 'POST', body: busyboxPod(name, ['sleep', '3600']) });
    assert.equal(applied.status, 200, JSON.stringify(applied.json));
    await this.until(`pod ${name} runs`, async () => (await this.api(`/api/v1/namespaces/default/pods/${name}`)).json?.status?.phase === 'Running', 60_000);
  }

  /** start() with a sleeper pod NAME (runSleeper) whose container runs; for before(). */
  async startWithSleeper(name: string): Promise<void> {
    await this.start();
    await this.runSleeper(name);
    await this.until('the pod runs', async () => (await this.runningContainer(name)) !== undefined, 60_000);
  }

  /** Deletes pod default/NAME (whatever the answer), then stop(); for after(). */
  async stopWithSleeper(name: string): Promise<void> {
    await this.api(`/api/v1/namespaces/default/pods/${name}`, { method: 'DELETE' }).catch(() => undefined);
    await this.stop();
  }

  /** Pod default/NAME's first container id and restart count as the scheduler reports them, when the pod is Running and it runs. */
  async runningContainer(name: string): Promise<{ containerID: string; restartCount: number } | undefined> {
    const p = (await this.api(`/api/v1/namespaces/default/pods/${name}`)).json;
    const c = p?.status?.containerStatuses?.[0];
    return p?.status?.phase === 'Running' && c?.state?.running ? { containerID: c.containerID, restartCount: c.restartCount } : undefined;
  }

  /** The agent's node certificate as it is on disk now. */
  async nodeCertificate(): Promise<X509Certificate> {
    return new X509Certificate(await readFile(join(this.agent.root, 'pki', 'node.crt'), 'utf8'));
  }

  /**
   * Waits (up to 30 s) for the agent to have stopped its pods (delete them first), then stops the
   * agent and the runtime, removes the agent's QoS cgroups, kills the scheduler and removes the folder.
   */
  async stop(): Promise<void> {
    for (let i = 0; i < 120 && this.agent && (await this.agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
    await runAllSteps([
      () => this.agent?.stop(),
      () => this.runtime?.stop(),
      // the runtime removed what was left of the pods: now the agent's QoS cgroups are empty
      () => this.agent?.removeCgroups(),
      () => this.killScheduler(),
      () => this.dir && rm(this.dir, { recursive: true, force: true }),
    ]);
  }
}
