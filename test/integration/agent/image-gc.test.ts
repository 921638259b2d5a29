/**
 * Image garbage collection against the real runtime's image store: the image filesystem is made to
 * look 90% full (a statfs seam; the disk here is large and is never filled), so GC removes the
 * images no container uses, least recently used first, and never one a container (even a stopped
 * one) uses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient, type CriClient } from '../../../src/cri/index.js';
import { ImageGcManager } from '../../../src/agent/disk/index.js';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

const IMAGE_1 = '127.0.0.1:5000/k8s-staging-cri-tools/test-image-1:latest';
const IMAGE_2 = '127.0.0.1:5000/k8s-staging-cri-tools/test-image-2:latest';
const GB = 1e9;

let runtime: RuntimeHarness;
let cri: CriClient;
let dir: string;

before(async () => {
  runtime = await RuntimeHarness.start();
  cri = createCriClient(`unix://${runtime.socket}`);
  dir = await mkdtemp(join(tmpdir(), 'corelet-imagegc-it-'));
  for (const image of [BUSYBOX, IMAGE_1, IMAGE_2]) await runtime.crictl(['pull', image]);
});
after(async () => {
  cri?.close();
  await runtime?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tags = async () => ((await runtime.crictlJson<{ images: { repoTags: string[] }[] }>(['images'])).images.flatMap((i) => i.repoTags));

test('above the high threshold, unused images are removed LRU first down to the low threshold; images in use stay', async () => {
  // busybox runs in a container; IMAGE_2 is used by a container that has exited (still in use, as for the kubelet).
  const { pod, podConfig } = await runtime.runPodWith('gc-pod', [{ name: 'runs', command: ['sleep', '3600'] }]);
  const cfg = await runtime.containerConfig('exited', ['true'], { image: { image: IMAGE_2 } });
  const exited = (await runtime.crictl(['create', pod, cfg, podConfig])).stdout.trim();
  await runtime.crictl(['start', exited], { reject: false }); // created or exited: in use either way

  let t = Date.now();
  let used = 90; // percent of the image filesystem
  const gc = new ImageGcManager({
    cri,
    policy: { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 120_000 },
    stateFile: join(dir, 'image-gc.json'),
    imageFs: async () => ({ capacityBytes: 100 * GB, availableBytes: ((100 - used) * GB) }),
    now: () => t,
  });
  // First seen now: too young to remove.
  assert.deepEqual((await gc.garbageCollect()).removed, []);
  t += 3 * 60_000;
  const before = await tags();
  assert.ok(before.includes(IMAGE_1) && before.includes(IMAGE_2) && before.includes(BUSYBOX), before.join(', '));
  const r = await gc.garbageCollect();
  assert.equal(r.removed.length, 1, `only the unused image goes: ${JSON.stringify(r)}`);
  const after = await tags();
  assert.ok(!after.includes(IMAGE_1), `${IMAGE_1} removed: ${after.join(', ')}`);
  assert.ok(after.includes(BUSYBOX), 'the running container\'s image stays');
  assert.ok(after.includes(IMAGE_2), 'the exited container\'s image stays');
  used = 80;
  assert.deepEqual((await gc.garbageCollect()).removed, [], 'below the high threshold nothing goes');
  await runtime.crictl(['rmp', '-f', pod]);
});
