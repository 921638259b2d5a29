/**
 * Scheduler benchmark: node joins with CSRs and certificate rotation (time, scheduler CPU),
 * scheduling throughput (pods bound per second), apply → bound latency and the scheduler's memory,
 * with many simulated nodes.
 *
 * A private `corelet scheduler` runs in a child process (`scheduler init`, then `scheduler`), so its
 * RSS/PSS and CPU time are its own. --nodes simulated agents (worker threads of this process) join it
 * as real agents do (kubeadm's TLS bootstrap, src/agent/node-identity.ts): trusting the CA fetched
 * against the pinned hash, each POSTs a PKCS#10 request for CN=system:node:<name>, O=system:nodes
 * (SANs: its name and InternalIP) to /apis/certificates.k8s.io/v1/certificatesigningrequests with the
 * bootstrap token, then opens the WSS session /nodes with the certificate it got, sends `register`
 * with --cpu / --memory / --max-pods, heartbeats at the interval the scheduler gives in `registered`,
 * and (with status) a podStatus Running + Ready for every `assign`, at once. Each request is a new
 * TLS connection (no keep-alive, no session resumption), as from separate machines.
 *
 * Keys: --key-pool RSA keys are made before any scheduler starts and shared round robin; every
 * node's join and renewal requests are made (and signed) before the clock starts. The scheduler's
 * work per request does not depend on a key being unique (see keyPool).
 *
 * Joins: time from the first CSR to all --nodes Ready on the API, and the scheduler's CPU seconds
 * (utime + stime of /proc/PID/stat) over that time. Then --pods pods are applied through
 * POST /api/v1/apply, in one or both ways (--mode):
 *
 *   pods         Pods in Lists of --batch per request, the requests back to back;
 *   deployments  --deployments Deployments sharing --pods replicas, in one request;
 *
 * and with or without the agents' pod status reports (--status on|off|both). Without them the
 * scheduler does what kube-scheduler's own benchmark measures (its bar of 680 pods/s has no kubelets);
 * with them it also stores one status per pod while it schedules, as a live cluster makes it do.
 * --join-only skips the pods (one case: joins and rotation).
 *
 * Rotation (--rotate on, the default): after the pods, every node renews its certificate as
 * CertificateRotator does (a CSR for a new key, authenticated by its current client certificate),
 * then reopens its session with the new certificate (the agent's link.reconnect()); time and
 * scheduler CPU of each of the two steps (--rotate renew: the renewals only). Assigns re-sent to a
 * reconnecting node are not counted.
 *
 * Each case gets a fresh scheduler and fresh agents. Figures: time from the first apply request to
 * the last `assign` the agents received, throughput = pods / that time, per-pod latency from the
 * send of the apply request that carried the pod (or its Deployment) to the arrival of its `assign`
 * (p50, p99, max), and the scheduler's RSS/PSS with the nodes registered (before) and with all pods
 * bound (after). The goal is 2,000 pods/s; kube-scheduler's own bar for 5,000 nodes / 10,000 pods is
 * 680 pods/s; both ratios are printed.
 *
 *   node dist/bench/scheduler.js [--nodes 5000] [--pods 10000] [--mode both|pods|deployments]
 *     [--status both|on|off] [--join-only] [--rotate on|renew|off] [--key-pool 16] [--batch 500]
 *     [--deployments 10] [--workers 1] [--connect-concurrency 200] [--cpu 8] [--memory 32Gi]
 *     [--max-pods 110] [--timeout-seconds 300] [--profile] [--top 30] [--log-level info]
 *     [--cluster-cidr CIDR] [--scheduler-node-flags "--flag ..."] [--keep-dir]
 *
 * --connect-concurrency bounds the joins, renewals and reconnects in flight. --profile runs the
 * scheduler with --cpu-prof and prints where its CPU went during the joins, between the first apply
 * and the last assign, and during the renewals (self and total time per function); with --keep-dir
 * the profile and its windows (profile/windows.json, CLOCK_MONOTONIC µs) stay in the temp dir.
 *
 * It never exits non-zero on a missed goal: it measures. The scheduler, the agents and the temp dir
 * are removed even when a step fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPair, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import https, { Agent as HttpsAgent, request } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import forge from 'node-forge';
import WebSocket from 'ws';
import { requestNodeCertificate } from '../src/agent/cluster/node-identity.js';
import { fetchPinnedCa, NODE_USER_PREFIX, NODES_GROUP } from '../src/scheduler/auth/index.js';
import { memKiB, settledPssKiB } from './procs.js';
import { quantile, table } from './stats.js';
import { freePort } from '../test/helpers/free-port.js';
import { messageOf } from '../src/lib/index.js';

const GOAL_PODS_PER_SECOND = 2000;
const KUBE_SCHEDULER_PODS_PER_SECOND = 680;
const NAMESPACE = 'bench';
/** Label carrying the index of the apply request a pod came from (its latency's start). */
const BATCH_LABEL = 'corelet-bench/batch';
const IMAGE = 'registry.k8s.io/pause:3.9';
/** A certificate request waits at most this long (the agent's default is 30 s; 5,000 queue up here). */
const CSR_TIMEOUT_MS = 120_000;
/** USER_HZ, the unit of /proc/PID/stat times (`getconf CLK_TCK`; 100 on every Linux architecture Node runs on). */
const CLOCK_TICKS = 100;

/** Epoch milliseconds with sub-millisecond precision, comparable across threads. */
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => (messageOf(err));

// ---- simulated agents (worker threads) ---------------------------------------------------------

/** What a worker is started with. */
interface AgentWorkerData {
  url: string;
  host: string;
  port: number;
  ca: string;
  token: string;
  /** RSA keys (PKCS#1 PEM) the worker's nodes take their keys from, round robin (see keyPool). */
  keys: string[];
  /** First node index and count: the worker's nodes are bench-node-<first>..<first+count-1>. */
  first: number;
  count: number;
  concurrency: number;
  reportStatus: boolean;
  cpu: string;
  memory: string;
  maxPods: string;
}

