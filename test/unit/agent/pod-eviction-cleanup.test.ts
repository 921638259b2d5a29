/**
 * An evicted pod keeps its Failed/Evicted status but not its content: the worker removes its
 * sandbox and containers, its volumes (emptyDir) and its logs, so a disk eviction frees space (as
 * the kubelet's GC of evicted pods), and reports that through isCleanedUp. Real PodWorker, fake CRI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodWorker, type WorkerContext } from '../../../src/agent/pod-worker.js';
import type { Pod, PodStatus } from '../../../src/api/index.js';
import { pod } from './qos-fixtures.js';

test('an evicted pod\'s sandbox, containers, volumes and logs are removed; its status stays Failed/Evicted', async () => {
  const calls: string[] = [];
  let sandboxes = [{ id: 'sb1', state: 'SANDBOX_READY', metadata: { attempt: 0 }, labels: {} }];
  let last: PodStatus | undefined;
  let cleaned: () => void = () => undefined;
  const done = new Promise<void>((r) => (cleaned = r));
  const runtime = {
    ListPodSandbox: async () => ({ items: sandboxes }),
    PodSandboxStatus: async () => ({ status: { state: 'SANDBOX_READY', network: { ip: '10.1.0.5' }, created_at: '1' } }),
    ListContainers: async () => ({ containers: [] }),
    StopPodSandbox: async () => void calls.push('stop sandbox'),
    RemovePodSandbox: async () => {
      calls.push('remove sandbox');
      sandboxes = [];
    },
  };
  const ctx = {
    cri: { runtime, image: {} },
    nodeName: 'n1',
    hostIP: '10.0.0.1',
    logRoot: '/unused',
    // The pod's sync never gets far: the eviction comes first.
    cgroups: { ensurePod: async () => Promise.reject(new Error('not now')), removePod: async () => void calls.push('remove cgroup') },
    volumes: { cleanup: async () => void calls.push('remove volumes') },
    removePodLogs: async () => {
      calls.push('remove logs');
    },
    events: { record: () => undefined },
    backoff: { next: () => 0, delay: () => 0, forgetPrefix: () => undefined },
    startProbes: () => () => undefined,
    runHandler: async () => undefined,
    logger: { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined },
    onStatus: (_p: Pod, status: PodStatus) => {
      last = status;
      if (w?.isCleanedUp) cleaned();
    },
  } as unknown as WorkerContext;
  const p = pod('evicted-uid', [{}]);
  const w = new PodWorker(ctx, p);
  assert.equal(w.isCleanedUp, false);
  w.fail('Evicted', 'The node was low on resource: ephemeral-storage.');
  await done;
  assert.deepEqual(calls.filter((c) => c !== 'stop sandbox'), ['remove sandbox', 'remove volumes', 'remove logs', 'remove cgroup']);
  assert.equal(last?.phase, 'Failed');
  assert.equal(last?.reason, 'Evicted');
});
