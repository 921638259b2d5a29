/**
 * Issue 10: a scheduler restarted after a 60 s outage judged every node by the heartbeat times
 * stored before it stopped, marked them all NotReady in its first pass and deleted their pods 10 s
 * later. It must give every node a full grace period from its own start.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScheduler } from '../../../src/scheduler/daemon.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { reconcileDeployment } from '../../../src/scheduler/controllers/index.js';
import type { Node, Pod } from '../../../src/api/index.js';
import { createDeployment, pods, runAll } from './controllers-helpers.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child() { return silent; } };

it('a scheduler restarted after a 60 s outage marks no node NotReady in its first passes and deletes no pod', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sched-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stopped = new Date(Date.now() - 60_000);
  const store = Store.open(join(dir, 'state.db'));
  for (const name of ['node-a', 'node-b']) {
    store.create('Node', {
      metadata: { name },
      spec: {},
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: stopped.toISOString(), lastTransitionTime: stopped.toISOString() }],
      },
    });
  }
  createDeployment(store, 'web', { replicas: 4 });
  reconcileDeployment(store, 'default', 'web', stopped);
  pods(store).forEach((p, i) => store.bindPod('default', p.metadata.name, i % 2 ? 'node-b' : 'node-a'));
  runAll(store, 'node-a');
  const before = pods(store).map((p) => p.metadata.uid).sort();
  // A pod to place: once it is bound (or refused), the scheduler's first pass has run.
  createDeployment(store, 'probe', { replicas: 1 });
  reconcileDeployment(store, 'default', 'probe', stopped);
  const probeName = pods(store).find((p) => p.metadata.labels.app === 'probe')!.metadata.name;
  store.close();

  const s = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silent, podEvictionTimeoutMs: 1000 });
  t.after(() => s.close());
  const view = Store.open(join(dir, 'state.db'));
  t.after(() => view.close());
  for (;;) {
    const probe = view.get<Pod>('Pod', 'default', probeName)!;
    if (probe.spec.nodeName) break;
    const refused = view.listEvents({ kind: 'Pod', name: probeName }).find((e) => e.reason === 'FailedScheduling');
    assert.equal(refused, undefined, `the first pass found no Ready node: ${refused?.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const name of ['node-a', 'node-b']) {
    const ready = view.get<Node>('Node', '', name)!.status.conditions!.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True', `${name} is still Ready`);
  }
  const after = view.list<Pod>('Pod', { namespace: 'default' }).filter((p) => p.metadata.name !== probeName);
  assert.deepEqual(after.map((p) => p.metadata.uid).sort(), before);
  assert.ok(after.every((p) => p.metadata.deletionTimestamp === undefined));
});