/** main → worker: the phases, in this order (rotate/reconnect optional), then stop. */
type ToWorker = { type: 'join' } | { type: 'rotate' } | { type: 'reconnect' } | { type: 'stop' };

/** worker → main. An assign is [uid, batch label, arrival ms]. A phase's end reports its counts. */
type FromWorker =
  | { type: 'prepared' }
  | { type: 'phase'; phase: 'join' | 'rotate' | 'reconnect'; count: number; failed: number; firstFailure?: string }
  | { type: 'assigns'; items: [string, string, number][] }
  | { type: 'errors'; items: string[] }
  | { type: 'closed'; disconnects: number };

const PEERS_PREFIX = Buffer.from('{"v":1,"type":"peers"');
const nodeName = (i: number) => `bench-node-${String(i).padStart(5, '0')}`;
const nodeIP = (i: number) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

/**
 * A PKCS#10 request for node name with key, as makeNodeCsr (src/agent/node-identity.ts) makes it
 * (CN=system:node:<name>, O=system:nodes, SANs name and InternalIP), but with a given key and
 * signed by Node's native RSA: forge's JavaScript RSA would cost the bench ~30 ms per request.
 */
function benchCsr(name: string, ip: string, key: { forgeKey: forge.pki.rsa.PrivateKey; keyObject: KeyObject }): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.forgeKey.n, key.forgeKey.e);
  csr.setSubject([
    { name: 'organizationName', value: NODES_GROUP },
    { name: 'commonName', value: `${NODE_USER_PREFIX}${name}` },
  ]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }, { type: 7, ip }] }] }]);
  const c = csr as unknown as { signatureOid: string; siginfo: { algorithmOid: string }; certificationRequestInfo: forge.asn1.Asn1; signature: string };
  c.signatureOid = c.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  c.certificationRequestInfo = (forge.pki as unknown as { getCertificationRequestInfo(r: unknown): forge.asn1.Asn1 }).getCertificationRequestInfo(csr);
  c.signature = cryptoSign('sha256', Buffer.from(forge.asn1.toDer(c.certificationRequestInfo).getBytes(), 'binary'), key.keyObject).toString('binary');
  return forge.pki.certificationRequestToPem(csr).replace(/\r\n/g, '\n');
}

/** One simulated node's state in its worker. */
interface SimNode {
  index: number;
  name: string;
  hostIP: string;
  joinCsr: string;
  joinKeyPem: string;
  renewCsr: string;
  renewKeyPem: string;
  certPem?: string;
  keyPem?: string;
  ws?: WebSocket;
  heartbeat?: NodeJS.Timeout;
  /** Closed on purpose (reconnect with the new certificate, stop): not a dropped connection. */
  closing?: boolean;
}

