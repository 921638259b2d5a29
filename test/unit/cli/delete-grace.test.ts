import { it } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveGracePeriod, FORCE_DELETE_WARNING } from '../../../src/cli/delete.js';
import { podStatus } from '../../../src/cli/printers.js';
import { describeObject } from '../../../src/cli/describe-format.js';

it('delete --grace-period / --force follow kubectl: 0 needs --force, --force alone means 0', () => {
  assert.equal(effectiveGracePeriod('-1', false), undefined, 'the pod\'s own terminationGracePeriodSeconds');
  assert.equal(effectiveGracePeriod('10', false), 10);
  assert.equal(effectiveGracePeriod('0', false), 1, 'no accidental immediate deletion');
  assert.equal(effectiveGracePeriod('0', true), 0);
  assert.equal(effectiveGracePeriod('-1', true), 0);
  assert.equal(effectiveGracePeriod('5', true), 5);
  assert.throws(() => effectiveGracePeriod('soon', false), /--grace-period must be a whole number of seconds/);
  assert.match(FORCE_DELETE_WARNING, /^Warning: Immediate deletion does not wait for confirmation/);
});

it('a pod being deleted shows Terminating', () => {
  const pod: any = {
    metadata: { name: 'p', namespace: 'default', deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 30 },
    spec: { containers: [{ name: 'c' }] },
    status: { phase: 'Running', conditions: [], containerStatuses: [], initContainerStatuses: [] },
  };
  assert.equal(podStatus(pod), 'Terminating');
});

it('describe shows how long a pod has been terminating and its grace period, as kubectl', () => {
  const pod: any = {
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 30, labels: {}, annotations: {} },
    spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Running', conditions: [], containerStatuses: [], initContainerStatuses: [] },
  };
  const text = describeObject(pod, { events: [] } as any, new Date('2026-01-01T00:00:45Z'));
  assert.match(text, /^Status: +Terminating \(lasts 45s\)$/m);
  assert.match(text, /^Termination Grace Period: +30s$/m);
  const live = describeObject({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: undefined, deletionGracePeriodSeconds: undefined } }, { events: [] } as any, new Date());
  assert.match(live, /^Status: +Running$/m);
  assert.doesNotMatch(live, /Termination Grace Period/);
});
