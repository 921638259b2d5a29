/**
 * The control loop's pass in slices: reconcileAllSliced does what reconcileAll does, but lets the
 * event loop run between objects, so a pass over many objects does not hold other work for all of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../../src/scheduler/store/index.js';
import { reconcileAll, reconcileAllSliced } from '../../../src/scheduler/controllers/index.js';
import { createDeployment, pods } from './controllers-helpers.js';

test('a sliced pass reconciles every Deployment and lets other callbacks run in between', async (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  for (let i = 0; i < 40; i++) createDeployment(store, `d${i}`, { replicas: 1 });
  const now = new Date();
  let ranDuringPass = 0;
  let passing = true;
  const tick = () => {
    if (!passing) return;
    ranDuringPass++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await reconcileAllSliced(store, now, { sliceMs: 0 });
  passing = false;
  assert.equal(result?.deployments, 40);
  assert.equal(pods(store).length, 40, 'one pod per Deployment');
  assert.ok(ranDuringPass >= 10, `other callbacks ran ${ranDuringPass} times during the pass`);
  // Nothing is left for a synchronous pass to do.
  const before = store.resourceVersion();
  reconcileAll(store, now);
  assert.equal(store.resourceVersion(), before);
});

test('a sliced pass stops at a pause when told to', async (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  for (let i = 0; i < 10; i++) createDeployment(store, `d${i}`, { replicas: 1 });
  let stop = false;
  setImmediate(() => (stop = true));
  const result = await reconcileAllSliced(store, new Date(), { sliceMs: 0, stopped: () => stop });
  assert.equal(result, undefined);
  assert.ok(pods(store).length < 10, `stopped before the end (${pods(store).length} pods made)`);
});
