import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import {
  EvictionManager,
  formatBinaryQuantity,
  memoryEvictionMessage,
  parseEvictionHard,
  rankForMemoryEviction,
  type EvictionManagerOptions,
  type MemoryObservation,
} from '../../../src/agent/eviction/index.js';
import { isKind } from '../../../src/lib/index.js';
import { bestEffort, GI, guaranteed, MI, pod } from './qos-fixtures.js';

test('formatBinaryQuantity prints bytes as Kubernetes does', () => {
  assert.equal(formatBinaryQuantity(0), '0');
  assert.equal(formatBinaryQuantity(1000), '1000');
  assert.equal(formatBinaryQuantity(1024), '1Ki');
  assert.equal(formatBinaryQuantity(1536), '1536');
  assert.equal(formatBinaryQuantity(200 * MI), '200Mi');
  assert.equal(formatBinaryQuantity(3 * GI), '3Gi');
});

test('rankForMemoryEviction: no stats, then over-request pods by priority then excess, then the rest', () => {
  const g = guaranteed('g'); // request 128Mi
  const be = bestEffort('be');
  const big = pod('big', [{ requests: { memory: '100Mi' } }]);
  const low = pod('low', [{ requests: { memory: '100Mi' } }], { priority: -10 });
  const unknown = pod('unknown', [{ requests: { memory: '1Gi' } }]);
  const ranked = rankForMemoryEviction([
    { pod: g, usageBytes: 100 * MI, requestBytes: 128 * MI },
    { pod: be, usageBytes: 100 * MI, requestBytes: 0 },
    { pod: big, usageBytes: 400 * MI, requestBytes: 100 * MI },
    { pod: low, usageBytes: 150 * MI, requestBytes: 100 * MI },
    { pod: unknown, requestBytes: GI },
  ]);
  assert.deepEqual(
    ranked.map((r) => r.pod.metadata.uid),
    ['unknown', 'low', 'big', 'be', 'g'],
  );
});

test('memoryEvictionMessage names the containers using more than they requested', () => {
  const p = pod('p', [{ name: 'x' }, { name: 'y', requests: { memory: '64Mi' } }, { name: 'z', requests: { memory: '1Gi' } }]);
  assert.equal(
    memoryEvictionMessage({ pod: p, thresholdText: '100Mi', availableBytes: 80 * MI, containerUsage: { x: 200 * MI, y: 65 * MI, z: 10 * MI } }),
    'The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. ' +
      'Container x was using 200Mi, request is 0, has larger consumption of memory. ' +
      'Container y was using 65Mi, request is 64Mi, has larger consumption of memory.',
  );
  assert.equal(
    memoryEvictionMessage({ pod: p, thresholdText: '100Mi', availableBytes: 80 * MI }),
    'The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.',
  );
});

/** A manager over fakes: memory observations from a list, usage per uid, evictions recorded. */
function fakes(opts: { available: number; threshold?: string; usage: Record<string, number>; pods: Pod[] }) {
  const evicted: { uid: string; message: string }[] = [];
  const obs: MemoryObservation = { capacityBytes: 4 * GI, availableBytes: opts.available, workingSetBytes: 4 * GI - opts.available };
  const options: EvictionManagerOptions = {
    threshold: parseEvictionHard(opts.threshold ?? 'memory.available<100Mi')[0]!,
    readAvailable: async () => obs,
    podUsage: async (uid) => opts.usage[uid],
    containerUsage: async (uid) => (opts.usage[uid] === undefined ? undefined : { c0: opts.usage[uid]! }),
    evict: async (p, message) => {
      evicted.push({ uid: p.metadata.uid, message });
    },
    getActivePods: () => opts.pods,
  };
  return { evicted, options, obs };
}

test('check: nothing happens while memory.available is above the threshold', async () => {
  const f = fakes({ available: 200 * MI, usage: { be: 10 * MI }, pods: [bestEffort('be')] });
  const m = new EvictionManager(f.options);
  assert.equal(await m.check(), undefined);
  assert.deepEqual(f.evicted, []);
  assert.equal(m.memoryPressure, false);
  assert.equal(m.lastObservation?.availableBytes, 200 * MI);
});

