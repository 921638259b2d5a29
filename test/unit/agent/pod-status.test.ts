import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePods } from '../../../src/api/index.js';
import { podStatus, type ObservedContainer, type PodObservation } from '../../../src/agent/pod-status.js';

const pod = (policy: string, init = false) =>
  decodePods(
    `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: ${policy}
${init ? '  initContainers: [{name: i, image: busybox:1}]\n' : ''}  containers:
  - {name: a, image: busybox:1}
  - {name: b, image: busybox:1, readinessProbe: {exec: {command: ["true"]}}}
`,
    'p.yaml',
  ).pods[0]!;

const c = (state: ObservedContainer['state'], exitCode = 0, restartCount = 0): ObservedContainer => ({
  id: `id-${Math.random()}`,
  state,
  exitCode,
  reason: '',
  message: '',
  startedAt: '1795000000000000000',
  finishedAt: state === 'exited' ? '1795000001000000000' : '0',
  restartCount,
  image: 'busybox:1',
  imageRef: 'sha256:x',
});

function obs(containers: Record<string, ObservedContainer>, extra: Partial<PodObservation> = {}): PodObservation {
  return {
    sandbox: { id: 's', ready: true, ip: '10.0.0.2', createdAt: '1' },
    containers: new Map(Object.entries(containers).map(([k, v]) => [k, { current: v }])),
    waiting: new Map(),
    ready: new Map(),
    started: new Map(),
    hostIP: '192.0.2.1',
    qosClass: 'BestEffort',
    ...extra,
  };
}

test('phase and conditions follow the kubelet', () => {
  // nothing started yet
  assert.equal(podStatus(pod('Always'), obs({})).phase, 'Pending');
  // init container still running
  assert.equal(podStatus(pod('Always', true), obs({ i: c('running') })).phase, 'Pending');
  // all running, readiness of b not yet known -> Running but not Ready
  let s = podStatus(pod('Always'), obs({ a: c('running'), b: c('running') }, { ready: new Map([['b', false]]) }));
  assert.equal(s.phase, 'Running');
  assert.equal(s.conditions.find((x) => x.type === 'Ready')!.status, 'False');
  s = podStatus(pod('Always'), obs({ a: c('running'), b: c('running') }, { ready: new Map([['b', true]]) }));
  assert.equal(s.conditions.find((x) => x.type === 'Ready')!.status, 'True');
  assert.equal(s.podIP, '10.0.0.2');
  // a crash-looping container counts as stopped: the pod stays Running
  s = podStatus(pod('Always'), obs({ a: c('exited', 1, 3), b: c('running') }, { waiting: new Map([['a', { reason: 'CrashLoopBackOff', message: 'back-off 40s' }]]) }));
  assert.equal(s.phase, 'Running');
  const a = s.containerStatuses[0]!;
  assert.equal(a.state.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(a.lastState.terminated?.exitCode, 1);
  assert.equal(a.restartCount, 3);
  // run-to-completion
  assert.equal(podStatus(pod('Never'), obs({ a: c('exited', 0), b: c('exited', 0) })).phase, 'Succeeded');
  assert.equal(podStatus(pod('Never'), obs({ a: c('exited', 0), b: c('exited', 2) })).phase, 'Failed');
  assert.equal(podStatus(pod('OnFailure'), obs({ a: c('exited', 0), b: c('exited', 0) })).phase, 'Succeeded');
  // an init container that failed under Never fails the pod
  assert.equal(podStatus(pod('Never', true), obs({ i: c('exited', 1) })).phase, 'Failed');
  // rejected or evicted
  s = podStatus(pod('Always'), obs({}, { failed: { reason: 'Evicted', message: 'low on memory' } }));
  assert.deepEqual([s.phase, s.reason], ['Failed', 'Evicted']);
});
