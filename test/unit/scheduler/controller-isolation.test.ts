import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLifecycleController, reconcileAll, reconcileDeployment } from '../../../src/scheduler/controllers/index.js';
import { runControlPass } from '../../../src/scheduler/control-pass.js';
import type { Node } from '../../../src/api/index.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment, pods, runAll } from './controllers-helpers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

/** The store, except that `method` throws (as an unforeseen bug would) when `match` says so. */
function failingOn(store: Store, method: 'get' | 'mutate', match: (args: unknown[]) => boolean): Store {
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === method) {
        return (...args: unknown[]) => {
          if (match(args)) throw new Error('injected failure');
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

function addNode(store: Store, name: string, beat: Date): void {
  store.create('Node', {
    metadata: { name },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: beat.toISOString(), lastTransitionTime: t0.toISOString() }] },
  });
}

function heartbeat(store: Store, name: string, now: Date): void {
  store.mutate<Node>('Node', '', name, (n) => {
    n.status.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: now.toISOString(), lastTransitionTime: now.toISOString() }];
  });
}

test('one Deployment whose reconcile throws is recorded by name; the others are still reconciled', (t) => {
  const { store } = tempStore(t);
  for (const name of ['alpha', 'bad', 'zulu']) createDeployment(store, name, { replicas: 1 });
  const broken = failingOn(store, 'get', (a) => a[0] === 'Deployment' && a[2] === 'bad');
  const r = reconcileAll(broken, t0);
  assert.deepEqual(r.failures, [{ object: 'Deployment default/bad', error: 'injected failure' }]);
  const apps = pods(store).map((p) => p.metadata.labels?.app).sort();
  assert.deepEqual(apps, ['alpha', 'zulu'], 'the Deployments before and after the broken one got their pods');
});

test('one pod whose eviction throws does not stop the node lifecycle: other pods are evicted, other nodes marked NotReady', (t) => {
  const { store } = tempStore(t);
  addNode(store, 'a', t0);
  addNode(store, 'b', t0);
  addNode(store, 'c', t0);
  createDeployment(store, 'web', { replicas: 2 });
  reconcileDeployment(store, 'default', 'web', t0);
  runAll(store, 'a');
  const [bad, good] = pods(store).map((p) => p.metadata.name);
  const broken = failingOn(store, 'mutate', (a) => a[0] === 'Pod' && a[2] === bad);
  const c = new NodeLifecycleController(t0, { podEvictionTimeoutMs: 1000 });
  // a goes silent at once; b keeps beating until +60 s; c all along.
  let failures: string[] = [];
  for (let s = 0; s <= 120; s++) {
    if (s <= 60) heartbeat(store, 'b', at(s));
    heartbeat(store, 'c', at(s));
    const r = c.pass(broken, at(s));
    failures.push(...r.failures.map((f) => f.object));
  }
  failures = [...new Set(failures)];
  assert.deepEqual(failures, [`Pod default/${bad} (eviction from node a)`]);
  const stored = (name: string) => store.get<Node>('Node', '', name)!.status.conditions?.find((x) => x.type === 'Ready')?.reason;
  assert.equal(stored('b'), 'NodeStatusUnknown', 'a node lost later is still marked NotReady');
  assert.equal(store.get<{ metadata: { deletionTimestamp?: string } }>('Pod', 'default', good)!.metadata.deletionTimestamp !== undefined, true, 'the other pod on the lost node is evicted');
});

test('a control pass schedules and reconciles even when the node lifecycle pass throws, and logs failed objects by name', async () => {
  const calls: string[] = [];
  const logged: string[] = [];
  await runControlPass({
    periodic: true,
    lifecycle: () => {
      throw new RangeError('Invalid time value');
    },
    reconcile: async () => {
      calls.push('reconcile');
      return { failures: [{ object: 'Deployment default/bad', error: 'boom' }] };
    },
    schedule: () => calls.push('schedule'),
    stopped: () => false,
    logger: { error: (_o: unknown, msg: string) => logged.push(msg) } as never,
  });
  assert.deepEqual(calls, ['reconcile', 'schedule']);
  assert.deepEqual(logged, ['node lifecycle pass failed', 'controllers: Deployment default/bad failed (retried next pass)']);
});
