import { it } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveGracePeriod, FORCE_DELETE_WARNING } from '../../../src/cli/delete.js';
import { podStatus } from '../../../src/cli/printers.js';

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