/** Runs in a worker thread: one WebSocket per simulated node. */
async function agentWorker(d: AgentWorkerData): Promise<void> {
  const port = parentPort!;
  // Every request is a new TLS connection with a full handshake, as from 5,000 separate agents:
  // requestNodeCertificate uses https.globalAgent, which would keep sockets and cache TLS sessions.
  https.globalAgent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  const address = { host: d.host, port: d.port };
  const assigns: [string, string, number][] = [];
  const errors: string[] = [];
  let stopping = false;
  /** After the scheduling part: re-sent assigns of a reconnecting node are not new bindings. */
  let recordAssigns = true;
  let disconnects = 0;
  let podCounter = 0;
  const flush = setInterval(() => {
    if (assigns.length > 0) port.postMessage({ type: 'assigns', items: assigns.splice(0) } satisfies FromWorker);
    if (errors.length > 0) port.postMessage({ type: 'errors', items: errors.splice(0) } satisfies FromWorker);
  }, 50);

  // Before any clock starts: each node's join and renewal requests, with keys from the pool.
  const keys = d.keys.map((pem) => ({ pem, forgeKey: forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey, keyObject: createPrivateKey(pem) }));
  const nodes: SimNode[] = [];
  for (let k = 0; k < d.count; k++) {
    const index = d.first + k;
    const name = nodeName(index);
    const hostIP = nodeIP(index);
    const joinKey = keys[index % keys.length]!;
    const renewKey = keys[(index + 1) % keys.length]!;
    nodes.push({ index, name, hostIP, joinCsr: benchCsr(name, hostIP, joinKey), joinKeyPem: joinKey.pem, renewCsr: benchCsr(name, hostIP, renewKey), renewKeyPem: renewKey.pem });
  }
  port.postMessage({ type: 'prepared' } satisfies FromWorker);

  /** Opens the node's session with its certificate; resolves once `registered` arrives. */
  const connect = (n: SimNode) =>
    new Promise<void>((resolvePromise, reject) => {
      const { name, hostIP, index } = n;
      const ws = new WebSocket(d.url, { ca: d.ca, cert: n.certPem, key: n.keyPem, perMessageDeflate: false });
      n.ws = ws;
      n.closing = false;
      let registered = false;
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`${name}: the scheduler refused the connection (${res.statusCode})`));
      });
      ws.once('error', (err) => {
        if (!registered) reject(new Error(`${name}: ${err.message}`));
      });
      ws.on('close', (code) => {
        if (!registered) reject(new Error(`${name}: the connection closed (${code}) before registered`));
        else if (!stopping && !(n.ws !== ws || n.closing)) disconnects++;
      });
      ws.once('open', () => {
        const resources = { cpu: d.cpu, memory: d.memory, pods: d.maxPods };
        ws.send(JSON.stringify({
          v: 1,
          type: 'register',
          nodeName: name,
          labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
          capacity: resources,
          allocatable: resources,
          runtime: { name: 'bench', version: '0.0.0' },
          addresses: [{ type: 'InternalIP', address: hostIP }, { type: 'Hostname', address: name }],
          pods: [],
        }));
      });
      ws.on('message', (data) => {
        const at = nowMs();
        // The peers list (every node's pod CIDR, to all nodes on every change) is what a real agent
        // routes by; the simulated ones have no routes to set and skip its parse, which would cost
        // this one thread a JSON.parse of the whole list per node per change.
        if ((data as Buffer).subarray(0, PEERS_PREFIX.length).equals(PEERS_PREFIX)) return;
        // The simulated agent trusts the scheduler (the real one validates with parseMessage).
        const m = JSON.parse((data as Buffer).toString('utf8')) as { type: string; [k: string]: any };
        if (m.type === 'registered') {
          registered = true;
          const everyMs = m.heartbeatIntervalSeconds * 1000;
          const beat = () => {
            if (ws.readyState === WebSocket.OPEN) {
              ws.send(JSON.stringify({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }] }));
            }
          };
          // Spread over the interval, as real agents started at different times are.
          clearTimeout(n.heartbeat);
          n.heartbeat = setTimeout(() => {
            beat();
            n.heartbeat = setInterval(beat, everyMs);
          }, Math.random() * everyMs);
          resolvePromise();
        } else if (m.type === 'assign') {
          if (!recordAssigns) return;
          const pod = m.pod;
          assigns.push([pod.metadata.uid, pod.metadata.labels?.[BATCH_LABEL] ?? '', at]);
          if (d.reportStatus) {
            const n = podCounter++;
            const ts = new Date().toISOString();
            ws.send(JSON.stringify({
              v: 1,
              type: 'podStatus',
              uid: pod.metadata.uid,
              status: {
                phase: 'Running',
                conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: ts })),
                hostIP,
                podIP: `10.${100 + (index >> 8)}.${index & 255}.${(n % 250) + 2}`,
                startTime: ts,
                containerStatuses: pod.spec.containers.map((c: { name: string; image: string }) => ({
                  name: c.name,
                  state: { running: { startedAt: ts } },
                  ready: true,
                  started: true,
                  restartCount: 0,
                  image: c.image,
                  imageID: '',
                })),
                qosClass: 'Burstable',
              },
              events: [],
            }));
          }
        } else if (m.type === 'error') {
          errors.push(`${name}: ${m.code}: ${m.message}`);
        }
      });
    });

  /** Bootstrap as the agent does: the CSR with the bootstrap token, then the session with the certificate. */
  const join = async (n: SimNode) => {
    const certPem = await requestNodeCertificate(address, d.ca, { token: d.token }, n.joinCsr, CSR_TIMEOUT_MS);
    n.certPem = certPem;
    n.keyPem = n.joinKeyPem;
    await connect(n);
  };
  /** Rotation as CertificateRotator does it: a new key's CSR, authenticated by the current certificate. */
  const renew = async (n: SimNode) => {
    if (!n.certPem || !n.keyPem) throw new Error(`${n.name}: no certificate to renew`);
    n.certPem = await requestNodeCertificate(address, d.ca, { certPem: n.certPem, keyPem: n.keyPem }, n.renewCsr, CSR_TIMEOUT_MS);
    n.keyPem = n.renewKeyPem;
  };
  /** Then the agent's link reconnects with the new certificate (onRotated → link.reconnect()). */
  const reconnect = async (n: SimNode) => {
    clearTimeout(n.heartbeat);
    clearInterval(n.heartbeat);
    if (n.ws) {
      n.closing = true;
      n.ws.close(1000, 'certificate rotated');
    }
    await connect(n);
  };

  // Each phase with bounded concurrency: a real cluster's agents do not all start in the same ms.
  const runPhase = async (phase: 'join' | 'rotate' | 'reconnect', step: (n: SimNode) => Promise<void>) => {
    const failures: string[] = [];
    let next = 0;
    let ok = 0;
    await Promise.all(
      Array.from({ length: Math.min(d.concurrency, nodes.length) }, async () => {
        while (next < nodes.length) {
          const n = nodes[next++]!;
          try {
            await step(n);
            ok++;
          } catch (err) {
            failures.push(errText(err));
          }
        }
      }),
    );
    port.postMessage({ type: 'phase', phase, count: ok, failed: failures.length, firstFailure: failures[0] } satisfies FromWorker);
  };

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'join') void runPhase('join', join);
    else if (msg.type === 'rotate') {
      recordAssigns = false;
      void runPhase('rotate', renew);
    } else if (msg.type === 'reconnect') void runPhase('reconnect', reconnect);
    else if (msg.type === 'stop') {
      stopping = true;
      clearInterval(flush);
      if (assigns.length > 0) port.postMessage({ type: 'assigns', items: assigns.splice(0) } satisfies FromWorker);
      for (const n of nodes) {
        clearTimeout(n.heartbeat);
        clearInterval(n.heartbeat);
        n.ws?.terminate();
      }
      port.postMessage({ type: 'closed', disconnects } satisfies FromWorker);
    }
  });
}

// ---- main thread ----------------------------------------------------------------------------------

const { values: args } = isMainThread
  ? parseArgs({
      options: {
        nodes: { type: 'string', default: '5000' },
        pods: { type: 'string', default: '10000' },
        mode: { type: 'string', default: 'both' },
        batch: { type: 'string', default: '500' },
        deployments: { type: 'string', default: '10' },
        workers: { type: 'string', default: '1' },
        'connect-concurrency': { type: 'string', default: '200' },
        status: { type: 'string', default: 'both' },
        cpu: { type: 'string', default: '8' },
        memory: { type: 'string', default: '32Gi' },
        'max-pods': { type: 'string', default: '110' },
        'timeout-seconds': { type: 'string', default: '300' },
        profile: { type: 'boolean', default: false },
        top: { type: 'string', default: '30' },
        'log-level': { type: 'string', default: 'info' },
        'cluster-cidr': { type: 'string' },
        'scheduler-node-flags': { type: 'string', default: '' },
        'keep-dir': { type: 'boolean', default: false },
        'join-only': { type: 'boolean', default: false },
        rotate: { type: 'string', default: 'on' },
        'key-pool': { type: 'string', default: '16' },
        'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
      },
    })
  : { values: {} as Record<string, never> };

