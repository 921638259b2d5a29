import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerOomScoreAdj,
  containerResources,
  milliCpuToQuota,
  milliCpuToShares,
  podResourceConfig,
  sharesToWeight,
} from '../../../src/agent/qos/index.js';
import { bestEffort, burstable, GI, guaranteed, MI, pod } from './qos-fixtures.js';

test('milliCpuToShares: 1024 shares a CPU, clamped to [2, 262144]', () => {
  assert.equal(milliCpuToShares(0), 2);
  assert.equal(milliCpuToShares(1), 2);
  assert.equal(milliCpuToShares(500), 512);
  assert.equal(milliCpuToShares(1000), 1024);
  assert.equal(milliCpuToShares(300_000), 262144);
});

test('milliCpuToQuota: millis × period / 1000, at least 1000 µs, 0 for no limit', () => {
  assert.equal(milliCpuToQuota(0), 0);
  assert.equal(milliCpuToQuota(500), 50000);
  assert.equal(milliCpuToQuota(2500), 250000);
  assert.equal(milliCpuToQuota(1), 1000);
});

test('sharesToWeight maps [2, 262144] onto cgroup v2 [1, 10000]', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
});

test('podResourceConfig: Guaranteed gets shares, quota and memory limit', () => {
  assert.deepEqual(podResourceConfig(guaranteed()), { cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimitBytes: 128 * MI });
});

test('podResourceConfig: Burstable with every limit set gets them summed over containers', () => {
  const p = pod('b2', [
    { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    { requests: { cpu: '100m' }, limits: { cpu: '500m', memory: '128Mi' } },
  ]);
  assert.deepEqual(podResourceConfig(p), { cpuShares: 358, cpuQuota: 150000, cpuPeriod: 100000, memoryLimitBytes: 384 * MI });
  assert.deepEqual(podResourceConfig(burstable()), { cpuShares: 256, cpuQuota: 100000, cpuPeriod: 100000, memoryLimitBytes: 256 * MI });
});

test('podResourceConfig: Burstable gets no quota / memory limit when one container lacks it', () => {
  const full = { requests: { cpu: '1', memory: '64Mi' }, limits: { cpu: '1', memory: '64Mi' } };
  const noCpuLimit = pod('b3', [{ requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '64Mi' } }, full]);
  assert.deepEqual(podResourceConfig(noCpuLimit), { cpuShares: 1280, memoryLimitBytes: 128 * MI });
  const noMemLimit = pod('b4', [{ requests: { cpu: '250m' }, limits: { cpu: '500m' } }, full]);
  assert.deepEqual(podResourceConfig(noMemLimit), { cpuShares: 1280, cpuQuota: 150000, cpuPeriod: 100000 });
});

test('podResourceConfig: BestEffort gets the minimum shares only', () => {
  assert.deepEqual(podResourceConfig(bestEffort()), { cpuShares: 2 });
});

test('podResourceConfig: a larger init container raises the pod figures', () => {
  const p = pod('g2', [{ requests: { cpu: '500m', memory: '64Mi' }, limits: { cpu: '500m', memory: '64Mi' } }], {
    init: [{ requests: { cpu: '2', memory: '512Mi' }, limits: { cpu: '2', memory: '512Mi' } }],
  });
  assert.deepEqual(podResourceConfig(p), { cpuShares: 2048, cpuQuota: 200000, cpuPeriod: 100000, memoryLimitBytes: 512 * MI });
});

test('containerResources: shares from request, quota and memory from limits', () => {
  const p = burstable();
  assert.deepEqual(containerResources(p.spec.containers[0]!, p, 4 * GI), {
    cpu_shares: 256,
    cpu_quota: 100000,
    cpu_period: 100000,
    memory_limit_in_bytes: 256 * MI,
    oom_score_adj: 985,
  });
});

test('containerResources: shares from the limit when only a limit is set; minimum 2 and no limits when nothing is set', () => {
  const limitOnly = pod('b5', [{ limits: { cpu: '1500m' } }]);
  assert.deepEqual(containerResources(limitOnly.spec.containers[0]!, limitOnly, GI), {
    cpu_shares: 1536,
    cpu_quota: 150000,
    cpu_period: 100000,
    memory_limit_in_bytes: 0,
    oom_score_adj: 999,
  });
  const be = bestEffort();
  assert.deepEqual(containerResources(be.spec.containers[0]!, be, GI), {
    cpu_shares: 2,
    cpu_quota: 0,
    cpu_period: 100000,
    memory_limit_in_bytes: 0,
    oom_score_adj: 1000,
  });
});

test('containerOomScoreAdj: Guaranteed -997, BestEffort 1000, Burstable by memory request within [3, 999]', () => {
  const g = guaranteed();
  assert.equal(containerOomScoreAdj(g, g.spec.containers[0]!, GI), -997);
  const be = bestEffort();
  assert.equal(containerOomScoreAdj(be, be.spec.containers[0]!, GI), 1000);
  const b = burstable(); // requests 64Mi of 1Gi: 1000 - 62 (62.5 truncated)
  assert.equal(containerOomScoreAdj(b, b.spec.containers[0]!, GI), 938);
  const huge = pod('b6', [{ requests: { memory: '2Gi' } }]);
  assert.equal(containerOomScoreAdj(huge, huge.spec.containers[0]!, GI), 3);
  const critical = pod('b7', [{ requests: { memory: '1Mi' } }], { priority: 2000001000 });
  assert.equal(containerOomScoreAdj(critical, critical.spec.containers[0]!, GI), -997);
});
