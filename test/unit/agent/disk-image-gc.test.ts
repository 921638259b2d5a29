import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToFree, checkImageGcPolicy, ImageGcManager, selectImagesToRemove } from '../../../src/agent/disk/index.js';
import { isKind } from '../../../src/lib/index.js';

const GB = 1e9;
const policy = { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 120_000 };

test('bytesToFree: nothing below the high threshold; at or above it, down to the low one', () => {
  assert.equal(bytesToFree({ capacityBytes: 100 * GB, availableBytes: 16 * GB }, policy), 0, '84% used');
  assert.equal(bytesToFree({ capacityBytes: 100 * GB, availableBytes: 15 * GB }, policy), 5 * GB, '85% used: free 5 GB to reach 80%');
  assert.equal(bytesToFree({ capacityBytes: 100 * GB, availableBytes: 2 * GB }, policy), 18 * GB);
  assert.equal(bytesToFree({ capacityBytes: 100 * GB, availableBytes: 0 }, { ...policy, highThresholdPercent: 100, lowThresholdPercent: 80 }), 0, '100 disables GC');
});

test('checkImageGcPolicy refuses what the kubelet refuses', () => {
  assert.doesNotThrow(() => checkImageGcPolicy(policy));
  assert.throws(() => checkImageGcPolicy({ ...policy, lowThresholdPercent: 90 }), (e) => isKind(e, 'InvalidArgument') && /--image-gc-low-threshold/.test((e as Error).message));
  assert.throws(() => checkImageGcPolicy({ ...policy, highThresholdPercent: 101 }), (e) => isKind(e, 'InvalidArgument'));
});

test('selectImagesToRemove: least recently used first, never in use, pinned or younger than the minimum age', () => {
  const now = 10_000_000;
  const img = (id: string, lastUsed: number, extra: Partial<{ inUse: boolean; pinned: boolean; firstDetected: number; size: number }> = {}) => ({
    id, size: extra.size ?? GB, firstDetected: extra.firstDetected ?? 0, lastUsed, inUse: extra.inUse ?? false, pinned: extra.pinned ?? false,
  });
  const images = [
    img('recent', 9_000_000),
    img('old', 1_000_000),
    img('never-used', 0, { firstDetected: 5 }),
    img('never-used-older', 0, { firstDetected: 1 }),
    img('busy', 0, { inUse: true }),
    img('pause', 0, { pinned: true }),
    img('young', 0, { firstDetected: now - 60_000 }),
  ];
  assert.deepEqual(selectImagesToRemove(images, 2.5 * GB, now, 120_000).map((i) => i.id), ['never-used-older', 'never-used', 'old']);
  assert.deepEqual(selectImagesToRemove(images, Infinity, now, 120_000).map((i) => i.id), ['never-used-older', 'never-used', 'old', 'recent']);
  assert.deepEqual(selectImagesToRemove(images, 0, now, 120_000), []);
});

/** A fake runtime: images, containers using some, RemoveImage recorded. */
function fakeCri(images: { id: string; size: number; pinned?: boolean; tags?: string[] }[], containers: { image: string }[]) {
  const removed: string[] = [];
  const cri = {
    image: {
      ListImages: async () => ({ images: images.filter((i) => !removed.includes(i.id)).map((i) => ({ id: i.id, size: String(i.size), repo_tags: i.tags ?? [], repo_digests: [], pinned: i.pinned ?? false })) }),
      RemoveImage: async (req: { image: { image: string } }) => {
        removed.push(req.image.image);
        return {};
      },
      ImageFsInfo: async () => ({ image_filesystems: [] }),
    },
    runtime: {
      ListContainers: async () => ({ containers: containers.map((c, i) => ({ id: `c${i}`, image: { image: c.image }, image_ref: c.image, image_id: '' })) }),
    },
  } as any;
  return { cri, removed };
}

test('ImageGcManager: above the high threshold, unused images go, LRU first, until the low threshold; the records survive a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-imagegc-'));
  try {
    let t = 1_000_000;
    const f = fakeCri(
      [
        { id: 'sha256:a', size: 3 * GB },
        { id: 'sha256:b', size: 3 * GB, tags: ['reg/b:1'] },
        { id: 'sha256:c', size: 3 * GB },
        { id: 'sha256:pause', size: GB, pinned: true },
      ],
      [],
    );
    let available = 50 * GB;
    const used: { image: string }[] = [];
    f.cri.runtime.ListContainers = async () => ({ containers: used.map((c, i) => ({ id: `c${i}`, image: { image: c.image }, image_ref: c.image, image_id: '' })) });
    const make = () => new ImageGcManager({ cri: f.cri, policy, stateFile: join(dir, 'image-gc.json'), imageFs: async () => ({ capacityBytes: 100 * GB, availableBytes: available }), now: () => t });
    let gc = make();
    // b is used by a container at t0, then a at t0+1 min; c never.
    used.push({ image: 'reg/b:1' });
    await gc.garbageCollect();
    t += 60_000;
    used.length = 0;
    used.push({ image: 'sha256:a' });
    await gc.garbageCollect();
    // A restarted agent: the last-used times come from its state file.
    gc = make();
    t += 5 * 60_000;
    used.length = 0;
    used.push({ image: 'sha256:a' }); // a is in use (even by a stopped container): never removed
    available = 14 * GB; // 86% used: free 6 GB to get to 80%
    const r = await gc.garbageCollect();
    assert.deepEqual(r.removed, ['sha256:c', 'sha256:b'], 'never used first, then least recently used; a in use, pause pinned');
    assert.equal(r.freedBytes, 6 * GB);
    assert.deepEqual(f.removed, ['sha256:c', 'sha256:b']);
    available = 16 * GB;
    assert.deepEqual((await gc.garbageCollect()).removed, [], 'below the high threshold nothing goes');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ImageGcManager: images first seen less than the minimum age ago stay', async () => {
  let t = 0;
  const f = fakeCri([{ id: 'sha256:new', size: GB }], []);
  const gc = new ImageGcManager({ cri: f.cri, policy, imageFs: async () => ({ capacityBytes: 100 * GB, availableBytes: GB }), now: () => t });
  assert.deepEqual((await gc.garbageCollect()).removed, []);
  t += 119_000;
  assert.deepEqual((await gc.deleteUnusedImages()).removed, []);
  t += 1_000;
  assert.deepEqual((await gc.deleteUnusedImages()).removed, ['sha256:new']);
});