/** A private scheduler in a temp dir, with its admin API client. */
class SchedulerProcess {
  private readonly agent: HttpsAgent;
  readonly url: string;
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: ChildProcess,
    readonly ca: string,
    readonly adminToken: string,
    readonly bootstrapToken: string,
    readonly caCertHash: string,
    readonly logFile: string,
    readonly profileDir: string | undefined,
  ) {
    this.url = `https://127.0.0.1:${port}`;
    // No keep-alive: an idle pooled socket the server has just closed would fail the next request.
    this.agent = new HttpsAgent({ ca, maxSockets: 4 });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** Whether the scheduler process has exited (it should not before stop()). */
  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  static async start(cli: string, logLevel: string, profile: boolean, extra: string[], nodeFlags: string[]): Promise<SchedulerProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'corelet-bench-scheduler-'));
    let proc: ChildProcess | undefined;
    try {
      const port = await freePort();
      const env = { ...process.env, HOME: join(dir, 'home') };
      const stateDir = join(dir, 'scheduler');
      const init = await run(process.execPath, [cli, 'scheduler', 'init', '--dir', stateDir, '--port', String(port), '--host', '127.0.0.1'], env);
      const joinLine = init.split('\n').find((l) => l.includes('--token-file'));
      const tokenFile = /--token-file (\S+)/.exec(joinLine ?? '')?.[1];
      const hash = /--ca-cert-hash (\S+)/.exec(joinLine ?? '')?.[1];
      if (!tokenFile || !hash) throw new Error(`scheduler init printed no join command:\n${init}`);
      const token = (await readFile(tokenFile, 'utf8')).trim();
      // The CLI config `scheduler init` wrote: a kubeconfig-like file (clusters, users, contexts).
      const cfg = JSON.parse(await readFile(join(dir, 'home', '.corelet', 'config'), 'utf8')) as { clusters?: { caCert?: string }[]; users?: { token?: string }[] };
      const config = { caCert: cfg.clusters?.[0]?.caCert, token: cfg.users?.find((u) => u.token)?.token };
      if (!config.caCert || !config.token) throw new Error(`scheduler init wrote no CA or admin token to ${join(dir, 'home', '.corelet', 'config')}`);
      const logFile = join(dir, 'scheduler.log');
      const profileDir = profile ? join(dir, 'profile') : undefined;
      const out = openSync(logFile, 'a');
      const flags = [...nodeFlags, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
      proc = spawn(process.execPath, [...flags, cli, 'scheduler', '--dir', stateDir, '--address', '127.0.0.1', '--port', String(port), '--log-level', logLevel, ...extra], {
        env,
        stdio: ['ignore', out, out],
      });
      closeSync(out);
      // Interrupted (Ctrl-C, see main), the bench still takes its scheduler and files with it.
      const child = proc;
      process.once('exit', () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (!args['keep-dir']) rmSync(dir, { recursive: true, force: true });
      });
      const s = new SchedulerProcess(dir, port, proc, config.caCert, config.token, token, hash, logFile, profileDir);
      for (let i = 0; ; i++) {
        if (proc.exitCode !== null) throw new Error(`corelet scheduler exited with ${proc.exitCode}; see ${logFile}`);
        const r = await s.api('GET', '/api/v1/nodes').catch(() => undefined);
        if (r?.status === 200) return s;
        if (i >= 150) throw new Error(`corelet scheduler did not answer on ${s.url}`);
        await sleep(100);
      }
    } catch (err) {
      if (proc && proc.exitCode === null) proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** One API call; the body is JSON text. */
  api(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolvePromise, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, path, method, agent: this.agent, headers: { Authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async readLog(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** The CPU profile written at exit (after stop()), parsed. */
  async readProfile(): Promise<CpuProfile | undefined> {
    if (!this.profileDir) return undefined;
    const files = (await readdir(this.profileDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) return undefined;
    return JSON.parse(await readFile(join(this.profileDir, files[0]!), 'utf8')) as CpuProfile;
  }

  /** SIGTERM (the profile is written on exit), SIGKILL after 30 s. */
  async stop(): Promise<void> {
    this.agent.destroy();
    const p = this.proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}


/** Runs a command to completion and returns its stdout; rejects with its output on failure. */
function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${argv.slice(1, 3).join(' ')} exited with ${code}: ${err || out}`))));
  });
}

/** The simulated agents: worker threads, each with a share of the nodes. */
class Agents {
  /** uid → [batch label, arrival ms] of the first assign received. */
  readonly assigned = new Map<string, [string, number]>();
  duplicateAssigns = 0;
  readonly errors: string[] = [];
  errorCount = 0;
  lastAssignMs = 0;
  disconnects = 0;
  private readonly workers: Worker[] = [];
  private waiters: (() => void)[] = [];

  private phaseWaiters: ((m: Extract<FromWorker, { type: 'phase' }>) => void)[] = [];

  /**
   * Starts the worker threads; resolves when every simulated node has its join and renewal
   * requests made (keys from the pool), i.e. before any clock starts.
   */
  static async start(s: SchedulerProcess, nodes: number, workers: number, concurrency: number, reportStatus: boolean, keys: string[]): Promise<Agents> {
    const a = new Agents();
    const ca = await fetchPinnedCa({ host: '127.0.0.1', port: s.port }, s.caCertHash);
    const per = Math.ceil(nodes / workers);
    const prepared: Promise<void>[] = [];
    for (let w = 0; w < workers && w * per < nodes; w++) {
      const data: AgentWorkerData = {
        url: `wss://127.0.0.1:${s.port}/nodes`,
        host: '127.0.0.1',
        port: s.port,
        ca,
        token: s.bootstrapToken,
        keys,
        first: w * per,
        count: Math.min(per, nodes - w * per),
        concurrency: Math.max(1, Math.floor(concurrency / workers)),
        reportStatus,
        cpu: args.cpu!,
        memory: args.memory!,
        maxPods: args['max-pods']!,
      };
      const worker = new Worker(new URL(import.meta.url), { workerData: data });
      a.workers.push(worker);
      prepared.push(
        new Promise((resolvePromise, reject) => {
          worker.on('error', reject);
          worker.on('message', (m: FromWorker) => {
            if (m.type === 'prepared') resolvePromise();
            else if (m.type === 'phase') for (const f of a.phaseWaiters.splice(0)) f(m);
            else a.onMessage(m);
          });
        }),
      );
    }
    await Promise.all(prepared);
    return a;
  }

  /**
   * Runs one phase on every worker (join: CSR with the token + session with the certificate;
   * rotate: CSR with the current certificate; reconnect: session with the new certificate);
   * resolves with the nodes that completed it, or rejects when some did not.
   */
  async phase(phase: 'join' | 'rotate' | 'reconnect'): Promise<number> {
    const results: Extract<FromWorker, { type: 'phase' }>[] = [];
    const done = new Promise<void>((resolvePromise) => {
      const take = (m: Extract<FromWorker, { type: 'phase' }>) => {
        results.push(m);
        if (results.length === this.workers.length) resolvePromise();
        else this.phaseWaiters.push(take);
      };
      this.phaseWaiters.push(take);
    });
    for (const w of this.workers) w.postMessage({ type: phase } satisfies ToWorker);
    await done;
    const ok = results.reduce((x, m) => x + m.count, 0);
    const failed = results.reduce((x, m) => x + m.failed, 0);
    if (failed > 0) throw new Error(`${phase}: ${failed} simulated nodes failed, first: ${results.find((m) => m.firstFailure)?.firstFailure}`);
    return ok;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'assigns') {
      for (const [uid, batch, at] of m.items) {
        if (this.assigned.has(uid)) {
          this.duplicateAssigns++;
          continue;
        }
        this.assigned.set(uid, [batch, at]);
        if (at > this.lastAssignMs) this.lastAssignMs = at;
      }
      for (const w of this.waiters.splice(0)) w();
    } else if (m.type === 'errors') {
      this.errorCount += m.items.length;
      if (this.errors.length < 5) this.errors.push(...m.items.slice(0, 5 - this.errors.length));
    } else if (m.type === 'closed') {
      this.disconnects += m.disconnects;
    }
  }

  /**
   * Resolves true when n distinct pods were assigned; false when no assign came for stallMs,
   * timeoutMs passed or the scheduler died.
   */
  async waitFor(n: number, timeoutMs: number, schedulerDied: () => boolean, stallMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let lastCount = this.assigned.size;
    let lastProgress = Date.now();
    while (this.assigned.size < n) {
      if (Date.now() > deadline || Date.now() - lastProgress > stallMs || schedulerDied()) return false;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
      if (this.assigned.size > lastCount) {
        lastCount = this.assigned.size;
        lastProgress = Date.now();
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        const closed = new Promise<void>((r) => {
          w.on('message', (m: FromWorker) => m.type === 'closed' && r());
          setTimeout(r, 5000);
        });
        w.postMessage({ type: 'stop' } satisfies ToWorker);
        await closed;
        await w.terminate();
      }),
    );
  }
}

