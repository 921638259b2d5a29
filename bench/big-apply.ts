/**
 * A 1 MiB manifest against a running scheduler: how long the event loop is held, and how long a
 * concurrent small request waits. One `corelet scheduler` (startScheduler, in this process, its own
 * temp dir) gets POST /api/v1/apply of --mib MiB of YAML (Deployments with replicas --replicas, about
 * 600 bytes each: 1 MiB is ~1,700 objects) while a client sends small requests one after the other
 * (GET /api/v1/namespaces/kube-system/pods, an empty list, keep-alive) from the moment the apply is
 * sent until the control loop has settled
 * (no store write for 2 s). Measured: the apply's answer time, the longest event-loop stall
 * (perf_hooks monitorEventLoopDelay, max), and the GETs' max and p99 latency. Client and scheduler
 * share this process, so a stall holds both: the GET latency is what an agent's heartbeat would see.
 *
 *   node dist/bench/big-apply.js [--mib 1] [--replicas 0] [--runs 2] [--impl DIST]
 *
 * --impl runs another build's scheduler (e.g. /work/main/dist of an older commit) for a before/after.
 */
import { Agent, request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { silentLogger } from '../src/lib/index.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '0' },
    runs: { type: 'string', default: '2' },
    impl: { type: 'string' },
  },
});
const BYTES = Number(values.mib) * 1024 * 1024;

/** About `bytes` of YAML: Deployments of a few hundred bytes each. */
function manifest(bytes: number): string {
  const docs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: big-${i}, namespace: default, labels: {app: big-${i}, tier: bench}}
spec:
  replicas: ${values.replicas}
  selector: {matchLabels: {app: big-${i}}}
  template:
    metadata: {labels: {app: big-${i}, tier: bench}}
    spec:
      containers:
      - name: c
        image: 127.0.0.1:5000/e2e-test-images/busybox:1.29-2
        command: [sh, -c, "sleep 3600"]
        env: [{name: A, value: "${'x'.repeat(40)}"}, {name: B, value: "${'y'.repeat(40)}"}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
`;
    docs.push(doc);
    size += doc.length;
  }
  return docs.join('');
}

interface SchedulerModule {
  initScheduler(o: { dir: string; hosts: string[]; port: number; configFile?: string }): Promise<{ caCert: string; adminToken: string }>;
  startScheduler(o: { dir: string; address: string; port: number; logger: typeof silentLogger }): Promise<{ server: { url: string }; close(): Promise<void> }>;
}

function send(agent: Agent, url: string, token: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(`${url}${path}`, { method, agent, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/yaml' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A GET; a keep-alive connection the server closed meanwhile (its 5 s idle timeout, hit when the
 * loop stalls) is retried once on a new one, the time counting.
 */
async function get(agent: Agent, url: string, token: string, path: string): Promise<{ status: number; text: string }> {
  let r: { status: number; text: string };
  try {
    r = await send(agent, url, token, 'GET', path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    r = await send(agent, url, token, 'GET', path);
  }
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
  return r;
}

async function run(mod: SchedulerModule, text: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-bench-bigapply-'));
  try {
    const init = await mod.initScheduler({ dir, hosts: ['127.0.0.1'], port: 0, configFile: join(dir, 'config') });
    const sched = await mod.startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silentLogger });
    const url = sched.server.url;
    const applyAgent = new Agent({ keepAlive: true, ca: init.caCert });
    const getAgent = new Agent({ keepAlive: true, ca: init.caCert, maxSockets: 1 });
    await get(getAgent, url, init.adminToken, '/api/v1/namespaces/kube-system/pods'); // connection up
    await new Promise((r) => setTimeout(r, 1500)); // the first passes done
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const latencies: number[] = [];
    let applyMs = 0;
    let objects = 0;
    let lastVersion = '';
    let quietSince = performance.now();
    let applied = false;
    const start = performance.now();
    const apply = send(applyAgent, url, init.adminToken, 'POST', '/api/v1/apply', text).then((r) => {
      applyMs = performance.now() - start;
      if (r.status !== 200) throw new Error(`apply: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
      objects = (JSON.parse(r.text) as { items: unknown[] }).items.length;
      applied = true;
    });
    // Small requests back to back until the apply is answered and the store has been quiet for 2 s.
    while (!applied || performance.now() - quietSince < 2000) {
      // An empty list (kube-system has no pods here) is cheap and carries the store's resourceVersion:
      // the store is quiet when it stops moving.
      const t = performance.now();
      const list = await get(getAgent, url, init.adminToken, '/api/v1/namespaces/kube-system/pods');
      latencies.push(performance.now() - t);
      const version = (JSON.parse(list.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      if (version !== lastVersion) {
        lastVersion = version;
        quietSince = performance.now();
      }
      if (performance.now() - start > 300_000) throw new Error('no quiet store within 5 minutes');
    }
    await apply;
    delay.disable();
    const settledMs = quietSince - start;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
    applyAgent.destroy();
    getAgent.destroy();
    await sched.close();
    return [
      new Date().toISOString().slice(11, 19),
      load,
      String(objects),
      `${(applyMs / 1000).toFixed(2)} s`,
      `${(settledMs / 1000).toFixed(1)} s`,
      `${(delay.max / 1e6).toFixed(0)} ms`,
      `${latencies.at(-1)!.toFixed(0)} ms / ${p99.toFixed(0)} ms (${latencies.length})`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const base = values.impl ? pathToFileURL(resolve(values.impl, 'src/scheduler/index.js')).href : '../src/scheduler/index.js';
  const mod = (await import(base)) as SchedulerModule;
  const text = manifest(BYTES);
  console.log(`${(Buffer.byteLength(text) / 1024 / 1024).toFixed(2)} MiB manifest, replicas ${values.replicas}, scheduler from ${values.impl ?? 'this build'}`);
  console.log('| run (UTC) | load avg (1/5/15 min) | objects | apply answered | store quiet after | longest event-loop stall | concurrent GET max / p99 (count) |');
  console.log('|---|---|---|---|---|---|---|');
  for (let i = 0; i < Number(values.runs); i++) console.log(`| ${(await run(mod, text)).join(' | ')} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