test('check: below the threshold one pod is evicted, the first in rank, with the kubelet message', async () => {
  const pods = [guaranteed('g'), bestEffort('be'), pod('b', [{ requests: { memory: '64Mi' } }])];
  const f = fakes({ available: 80 * MI, usage: { g: 100 * MI, be: 200 * MI, b: 100 * MI }, pods });
  const m = new EvictionManager(f.options);
  const victim = await m.check();
  assert.equal(victim?.metadata.uid, 'be');
  assert.equal(m.memoryPressure, true);
  assert.deepEqual(f.evicted, [
    {
      uid: 'be',
      message:
        'The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container c0 was using 200Mi, request is 0, has larger consumption of memory.',
    },
  ]);
});

test('check: a percentage threshold is of capacity and printed in bytes', async () => {
  const f = fakes({ available: 300 * MI, threshold: 'memory.available<10%', usage: { be: MI }, pods: [bestEffort('be')] });
  const m = new EvictionManager(f.options);
  assert.equal((await m.check())?.metadata.uid, 'be');
  assert.match(f.evicted[0]!.message, new RegExp(`Threshold quantity: ${Math.floor(0.4 * GI)}, available: 300Mi\\.`));
});

test('check: critical pods are never evicted; the next in rank is', async () => {
  const critical = pod('crit', [{}], { priority: 2000000000 });
  const f = fakes({ available: 10 * MI, usage: { crit: GI, g: 200 * MI }, pods: [critical, guaranteed('g')] });
  const m = new EvictionManager(f.options);
  assert.equal((await m.check())?.metadata.uid, 'g');
  const only = fakes({ available: 10 * MI, usage: { crit: GI }, pods: [critical] });
  assert.equal(await new EvictionManager(only.options).check(), undefined);
  assert.deepEqual(only.evicted, []);
});

test('check: static pods are never evicted for memory (the kubelet counts them critical); the next in rank is', async () => {
  const f = fakes({ available: 10 * MI, usage: { stat: GI, g: 200 * MI }, pods: [pod('stat', [{}]), guaranteed('g')] });
  const isStaticPod = (p: Pod) => p.metadata.uid === 'stat';
  assert.equal((await new EvictionManager({ ...f.options, isStaticPod }).check())?.metadata.uid, 'g');
  const only = fakes({ available: 10 * MI, usage: { stat: GI }, pods: [pod('stat', [{}])] });
  assert.equal(await new EvictionManager({ ...only.options, isStaticPod }).check(), undefined);
  assert.deepEqual(only.evicted, []);
});

test('check: errors surface with their kind', async () => {
  const f = fakes({ available: 10 * MI, usage: { be: MI }, pods: [bestEffort('be')] });
  await assert.rejects(new EvictionManager({ ...f.options, getActivePods: undefined }).check(), (e) => isKind(e, 'FailedPrecondition'));
  const failing = new EvictionManager({
    ...f.options,
    evict: async () => {
      throw new Error('runtime down');
    },
  });
  await assert.rejects(failing.check(), /evicting pod default\/pod-be: runtime down/);
  assert.throws(
    () => new EvictionManager({ ...f.options, threshold: parseEvictionHard('nodefs.available<10%')[0]! }),
    (e) => isKind(e, 'InvalidArgument'),
  );
});

test('start checks at once and keeps going until stop', async () => {
  const f = fakes({ available: 10 * MI, usage: { be: MI }, pods: [] });
  let notify!: () => void;
  const evictedOnce = new Promise<void>((r) => (notify = r));
  const m = new EvictionManager({
    ...f.options,
    getActivePods: undefined,
    intervalMs: 3_600_000,
    evict: async (p, message) => {
      f.evicted.push({ uid: p.metadata.uid, message });
      notify();
    },
  });
  m.start(() => [bestEffort('be')]);
  await evictedOnce;
  await m.stop();
  assert.deepEqual(
    f.evicted.map((e) => e.uid),
    ['be'],
  );
});