/** A bench pod's spec: one container with requests (so fit and scores have work to do). */
const podSpec = () => ({
  terminationGracePeriodSeconds: 1,
  containers: [{ name: 'c', image: IMAGE, resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
});

/** The apply request bodies of a mode: each a v1 List, and the number of pods it makes. */
function manifests(mode: 'pods' | 'deployments', pods: number): { body: string; pods: number }[] {
  if (mode === 'pods') {
    const batch = Number(args.batch);
    const out: { body: string; pods: number }[] = [];
    for (let b = 0; b * batch < pods; b++) {
      const items = [];
      for (let i = b * batch; i < Math.min(pods, (b + 1) * batch); i++) {
        items.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `pod-${String(i).padStart(5, '0')}`, namespace: NAMESPACE, labels: { app: 'bench', [BATCH_LABEL]: String(out.length) } },
          spec: podSpec(),
        });
      }
      out.push({ body: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), pods: items.length });
    }
    return out;
  }
  const count = Number(args.deployments);
  const items = Array.from({ length: count }, (_, d) => {
    const replicas = Math.floor(pods / count) + (d < pods % count ? 1 : 0);
    const labels = { app: `bench-${d}` };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `bench-${d}`, namespace: NAMESPACE },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels: { ...labels, [BATCH_LABEL]: '0' } }, spec: podSpec() },
      },
    };
  });
  return [{ body: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), pods }];
}

/** One run: how pods are applied, and whether agents report pod status. */
interface Case {
  mode: 'pods' | 'deployments';
  status: boolean;
}

const caseName = (c: Case) => `${c.mode}${c.status ? '+status' : ''}`;

/** What the scheduling part of a case measured. */
interface Scheduling {
  requests: number;
  applyMs: number;
  boundMs: number;
  podsPerSecond: number;
  latencies: number[];
  rssBeforeKiB: number;
  pssBeforeKiB: number;
  rssAfterKiB: number;
  pssAfterKiB: number;
  load: [number, number];
}

