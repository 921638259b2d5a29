import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness } from '../../../src/cli/readiness.js';

const deployment = (status: any, generation = 2) => ({ kind: 'Deployment', metadata: { name: 'web', generation }, spec: { replicas: 3 }, status });

test('a deployment is rolled out once every replica is updated and available, as kubectl rollout status says', () => {
  const cases: [any, boolean, RegExp][] = [
    [deployment(undefined), false, /waiting for the controller/],
    [deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }), false, /waiting for the controller/],
    [deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }), false, /1 of 3 new replicas updated/],
    [deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }), false, /1 old replicas pending termination/],
    [deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }), false, /2 of 3 updated replicas available/],
    [deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }), true, /successfully rolled out/],
  ];
  for (const [d, done, message] of cases) {
    const r = readiness(d);
    assert.equal(r.done, done, JSON.stringify(d.status));
    assert.match(r.message, message);
  }
  const stuck = readiness(deployment({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' }] }));
  assert.equal(stuck.failed, true);
});

test('pods are ready when Running and Ready; jobs when complete; failures end the wait', () => {
  const pod = (status: any, nodeName?: string) => ({ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }], nodeName }, status });
  assert.match(readiness(pod(undefined)).message, /not scheduled yet/);
  assert.equal(readiness(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }, 'n1')).done, false);
  assert.equal(readiness(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, 'n1')).done, true);
  assert.equal(readiness(pod({ phase: 'Failed', message: 'OOM' }, 'n1')).failed, true);
  const job = (conditions: any[]) => ({ kind: 'Job', metadata: { name: 'j' }, spec: { completions: 2 }, status: { succeeded: 1, active: 1, conditions } });
  assert.match(readiness(job([])).message, /1 of 2 completions, 1 running/);
  assert.equal(readiness(job([{ type: 'Complete', status: 'True' }])).done, true);
  const failed = readiness(job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'too many failures' }]));
  assert.equal(failed.failed, true);
  assert.match(failed.message, /BackoffLimitExceeded: too many failures/);
});
