import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeriodicTask } from '../../../src/lib/periodic.js';

test('PeriodicTask: runs at once, goes on after a failed run, and stop() waits for the run in flight', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  let release: (() => void) | undefined;
  const task = new PeriodicTask(
    async () => {
      runs++;
      if (runs === 1) throw new Error('first run fails');
      if (runs === 3) await new Promise<void>((r) => (release = r));
    },
    () => 1,
    (err) => errors.push(err),
  );
  task.start();
  task.start(); // a second start changes nothing
  while (runs < 3 || !release) await new Promise((r) => setTimeout(r, 2));
  let stopped = false;
  const stopping = task.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(stopped, false, 'stop() resolved while a run was still in flight');
  release();
  await stopping;
  const after = runs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(runs, after, 'ran again after stop()');
  assert.equal(runs, 3);
  assert.deepEqual(errors.map((e) => (e as Error).message), ['first run fails']);
});