/** What one case measured: the joins, the scheduling (not with --join-only), the rotation (--rotate on). */
interface CaseResult {
  name: string;
  mode: Case['mode'];
  status: boolean;
  join: Phase;
  joinLoad: number;
  sched?: Scheduling;
  renew?: Phase;
  reconnect?: Phase;
  notes: string[];
  profile?: string;
}

/** The scheduler process's CPU time so far (user + system), seconds, from /proc/PID/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14 and stime 15, in clock ticks.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** This process's CPU seconds (all threads: the simulated agents) from a process.cpuUsage() diff. */
const cpuOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

/** Nodes with Ready=True on the API. */
async function readyNodes(s: SchedulerProcess): Promise<number> {
  const nodes = JSON.parse((await s.api('GET', '/api/v1/nodes')).text) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
  return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

/**
 * The simulated nodes' RSA keys: --key-pool keys made once, before any scheduler starts, and shared
 * round robin (node i joins with key i mod K and rotates to key i+1 mod K). Making 10,000 RSA 2048
 * keys would cost this process minutes of the CPU the scheduler runs on; the scheduler's work per
 * request does not depend on the key being unique (it verifies the CSR's signature and signs a
 * certificate for the public key, whatever it is; nothing is cached or indexed by key).
 */
async function keyPool(n: number): Promise<string[]> {
  const gen = promisify(generateKeyPair);
  return Promise.all(
    Array.from({ length: n }, async () => (await gen('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })).privateKey),
  );
}

/** Time and scheduler CPU of one measured phase. */
interface Phase {
  ms: number;
  schedulerCpu: number;
  benchCpu: number;
}

async function measure(s: SchedulerProcess, what: () => Promise<unknown>): Promise<Phase> {
  const t0 = performance.now();
  const cpu0 = await cpuSeconds(s.pid);
  const bench0 = process.cpuUsage();
  await what();
  return { ms: performance.now() - t0, schedulerCpu: (await cpuSeconds(s.pid)) - cpu0, benchCpu: cpuOf(process.cpuUsage(bench0)) };
}

async function runCase(c: Case, keys: string[]): Promise<CaseResult> {
  const { mode } = c;
  const name = args['join-only'] ? 'join' : caseName(c);
  const NODES = Number(args.nodes);
  const PODS = Number(args.pods);
  const notes: string[] = [];
  const extra = args['cluster-cidr'] ? ['--cluster-cidr', args['cluster-cidr']] : [];
  const nodeFlags = args['scheduler-node-flags']!.split(/\s+/).filter((f) => f !== '');
  const s = await SchedulerProcess.start(args['corelet-cli']!, args['log-level']!, args.profile!, extra, nodeFlags);
  let agents: Agents | undefined;
  try {
    // Pods go to namespace bench, which must exist (the scheduler admits pods into Namespaces only).
    const ns = await s.api('POST', '/api/v1/apply', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }));
    if (ns.status !== 200) throw new Error(`creating namespace ${NAMESPACE} answered ${ns.status}: ${ns.text.slice(0, 300)}`);
    console.log(`${name}: scheduler pid ${s.pid} at ${s.url}; preparing the CSRs of ${NODES} simulated nodes`);
    agents = await Agents.start(s, NODES, Number(args.workers), Number(args['connect-concurrency']), c.status, keys);
    await sleep(1000); // the scheduler idle before the clock starts
    const joinLoad = loadavg()[0]!;
    console.log(`${name}: ${NODES} nodes joining: CSR with the bootstrap token, then the WSS session with the certificate`);
    const reg0Mono = process.hrtime.bigint();
    const joined = await measure(s, async () => {
      await agents!.phase('join');
      // Every node stored and Ready before the clock stops (polled once all have registered, so
      // the lists of 5,000 nodes do not weigh on the joins' CPU figure).
      for (let i = 0; ; i++) {
        if (s.exited) throw new Error(`the scheduler died during registration: ${(await s.readLog()).split('\n').filter((l) => !l.startsWith('{')).slice(0, 12).join('\n')}`);
        const ready = await readyNodes(s);
        if (ready >= NODES) break;
        if (i >= 300) throw new Error(`only ${ready}/${NODES} nodes Ready on the API after registration`);
        await sleep(200);
      }
    });
    const reg1Mono = process.hrtime.bigint();
    console.log(`${name}: ${NODES} nodes joined and Ready in ${(joined.ms / 1000).toFixed(1)} s; scheduler CPU ${joined.schedulerCpu.toFixed(1)} s`);

    let sched: Scheduling | undefined;
    let startMono = 0n;
    let endMono = 0n;
    if (!args['join-only']) {
      await sleep(2000); // let the registration burst settle before measuring memory
      const before = await memKiB(s.pid);
      const pssBefore = await settledPssKiB(s.pid);

      const bodies = manifests(mode, PODS);
      const load0 = loadavg()[0]!;
      const sentAt = new Map<string, number>();
      const start = nowMs();
      startMono = process.hrtime.bigint();
      for (let i = 0; i < bodies.length; i++) {
        sentAt.set(String(i), nowMs());
        const r = await s.api('POST', '/api/v1/apply', bodies[i]!.body);
        if (r.status !== 200) throw new Error(`apply ${i} answered ${r.status}: ${r.text.slice(0, 500)}`);
      }
      const applyMs = nowMs() - start;
      console.log(`${name}: ${bodies.length} apply request(s) answered in ${(applyMs / 1000).toFixed(2)} s; waiting for ${PODS} assigns`);
      const all = await agents.waitFor(PODS, Number(args['timeout-seconds']) * 1000, () => s.exited);
      if (s.exited) notes.push(`the scheduler died during the run; see the end of its log:\n${(await s.readLog()).split('\n').slice(-15).join('\n')}`);
      endMono = process.hrtime.bigint();
      if (!all) notes.push(`only ${agents.assigned.size}/${PODS} pods were assigned before the timeout or a 60 s stall`);
      const boundMs = agents.lastAssignMs - start;
      const after = await memKiB(s.pid);
      const pssAfter = await settledPssKiB(s.pid);
      const load1 = loadavg()[0]!;
      const latencies: number[] = [];
      for (const [batch, at] of agents.assigned.values()) {
        const sent = sentAt.get(batch);
        if (sent !== undefined) latencies.push(at - sent);
      }
      if (agents.duplicateAssigns > 0) notes.push(`${agents.duplicateAssigns} duplicate assigns (a pod sent twice)`);
      sched = {
        requests: bodies.length,
        applyMs,
        boundMs,
        podsPerSecond: (latencies.length / boundMs) * 1000,
        latencies,
        rssBeforeKiB: before.rss,
        pssBeforeKiB: pssBefore,
        rssAfterKiB: after.rss,
        pssAfterKiB: pssAfter,
        load: [load0, load1],
      };
    }

    let renew: Phase | undefined;
    let rot0Mono = 0n;
    let rot1Mono = 0n;
    let reconnect: Phase | undefined;
    if (args.rotate !== 'off') {
      await sleep(2000);
      console.log(`${name}: rotation: ${NODES} nodes renew their certificates with their current ones`);
      rot0Mono = process.hrtime.bigint();
      renew = await measure(s, () => agents!.phase('rotate'));
      rot1Mono = process.hrtime.bigint();
      console.log(`${name}: ${NODES} renewals in ${(renew.ms / 1000).toFixed(1)} s; scheduler CPU ${renew.schedulerCpu.toFixed(1)} s`);
    }
    if (args.rotate === 'on') {
      await sleep(1000);
      reconnect = await measure(s, () => agents!.phase('reconnect'));
      console.log(`${name}: ${NODES} sessions reopened with the new certificates in ${(reconnect.ms / 1000).toFixed(1)} s; scheduler CPU ${reconnect.schedulerCpu.toFixed(1)} s`);
    }
    if (agents.errorCount > 0) notes.push(`${agents.errorCount} error messages from the scheduler, first: ${agents.errors[0]}`);

    await agents.stop();
    if (agents.disconnects > 0) notes.push(`${agents.disconnects} agent connections dropped during the run`);
    agents = undefined;
    await s.stop();
    const log = await s.readLog();
    const problems = log.split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    if (problems.length > 0) notes.push(`scheduler: ${problems.length} warn/error log lines, first: ${problems[0]!.slice(0, 300)}`);
    let profile: string | undefined;
    if (args.profile) {
      const p = await s.readProfile();
      const us = (t: bigint) => Number(t / 1000n);
      // Kept with the profile for a closer look (e.g. in Chrome DevTools, or by caller).
      if (args['keep-dir'] && s.profileDir) {
        const windows = { registration: [us(reg0Mono), us(reg1Mono)], scheduling: [us(startMono), us(endMono)], renewals: [us(rot0Mono), us(rot1Mono)] };
        await writeFile(join(s.profileDir, 'windows.json'), JSON.stringify(windows) + '\n');
      }
      profile = p
        ? [
            profileTable(p, 'joins (first CSR → all Ready)', [us(reg0Mono), us(reg1Mono)], Number(args.top)),
            ...(sched ? [profileTable(p, 'first apply → last assign', [us(startMono), us(endMono)], Number(args.top))] : []),
            ...(renew ? [profileTable(p, 'renewals', [us(rot0Mono), us(rot1Mono)], Number(args.top))] : []),
          ].join('\n\n')
        : 'no CPU profile was written';
    }
    return { name, mode, status: c.status, join: joined, joinLoad, renew, reconnect, sched, notes, profile };
  } finally {
    await agents?.stop().catch(() => undefined);
    await s.stop().catch(() => undefined);
    if (args['keep-dir']) console.log(`${name}: scheduler dir kept at ${s.dir}`);
    else await s.remove();
  }
}

// ---- CPU profile summary ----------------------------------------------------------------------------

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self and total CPU time per function over the window [from, to] (CLOCK_MONOTONIC µs, the clock
 * V8 stamps samples with), the top n by self time; the whole profile if no sample falls inside.
 */
function profileTable(p: CpuProfile, name: string, window: [number, number], n: number): string {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const inWindow: [number, number][] = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (t >= window[0] && t <= window[1]) inWindow.push([p.samples[i]!, dt]);
  }
  const samples = inWindow.length > 0 ? inWindow : p.samples.map((s, i) => [s, p.timeDeltas[i + 1] ?? 0] as [number, number]);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sum = 0;
  for (const [id, dt] of samples) {
    sum += dt;
    const key = label(id);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const pct = (us: number) => `${((us / sum) * 100).toFixed(1)} %`;
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => [k.slice(0, 110), `${(us / 1000).toFixed(0)} ms`, pct(us), pct(total.get(k) ?? 0)]);
  const scope = inWindow.length > 0 ? name : `whole run (no sample in the window ${name})`;
  return `${scope}: ${(sum / 1000).toFixed(0)} ms of samples\n${table([['function (self time)', 'self', 'self %', 'total %'], ...rows])}`;
}

// ---- report --------------------------------------------------------------------------------------------

const fmtS = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const fmtMs = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : 'n/a');
const fmtMiB = (kib: number) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : 'n/a');

