import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus, totalmem } from 'node:os';
import { admit, computeAllocatable, parseResourceList, readNodeCapacity } from '../../../src/agent/admission/index.js';
import { parseEvictionHard } from '../../../src/agent/eviction/index.js';
import { isKind } from '../../../src/lib/index.js';
import { bestEffort, GI, MI, pod } from './qos-fixtures.js';

test('parseResourceList reads --system-reserved style lists', () => {
  assert.deepEqual(parseResourceList('cpu=500m,memory=512Mi'), { cpuMillis: 500, memoryBytes: 512 * MI });
  assert.deepEqual(parseResourceList(' memory = 1Gi '), { cpuMillis: 0, memoryBytes: GI });
  assert.deepEqual(parseResourceList(''), { cpuMillis: 0, memoryBytes: 0 });
  assert.deepEqual(parseResourceList('cpu=1,cpu=2'), { cpuMillis: 2000, memoryBytes: 0 }, 'the last entry wins');
  for (const bad of ['gpu=1', 'cpu', '=1', 'cpu=abc', 'memory=-1']) {
    assert.throws(() => parseResourceList(bad), (e) => isKind(e, 'InvalidArgument'), bad);
  }
});

test('readNodeCapacity counts logical CPUs and total memory, 110 pods by default', async () => {
  const si = { cpu: async () => ({ cores: 2 }), mem: async () => ({ total: 4 * GI }) };
  assert.deepEqual(await readNodeCapacity({ si }), { cpuMillis: 2000, memoryBytes: 4 * GI, pods: 110 });
  assert.deepEqual(await readNodeCapacity({ si, maxPods: 20 }), { cpuMillis: 2000, memoryBytes: 4 * GI, pods: 20 });
});

test("readNodeCapacity without a source reads the host's logical CPUs and MemTotal", async () => {
  const cap = await readNodeCapacity();
  assert.equal(cap.cpuMillis, cpus().length * 1000);
  assert.equal(cap.memoryBytes, totalmem());
});

test('computeAllocatable subtracts reservations and the hard memory eviction threshold', () => {
  const capacity = { cpuMillis: 2000, memoryBytes: 4 * GI, pods: 110 };
  const systemReserved = parseResourceList('cpu=500m,memory=512Mi');
  assert.deepEqual(computeAllocatable({ capacity, systemReserved, evictionHard: parseEvictionHard('memory.available<100Mi') }), {
    cpuMillis: 1500,
    memoryBytes: 4 * GI - 612 * MI,
    pods: 110,
  });
  assert.deepEqual(computeAllocatable({ capacity, evictionHard: parseEvictionHard('memory.available<10%,nodefs.available<10%') }), {
    cpuMillis: 2000,
    memoryBytes: 4 * GI - Math.floor(0.1 * 4 * GI),
    pods: 110,
  });
  assert.deepEqual(computeAllocatable({ capacity, systemReserved: { cpuMillis: 3000, memoryBytes: 8 * GI } }), { cpuMillis: 0, memoryBytes: 0, pods: 110 });
});

const alloc = { cpuMillis: 1000, memoryBytes: GI, pods: 3 };
const cpuPod = (uid: string, cpu: string) => pod(uid, [{ requests: { cpu } }]);
const memPod = (uid: string, memory: string) => pod(uid, [{ requests: { memory } }]);

test('admit: rejects a pod whose cpu does not fit, with the kubelet reason and message', () => {
  assert.deepEqual(admit(cpuPod('new', '600m'), [cpuPod('a', '800m')], alloc), {
    admit: false,
    reason: 'OutOfcpu',
    message: "Node didn't have enough resource: cpu, requested: 600, used: 800, capacity: 1000",
  });
  assert.deepEqual(admit(cpuPod('new', '200m'), [cpuPod('a', '800m')], alloc), { admit: true }, 'an exact fit is admitted');
});

test('admit: rejects on memory, and reports cpu first when both are short', () => {
  assert.deepEqual(admit(memPod('new', '600Mi'), [memPod('a', '512Mi')], alloc), {
    admit: false,
    reason: 'OutOfmemory',
    message: `Node didn't have enough resource: memory, requested: ${600 * MI}, used: ${512 * MI}, capacity: ${GI}`,
  });
  const both = pod('new', [{ requests: { cpu: '2', memory: '2Gi' } }]);
  const r = admit(both, [], alloc);
  assert.equal(r.admit ? undefined : r.reason, 'OutOfcpu');
});

test('admit: the pod limit counts every pod, BestEffort ones included', () => {
  const active = [bestEffort('a'), bestEffort('b'), bestEffort('c')];
  assert.deepEqual(admit(bestEffort('d'), active, alloc), {
    admit: false,
    reason: 'OutOfpods',
    message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
  });
  assert.deepEqual(admit(bestEffort('d'), active.slice(0, 2), alloc), { admit: true });
});

test('admit: a BestEffort pod needs only a slot; the pod itself in activePods is not counted twice', () => {
  assert.deepEqual(admit(bestEffort('d'), [cpuPod('a', '1')], alloc), { admit: true });
  const p = cpuPod('same', '600m');
  assert.deepEqual(admit(p, [p, cpuPod('a', '400m')], alloc), { admit: true });
});

test('admit: an unreadable quantity is an UnexpectedAdmissionError', () => {
  const r = admit(cpuPod('new', 'lots'), [], alloc);
  assert.equal(r.admit ? undefined : r.reason, 'UnexpectedAdmissionError');
  assert.match(r.admit ? '' : r.message, /lots/);
});
