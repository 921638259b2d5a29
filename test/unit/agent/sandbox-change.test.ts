import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxChangeActions } from '../../../src/agent/sandbox-change.js';
import type { ObservedContainer } from '../../../src/agent/pod-status.js';
import type { Pod } from '../../../src/api/index.js';

const pod = (restartPolicy: string, names = ['a', 'b']) => ({ spec: { restartPolicy, containers: names.map((name) => ({ name })), initContainers: [] } }) as unknown as Pod;
const seen = (entries: [string, Partial<ObservedContainer>][]) =>
  new Map(entries.map(([n, o]) => [n, { current: { id: n, state: 'running', exitCode: 0, reason: '', message: '', startedAt: '1', finishedAt: '0', restartCount: 0, image: '', imageRef: '', ...o } as ObservedContainer }]));

test('Always: a new sandbox, every container again with its restart count + 1', () => {
  const r = sandboxChangeActions(pod('Always'), seen([['a', { restartCount: 2 }], ['b', { state: 'exited', exitCode: 137 }]]));
  assert.equal(r.createSandbox, true);
  assert.deepEqual([...r.skip], []);
  assert.deepEqual(Object.fromEntries(r.restartCounts), { a: 3, b: 1 });
});

test('OnFailure: containers that succeeded are not started again; all succeeded: no new sandbox', () => {
  const some = sandboxChangeActions(pod('OnFailure'), seen([['a', { state: 'exited', exitCode: 0 }], ['b', { state: 'exited', exitCode: 137 }]]));
  assert.equal(some.createSandbox, true);
  assert.deepEqual([...some.skip], ['a']);
  const all = sandboxChangeActions(pod('OnFailure'), seen([['a', { state: 'exited', exitCode: 0 }], ['b', { state: 'exited', exitCode: 0 }]]));
  assert.equal(all.createSandbox, false);
});

test('Never: once a container ran the pod keeps what it has; a sandbox that died before any container ran is replaced', () => {
  assert.equal(sandboxChangeActions(pod('Never'), seen([['a', { state: 'exited', exitCode: 137 }]])).createSandbox, false);
  assert.equal(sandboxChangeActions(pod('Never'), seen([])).createSandbox, true);
});
