import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerStats, sampledContainers } from '../../../src/runtime/container/container-stats.js';
import type { CgroupStats } from '../../../src/host/index.js';
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

test('a stats read that was in flight when the container was removed puts no sample back', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  // The stats handler's cgroup read is held until the container has been removed, as a slow read
  // racing RemoveContainer (whose own reads are not held).
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holdNext = false;
  deps.cgroups.stats = async () => {
    if (holdNext) {
      holdNext = false;
      await held;
    }
    return { timestampMs: Date.now(), cpuUsageNanos: 5_000_000 } as unknown as CgroupStats;
  };
  const statsDeps = { cgroups: deps.cgroups, store: deps.store, images: { fsInfo: async () => ({ mountpoint: root, usedBytes: 0, inodesUsed: 0, timestamp: 0 }) } };
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const id = await verbs.createContainer(sandboxId, fakeContainerConfig('c'), pod);
  await verbs.startContainer(id);
  const rec = deps.store.container(id);
  holdNext = true;
  const reading = containerStats(statsDeps, rec);
  await verbs.removeContainer(id);
  release();
  await reading;
  assert.ok(!sampledContainers().includes(id), 'the late sample of a removed container is dropped');
});
