/**
 * RBAC benchmark: API requests per second of the list `corelet get pods -n bench` makes
 * (GET /api/v1/namespaces/bench/pods, 1,000 pods, about 1 MB of JSON per answer) with authorization
 * RBAC vs AlwaysAllow, in the same run: one store, two scheduler servers on it (one per mode), the
 * caller an ordinary user bound to `view` by one of --bindings RoleBindings in the namespace (the
 * others bind other users), so every request walks the bindings. Rounds alternate the modes
 * (off, on, off, on...) so that drift on a shared machine falls on both; each round runs
 * --seconds with --concurrency requests in flight over keep-alive connections.
 *
 *   node dist/bench/rbac.js [--pods 1000] [--bindings 10] [--seconds 5] [--rounds 4] [--concurrency 4]
 *
 * Prints requests/s per mode (the median of its rounds) and RBAC's cost in percent; the goal is at
 * most 5% slower. Client and servers share this process (the client only counts bytes).
 */
import { Agent, request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createCa, createServerCert, newTokenRecord, withAuthenticated, type TokenRecord } from '../src/scheduler/auth/index.js';
import { authorize, policyCacheOf, requestAttributes } from '../src/scheduler/rbac/index.js';
import { startSchedulerServer, type SchedulerServer } from '../src/scheduler/server/index.js';
import { Store } from '../src/scheduler/store/index.js';
import { median, table } from './stats.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '1000' },
    bindings: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
  },
});
const PODS = Number(values.pods);
const BINDINGS = Number(values.bindings);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const NS = 'bench';
const PATH = `/api/v1/namespaces/${NS}/pods`;

async function round(server: SchedulerServer, ca: string, token: string): Promise<{ rps: number; bytes: number }> {
  const agent = new Agent({ keepAlive: true, ca, maxSockets: CONCURRENCY });
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  let bytes = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}${PATH}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await one();
        done++;
      }
    }),
  );
  agent.destroy();
  return { rps: done / ((performance.now() - start) / 1000), bytes: bytes / Math.max(1, done) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-bench-rbac-'));
  const store = Store.open(join(dir, 'state.db'));
  const servers: SchedulerServer[] = [];
  try {
    const ca = await createCa();
    const pki = { ca, server: await createServerCert(ca) };
    store.transaction(() => {
      for (let i = 0; i < PODS; i++) {
        store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: NS, labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } as never);
      }
      // The reader's binding comes last: RBAC walks all the others first.
      for (let i = 0; i < BINDINGS; i++) {
        const user = i === BINDINGS - 1 ? 'reader' : `user-${i}`;
        store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `b-${i}`, namespace: NS }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: i % 2 ? 'edit' : 'view' } } as never);
      }
    });
    const records = new Map<string, TokenRecord>();
    const { token, record } = newTokenRecord('api', { user: 'reader', groups: ['readers'] });
    records.set(record.id, record);
    for (const mode of ['AlwaysAllow', 'RBAC'] as const) {
      servers.push(await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: (id) => records.get(id), authorizationMode: mode }));
    }
    const [off, on] = servers;
    await round(off, ca.certPem, token); // warm-up of both paths
    await round(on, ca.certPem, token);
    const results: { off: number[]; on: number[]; bytes: number } = { off: [], on: [], bytes: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      const a = await round(off, ca.certPem, token);
      const b = await round(on, ca.certPem, token);
      results.off.push(a.rps);
      results.on.push(b.rps);
      results.bytes = b.bytes;
    }
    const mOff = median(results.off);
    const mOn = median(results.on);
    const cost = ((mOff - mOn) / mOff) * 100;
    console.log(`GET ${PATH}: ${PODS} pods (${(results.bytes / 1e6).toFixed(2)} MB per answer), ${BINDINGS} RoleBindings, ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${SECONDS}s per mode`);
    console.log(
      table([
        ['mode', 'requests/s (median)', 'rounds'],
        ['AlwaysAllow', mOff.toFixed(1), results.off.map((x) => x.toFixed(1)).join(' ')],
        ['RBAC', mOn.toFixed(1), results.on.map((x) => x.toFixed(1)).join(' ')],
      ]),
    );
    // The decision alone, which load moves far less than whole requests: µs per authorize() call.
    const policy = policyCacheOf(store).get();
    const user = withAuthenticated({ username: 'reader', groups: ['readers'] });
    const attrs = requestAttributes('GET', PATH, false);
    const N = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) if (!authorize(policy, user, attrs).allowed) throw new Error('the reader should be allowed');
    const perDecisionUs = ((performance.now() - t0) * 1000) / N;
    const perRequestUs = 1e6 / mOff;
    console.log(`RBAC cost: ${cost.toFixed(1)}% by requests/s (goal: at most 5%); the decision itself: ${perDecisionUs.toFixed(2)} µs = ${((perDecisionUs / perRequestUs) * 100).toFixed(3)}% of a request; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const s of servers) await s.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