const fmtCpu = (p: Phase | undefined, nodes: number) =>
  p ? `${p.schedulerCpu.toFixed(1)} s (${((p.schedulerCpu / nodes) * 1000).toFixed(2)} ms/node)` : 'n/a';

function report(results: CaseResult[]): void {
  const nodes = Number(args.nodes);
  const col = (f: (r: CaseResult) => string) => results.map(f);
  const sc = (f: (s: Scheduling) => string) => col((r) => (r.sched ? f(r.sched) : 'n/a'));
  const rows = [
    ['metric', ...results.map((r) => (!r.sched ? 'joins only' : r.mode === 'pods' ? `${r.sched.requests} Pod Lists` : `${args.deployments} Deployments`))],
    ['load average (1 min) at the joins', ...col((r) => r.joinLoad.toFixed(2))],
    [`${nodes} joins: first CSR → all Ready`, ...col((r) => fmtS(r.join.ms))],
    ['scheduler CPU, joins', ...col((r) => fmtCpu(r.join, nodes))],
    ['bench CPU (simulated agents), joins', ...col((r) => `${r.join.benchCpu.toFixed(1)} s`)],
    [`${nodes} renewals (CSR with the current certificate)`, ...col((r) => (r.renew ? fmtS(r.renew.ms) : 'n/a'))],
    ['scheduler CPU, renewals', ...col((r) => fmtCpu(r.renew, nodes))],
    [`${nodes} sessions reopened with the new certificate`, ...col((r) => (r.reconnect ? fmtS(r.reconnect.ms) : 'n/a'))],
    ['scheduler CPU, sessions reopened', ...col((r) => fmtCpu(r.reconnect, nodes))],
    ['agents report pod status', ...col((r) => (r.sched ? (r.status ? 'yes' : 'no') : 'n/a'))],
    ['apply requests answered', ...sc((x) => fmtS(x.applyMs))],
    ['first apply → last assign', ...sc((x) => fmtS(x.boundMs))],
    ['pods bound (distinct assigns)', ...sc((x) => String(x.latencies.length))],
    ['throughput', ...sc((x) => `${x.podsPerSecond.toFixed(0)} pods/s`)],
    ['apply → bound p50', ...sc((x) => fmtMs(quantile(x.latencies, 0.5)))],
    ['apply → bound p99', ...sc((x) => fmtMs(quantile(x.latencies, 0.99)))],
    ['apply → bound max', ...sc((x) => fmtMs(quantile(x.latencies, 1)))],
    ['scheduler RSS, nodes only', ...sc((x) => fmtMiB(x.rssBeforeKiB))],
    ['scheduler RSS, pods bound', ...sc((x) => fmtMiB(x.rssAfterKiB))],
    ['scheduler PSS, nodes only', ...sc((x) => fmtMiB(x.pssBeforeKiB))],
    ['scheduler PSS, pods bound', ...sc((x) => fmtMiB(x.pssAfterKiB))],
    ['load average (1 min) scheduling start → end', ...sc((x) => `${x.load[0].toFixed(2)} → ${x.load[1].toFixed(2)}`)],
  ];
  console.log('\n' + table(rows));
  for (const r of results) {
    if (r.sched) {
      const pps = r.sched.podsPerSecond;
      console.log(
        `${r.name}: ${pps.toFixed(0)} pods/s is ${(pps / GOAL_PODS_PER_SECOND).toFixed(2)}× the goal of ${GOAL_PODS_PER_SECOND} pods/s ` +
          `and ${(pps / KUBE_SCHEDULER_PODS_PER_SECOND).toFixed(2)}× kube-scheduler's bar of ${KUBE_SCHEDULER_PODS_PER_SECOND} pods/s` +
          ` (${pps >= GOAL_PODS_PER_SECOND ? 'goal met' : 'goal missed'})`,
      );
    }
    for (const n of r.notes) console.log(`  ${r.name}: ${n}`);
  }
  console.log(`host: ${availableParallelism()} CPUs, shared; the scheduler, ${args.workers} agent worker thread(s) and this process share them; load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const r of results) if (r.profile) console.log(`\nscheduler CPU profile, ${r.name}, ${r.profile}`);
}

async function main(): Promise<void> {
  const modes = args.mode === 'both' ? (['pods', 'deployments'] as const) : [args.mode as Case['mode']];
  if (!modes.every((m) => m === 'pods' || m === 'deployments')) throw new Error(`--mode must be pods, deployments or both, got ${args.mode}`);
  const statuses = args.status === 'both' ? [false, true] : args.status === 'on' ? [true] : args.status === 'off' ? [false] : undefined;
  if (!statuses) throw new Error(`--status must be on, off or both, got ${args.status}`);
  if (!['on', 'renew', 'off'].includes(args.rotate!)) throw new Error(`--rotate must be on, renew or off, got ${args.rotate}`);
  const poolSize = Number(args['key-pool']);
  if (!Number.isInteger(poolSize) || poolSize < 2) throw new Error(`--key-pool must be a whole number ≥ 2, got ${args['key-pool']}`);
  console.log(
    `scheduler benchmark: ${args.nodes} simulated nodes (${args.cpu} cpu, ${args.memory}, ${args['max-pods']} pods each), ${args.pods} pods; ` +
      `load average (1 min) ${loadavg()[0]!.toFixed(2)}`,
  );
  const t = performance.now();
  const keys = await keyPool(poolSize);
  console.log(`${poolSize} RSA 2048 keys for the simulated nodes made in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const results: CaseResult[] = [];
  if (args['join-only']) {
    try {
      results.push(await runCase({ mode: 'pods', status: false }, keys));
    } catch (err) {
      console.log(`join: failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    if (results.length > 0) report(results);
    return;
  }
  for (const status of statuses) {
    for (const mode of modes) {
      const c = { mode, status };
      try {
        results.push(await runCase(c, keys));
      } catch (err) {
        console.log(`${caseName(c)}: failed: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }
  if (results.length > 0) report(results);
}

if (isMainThread) {
  // Exit (running the 'exit' handlers that stop the scheduler) instead of dying by the signal.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
} else {
  void agentWorker(workerData as AgentWorkerData);
}
