/**
 * Runs a real `corelet agent` (the built binary) against a CRI endpoint, with a private manifest
 * folder, state, log folder and QoS cgroup, and reads its /pods endpoint as a user would: plain HTTP
 * for a standalone agent, HTTPS with a client certificate (setClient) for a joined one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORELET, removeCgroupTree } from './runtime-harness.js';

export interface PodView {
  metadata: { name: string; namespace: string; uid: string };
  status?: {
    phase: string;
    reason?: string;
    message?: string;
    podIP?: string;
    conditions: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses: { name: string; ready: boolean; restartCount: number; state: Record<string, any>; lastState: Record<string, any>; containerID?: string }[];
    initContainerStatuses: { name: string; state: Record<string, any> }[];
    qosClass?: string;
  };
}

let counter = 0;

export class AgentHarness {
  readonly manifests: string;
  readonly root: string;
  readonly logDir: string;
  readonly qosTop: string;
  /**
   * The agent runs in the host's network namespace: its Service rules go to a table of its own, and
   * it serves no cluster DNS (no address on the host's lo, no DNS process); stop() removes the table.
   */
  readonly proxyTable: string;
  url = '';
  /** The client certificate and CA for a joined agent's HTTPS port (e.g. the scheduler's). */
  client: { certPem: string; keyPem: string; caPem: string } | undefined;
  private proc: ChildProcess | undefined;
  private readonly logFile: string;

  private constructor(
    readonly dir: string,
    readonly endpoint: string,
    private readonly extraArgs: string[],
  ) {
    this.manifests = join(dir, 'manifests');
    this.root = join(dir, 'root');
    this.logDir = join(dir, 'logs');
    this.proxyTable = `corelet-it-${process.pid}-${counter}`;
    this.qosTop = `kubepods-test-${process.pid}-${counter++}`;
    this.logFile = join(dir, 'agent.log');
  }

  /** Reads the joined agent's port as the scheduler does: with its client certificate from the scheduler's pki folder. */
  async actAsScheduler(pkiDir: string): Promise<void> {
    const read = (name: string) => readFile(join(pkiDir, name), 'utf8');
    this.client = { certPem: await read('scheduler-client.crt'), keyPem: await read('scheduler-client.key'), caPem: await read('ca.crt') };
  }

  static async start(endpoint: string, extraArgs: string[] = []): Promise<AgentHarness> {
    const dir = await mkdtemp(join(tmpdir(), 'corelet-agent-it-'));
    const h = new AgentHarness(dir, endpoint, extraArgs);
    await mkdir(h.manifests, { recursive: true });
    await h.startDaemon();
    return h;
  }

  async startDaemon(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    const from = (await readFile(this.logFile, 'utf8').catch(() => '')).length;
    this.proc = spawn(
      process.execPath,
      [
        CORELET, 'agent',
        '--runtime-endpoint', this.endpoint,
        '--pod-manifest-path', this.manifests,
        '--root', this.root,
        '--log-dir', this.logDir,
        '--address', '127.0.0.1',
        '--port', '0',
        '--qos-cgroup', this.qosTop,
        '--node-name', 'test-node',
        '--log-level', 'debug',
        '--cluster-dns', '',
        '--proxy-table', this.proxyTable,
        ...this.extraArgs,
      ],
      { stdio: ['ignore', out, out] },
    );
    for (let i = 0; i < 150; i++) {
      const log = (await readFile(this.logFile, 'utf8')).slice(from);
      const m = /"http":"(https?:\/\/127\.0\.0\.1:\d+)"/.exec(log);
      if (m) {
        this.url = m[1]!;
        return;
      }
      if (this.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`agent did not start; log:\n${await this.log()}`);
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Writes a manifest file into the watched folder. */
  async apply(file: string, yaml: string): Promise<void> {
    await writeFile(join(this.manifests, `.${file}.tmp`), yaml);
    const { rename } = await import('node:fs/promises');
    await rename(join(this.manifests, `.${file}.tmp`), join(this.manifests, file));
  }

  async remove(file: string): Promise<void> {
    await rm(join(this.manifests, file), { force: true });
  }

  /** GET path on the agent's port: the status and body. */
  async get(path: string): Promise<{ status: number; text: string }> {
    if (!this.url.startsWith('https:')) {
      const res = await fetch(`${this.url}${path}`);
      return { status: res.status, text: await res.text() };
    }
    const { request } = await import('node:https');
    const c = this.client;
    return new Promise((resolve, reject) => {
      const req = request(`${this.url}${path}`, {
          ca: c?.caPem,
          cert: c?.certPem,
          key: c?.keyPem,
          rejectUnauthorized: c !== undefined,
          // Node certificates never name loopback (csr-api.ts): the chain to the CA is what is checked here.
          checkServerIdentity: () => undefined,
          agent: false,
        }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  private async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`agent ${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as T;
  }

  async pods(): Promise<PodView[]> {
    return (await this.json<{ items: PodView[] }>('/pods')).items;
  }

  async pod(name: string): Promise<PodView | undefined> {
    return (await this.pods()).find((p) => p.metadata.name === name);
  }

  /** Polls until check(pod) holds (or throws with the last status). */
  async waitFor(name: string, check: (p: PodView) => boolean, timeoutMs = 60_000): Promise<PodView> {
    const deadline = Date.now() + timeoutMs;
    let last: PodView | undefined;
    while (Date.now() < deadline) {
      last = await this.pod(name);
      if (last && check(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`pod ${name} never reached the expected state; last: ${JSON.stringify(last?.status)}\nagent log tail:\n${(await this.log()).split('\n').slice(-20).join('\n')}`);
  }

  async events(): Promise<{ reason: string; message: string; involvedObject: { name: string } }[]> {
    return (await this.json<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>('/events')).items;
  }

  async metrics(): Promise<string> {
    return (await this.get('/metrics')).text;
  }

  /** The agent's pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  /** Stops the agent, then removes its folders and QoS cgroups (pods must be gone already). */
  async stop(): Promise<void> {
    await this.kill9();
    // what `cluster.sh down` does for a node: the agent's Service rules go
    const cleanup = await execa(process.execPath, [CORELET, 'agent', '--cleanup', '--root', this.root, '--cluster-dns', '', '--proxy-table', this.proxyTable], { reject: false });
    await this.removeCgroups();
    await rm(this.dir, { recursive: true, force: true });
    if (cleanup.exitCode !== 0) throw new Error(`corelet agent --cleanup failed: ${String(cleanup.stderr)}`);
  }

  /** Removes the agent's QoS cgroup tree (again, after the runtime removed the pods' containers). */
  async removeCgroups(): Promise<void> {
    await removeCgroupTree(`/${this.qosTop}`);
  }
}

export const ready = (p: PodView) => p.status?.phase === 'Running' && p.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
