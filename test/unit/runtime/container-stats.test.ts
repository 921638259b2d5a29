import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerStats, sampledContainers } from '../../../src/runtime/container/container-stats.js';
import type { CgroupStats } from '../../../src/runtime/cgroups/index.js';
import { cleanUpAfter, fakeContainerConfig, fakePodConfig, fakeRuntime } from './fakes.js';

const pod = fakePodConfig('p');

test('a removed container leaves no CPU or writable-layer sample behind', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  let cpu = 1_000_000;
  deps.cgroups.stats = async () => ({ timestampMs: Date.now(), cpuUsageNanos: (cpu += 1_000_000) } as unknown as CgroupStats);
  const statsDeps = { cgroups: deps.cgroups, store: deps.store, images: { fsInfo: async () => ({ mountpoint: root, usedBytes: 0, inodesUsed: 0, timestamp: 0 }) } };
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const id = await verbs.createContainer(sandboxId, fakeContainerConfig('c'), pod);
  await verbs.startContainer(id);
  const stats = await containerStats(statsDeps, deps.store.container(id));
  assert.equal(stats.attributes?.id, id);
  assert.ok(sampledContainers().includes(id), 'sampled while it exists');
  await verbs.removeContainer(id);
  assert.ok(!sampledContainers().includes(id), 'its samples went with it');
});
