/**
 * The endpoints controller at 1,000 Services x 10 pods (10 nodes) on a store in a temp directory
 * (--dir, default /var/tmp: a real disk). Measures:
 *   - the index: its load from the store (what the scheduler does at start);
 *   - a full pass over every Service from the index: the first (writes every slice) and an idle one
 *     (writes nothing: the periodic resync);
 *   - one Service reconciled from the store without the index (a label-selector list of the
 *     namespace's pods: what every Service cost per pass before the index);
 *   - the EndpointsController as the scheduler runs it: from a pod's Ready condition being written
 *     (a status report) to its Service's slice being written (p50/p99 over --flips), and from a node's
 *     Ready flip to the last of its 1,000 Services' slices being written.
 *
 *   node dist/bench/endpoints-pass.js [--services 1000] [--pods 10] [--flips 200] [--dir /var/tmp]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Store } from '../src/scheduler/store/index.js';
import { decodeObjects, type Node, type Pod } from '../src/api/index.js';
import { desiredEndpointSlices, EndpointsController, EndpointsIndex, reconcileServiceEndpoints } from '../src/scheduler/controllers/index.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10' },
    flips: { type: 'string', default: '200' },
    dir: { type: 'string', default: '/var/tmp' },
  },
});
const SERVICES = Number(values.services);
const PODS = Number(values.pods);
const FLIPS = Number(values.flips);
const NODES = 10;

function seed(store: Store): void {
  store.transaction(() => {
    store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } as never);
    for (let i = 0; i < NODES; i++) {
      store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}` }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as never);
    }
    for (let s = 0; s < SERVICES; s++) {
      const [svc] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: 'default' }, spec: { clusterIP: `10.96.${s >> 8}.${s & 255}`, selector: { app: `app-${s}` }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }), 'bench').objects;
      store.create('Service', svc as never);
      for (let p = 0; p < PODS; p++) {
        store.create('Pod', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `app-${s}-${p}`, namespace: 'default', labels: { app: `app-${s}`, 'pod-template-hash': 'abc123' } },
          spec: { nodeName: `node-${p % NODES}`, containers: [{ name: 'c', image: 'registry.local/app:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
          status: { phase: 'Running', podIP: `10.${200 + (p % NODES)}.${s >> 8}.${s & 255}`, conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }] },
        } as never);
      }
    }
  });
}

function ms(x: number): string {
  return `${x.toFixed(1)} ms`;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function timed<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(values.dir!, 'corelet-bench-endpoints-'));
  const store = Store.open(join(dir, 'state.db'));
  try {
    seed(store);
    console.log(`${SERVICES} Services x ${PODS} pods on ${NODES} nodes`);
    const [index, loadMs] = timed(() => EndpointsIndex.load(store));
    console.log(`index load:                          ${ms(loadMs)}`);
    const full = () => {
      let writes = 0;
      store.transaction(() => {
        for (const s of index.work()) {
          const r = reconcileServiceEndpoints(store, s.namespace, s.name, index);
          writes += r.created + r.updated + r.deleted;
        }
      });
      return writes;
    };
    const [created, firstMs] = timed(full);
    console.log(`first full pass (index, ${created} writes):   ${ms(firstMs)}`);
    const fresh = EndpointsIndex.load(store); // the first pass's slices
    const idle = () => {
      let writes = 0;
      for (const s of fresh.work()) {
        const r = reconcileServiceEndpoints(store, s.namespace, s.name, fresh);
        writes += r.created + r.updated + r.deleted;
      }
      return writes;
    };
    const idles = [0, 1, 2].map(() => timed(idle));
    console.log(`idle full pass (index, ${idles[0]![0]} writes):     ${idles.map(([, t]) => ms(t)).join(', ')}`);
    const direct = [0, 1, 2, 3, 4].map((i) => timed(() => reconcileServiceEndpoints(store, 'default', `svc-${i}`))[1]);
    console.log(`one Service from the store (no index): ${ms(quantile(direct, 0.5))} (x ${SERVICES} Services = ${(quantile(direct, 0.5) * SERVICES / 1000).toFixed(0)} s a pass)`);

    const computeOnly = timed(() => {
      for (const s of fresh.work()) {
        const svc = fresh.service(s.namespace, s.name)!;
        desiredEndpointSlices(svc, fresh.selectedPods(s.namespace, svc.spec.selector!), fresh.nodeReady);
      }
    })[1];
    console.log(`  of which computing the slices:      ${ms(computeOnly)}`);
    // The controller as the scheduler runs it, on the real timers (kept alive: its timers are unref'd).
    const keepAlive = setInterval(() => {}, 1000);
    const controller = new EndpointsController(store);
    let waiting: { service: string; resolve: () => void } | undefined;
    let sliceWrites = 0;
    const unwatch = store.watch((c) => {
      if (c.kind !== 'EndpointSlice') return;
      sliceWrites++;
      const svc = (c.object as { metadata: { labels: Record<string, string> } }).metadata.labels['kubernetes.io/service-name'];
      if (waiting && svc === waiting.service) waiting.resolve();
    });
    controller.start();
    await new Promise<void>((resolve) => {
      const poll = () => (controller.pending() === 0 ? resolve() : setTimeout(poll, 20));
      poll();
    });
    const lat: number[] = [];
    for (let i = 0; i < FLIPS; i++) {
      const s = i % SERVICES;
      const done = new Promise<void>((resolve) => (waiting = { service: `svc-${s}`, resolve }));
      const t = performance.now();
      store.mutate<Pod>('Pod', 'default', `app-${s}-0`, (p) => {
        p.status!.conditions = [{ type: 'Ready', status: p.status!.conditions![0]!.status === 'True' ? 'False' : 'True' }];
      });
      await done;
      lat.push(performance.now() - t);
    }
    console.log(`pod Ready flip -> slice written (${FLIPS}): p50 ${ms(quantile(lat, 0.5))}, p99 ${ms(quantile(lat, 0.99))} (coalesce window 10 ms included)`);
    const before = sliceWrites;
    const t = performance.now();
    store.mutate<Node>('Node', '', 'node-1', (n) => {
      n.status.conditions = [{ type: 'Ready', status: 'False' }];
    });
    await new Promise<void>((resolve) => {
      const poll = () => (sliceWrites - before >= SERVICES ? resolve() : setImmediate(poll));
      poll();
    });
    console.log(`node NotReady -> all ${SERVICES} slices written: ${ms(performance.now() - t)}`);
    controller.close();
    unwatch();
    clearInterval(keepAlive);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
