import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodePods, podLimits, podQosClass, podRequests, type Pod } from '../../../src/api/index.js';

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };

/** A decoded (so API-defaulted) pod whose app and init containers have the given resources. */
function pod(app: Res[], init: Res[] = []): Pod {
  const container = (prefix: string) => (resources: Res, i: number) => ({ name: `${prefix}${i}`, image: 'busybox', resources });
  const text = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: app.map(container('app')), initContainers: init.map(container('init')) },
  });
  return decodePods(text, 'test').pods[0];
}

const both = (cpu: string, memory: string): Res => ({ limits: { cpu, memory } });

describe('podQosClass', () => {
  const cases: [string, Pod, string][] = [
    ['no resources at all', pod([{}, {}]), 'BestEffort'],
    ['only ephemeral-storage (not a QoS resource)', pod([{ limits: { 'ephemeral-storage': '1Gi' } }]), 'BestEffort'],
    ['zero requests and limits count as none', pod([{ requests: { cpu: '0' }, limits: { memory: '0' } }]), 'BestEffort'],
    ['limits only (requests default to them)', pod([both('500m', '128Mi')]), 'Guaranteed'],
    ['equal requests and limits, written both ways', pod([{ requests: { cpu: '0.5', memory: '128Mi' }, limits: { cpu: '500m', memory: '134217728' } }]), 'Guaranteed'],
    ['every container guaranteed, init too', pod([both('1', '1Gi'), both('100m', '64Mi')], [both('2', '2Gi')]), 'Guaranteed'],
    ['requests only', pod([{ requests: { cpu: '100m', memory: '64Mi' } }]), 'Burstable'],
    ['requests below limits', pod([{ requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '64Mi' } }]), 'Burstable'],
    ['cpu limit only', pod([{ limits: { cpu: '1' } }]), 'Burstable'],
    ['one container without limits', pod([both('1', '1Gi'), {}]), 'Burstable'],
    ['an init container without limits', pod([both('1', '1Gi')], [{}]), 'Burstable'],
    ['only an init container has requests', pod([{}], [{ requests: { memory: '1Mi' } }]), 'Burstable'],
  ];
  for (const [name, p, want] of cases) it(`${name} → ${want}`, () => assert.equal(podQosClass(p), want));
});

describe('podRequests', () => {
  it('sums app containers and takes the larger of that and the largest init container', () => {
    const p = pod(
      [{ requests: { cpu: '100m', memory: '64Mi' } }, { requests: { cpu: '200m', memory: '64Mi' } }],
      [{ requests: { cpu: '500m', memory: '32Mi' } }, { requests: { cpu: '250m', memory: '100Mi' } }],
    );
    assert.deepEqual(podRequests(p), { cpuMillis: 500, memoryBytes: 128 * 2 ** 20 });
  });
  it('counts missing requests as zero and limits as requests', () => {
    assert.deepEqual(podRequests(pod([{}])), { cpuMillis: 0, memoryBytes: 0 });
    assert.deepEqual(podRequests(pod([both('1.5', '1.5Gi'), { requests: { cpu: '0.1' } }])), { cpuMillis: 1600, memoryBytes: 1_610_612_736 });
  });
  it('sums exactly and rounds up once, as resource.Quantity does', () => {
    // 0.5m + 0.5m = 1m; rounding each container first would give 2m.
    assert.deepEqual(podRequests(pod([{ requests: { cpu: '0.0005' } }, { requests: { cpu: '500u' } }])), { cpuMillis: 1, memoryBytes: 0 });
    assert.deepEqual(podRequests(pod([{ requests: { memory: '0.5' } }])), { cpuMillis: 0, memoryBytes: 1 });
  });
});

describe('podLimits', () => {
  it('sums app limits, raised to the largest init container limit', () => {
    assert.deepEqual(podLimits(pod([both('1', '1Gi'), both('500m', '512Mi')], [both('2', '1Gi')])), { cpuMillis: 2000, memoryBytes: 1.5 * 2 ** 30 });
  });
  it('is unlimited for a resource any app container leaves unlimited', () => {
    assert.deepEqual(podLimits(pod([both('1', '1Gi'), { limits: { memory: '1Gi' } }])), { memoryBytes: 2 ** 31 });
    assert.deepEqual(podLimits(pod([{ limits: { cpu: '1', memory: '0' } }])), { cpuMillis: 1000 });
    assert.deepEqual(podLimits(pod([{}])), {});
  });
  it('is unlimited for a resource an init container leaves unlimited, as the kubelet decides', () => {
    assert.deepEqual(podLimits(pod([both('1', '1Gi')], [{ limits: { cpu: '1' } }])), { cpuMillis: 1000 });
  });
});
