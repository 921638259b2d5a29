import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../../src/api/index.js';
import { DiskEvictionManager, ephemeralStorageRequest, parseEvictionHard, type DiskEvictionOptions } from '../../../src/agent/eviction/index.js';
import { POD_LOG_FOLDER_MARKER, PodDirs, uidOfLogFolder } from '../../../src/agent/disk/index.js';
import { bestEffort, GI, MI, pod } from './qos-fixtures.js';

function fakes(opts: { nodeAvail: number; imageAvail?: number; reclaimFrees?: number; usage: Record<string, number>; pods: Pod[]; thresholds?: string }) {
  const evicted: { uid: string; message: string }[] = [];
  const reclaimed: string[] = [];
  let node = opts.nodeAvail;
  let image = opts.imageAvail ?? 50 * GI;
  let t = 0;
  const options: DiskEvictionOptions = {
    thresholds: parseEvictionHard(opts.thresholds ?? 'memory.available<100Mi,nodefs.available<10%,imagefs.available<15%'),
    nodeFs: async () => ({ capacityBytes: 100 * GI, availableBytes: node }),
    imageFs: async () => ({ capacityBytes: 100 * GI, availableBytes: image }),
    reclaim: async (signal) => {
      reclaimed.push(signal);
      node += opts.reclaimFrees ?? 0;
      image += opts.reclaimFrees ?? 0;
    },
    podUsage: async (p) => opts.usage[p.metadata.uid],
    evict: async (p, message) => {
      evicted.push({ uid: p.metadata.uid, message });
    },
    getActivePods: () => opts.pods,
    now: () => t,
  };
  return {
    evicted,
    reclaimed,
    options,
    advance: (ms: number) => (t += ms),
    usage: (uid: string) => opts.usage[uid] ?? 0,
    free: (bytes: number) => void (node += bytes),
  };
}

test('ephemeralStorageRequest sums the app containers (init: the largest)', () => {
  const p = pod('p', [{ requests: { 'ephemeral-storage': '1Gi' } }, { requests: { 'ephemeral-storage': '512Mi' } }], { init: [{ requests: { 'ephemeral-storage': '2Gi' } }] });
  assert.equal(ephemeralStorageRequest(p), 2 * GI);
  assert.equal(ephemeralStorageRequest(bestEffort('be')), 0);
});

test('disk eviction: nothing while nodefs and imagefs are above their thresholds', async () => {
  const f = fakes({ nodeAvail: 11 * GI, imageAvail: 16 * GI, usage: {}, pods: [bestEffort('be')] });
  const m = new DiskEvictionManager(f.options);
  assert.equal(await m.check(), undefined);
  assert.deepEqual(f.reclaimed, []);
  assert.equal(m.diskPressure, false);
});

test('disk eviction: unused images are removed first; no pod is evicted when that is enough', async () => {
  const f = fakes({ nodeAvail: 9 * GI, reclaimFrees: 5 * GI, usage: { be: GI }, pods: [bestEffort('be')] });
  const m = new DiskEvictionManager(f.options);
  assert.equal(await m.check(), undefined);
  assert.deepEqual(f.reclaimed, ['nodefs.available']);
  assert.deepEqual(f.evicted, []);
  assert.equal(m.diskPressure, true, 'DiskPressure holds for the transition period');
  f.advance(5 * 60_000);
  assert.equal(m.diskPressure, false);
});

test('disk eviction: still under pressure, the pod using most above its ephemeral-storage request goes, with the kubelet message', async () => {
  const small = pod('small', [{}]);
  const big = pod('big', [{}]);
  const covered = pod('covered', [{ requests: { 'ephemeral-storage': '20Gi' } }]);
  const f = fakes({ nodeAvail: 5 * GI, imageAvail: 10 * GI, usage: { small: MI, big: 3 * GI, covered: 10 * GI }, pods: [small, covered, big] });
  const m = new DiskEvictionManager(f.options);
  assert.equal((await m.check())?.metadata.uid, 'big');
  assert.deepEqual(f.reclaimed.sort(), ['imagefs.available', 'nodefs.available']);
  assert.match(f.evicted[0]!.message, /^The node was low on resource: ephemeral-storage\. Threshold quantity: 10Gi, available: 5Gi\.$/);
});

test('disk eviction: static pods and system-critical pods are never evicted for disk pressure', async () => {
  const stat = pod('static', [{}]);
  const critical = pod('critical', [{}], { priority: 2_000_000_000 });
  const f = fakes({ nodeAvail: 5 * GI, usage: { static: 9 * GI, critical: 8 * GI }, pods: [stat, critical] });
  const m = new DiskEvictionManager({ ...f.options, isStaticPod: (p) => p.metadata.uid === 'static' });
  assert.equal(await m.check(), undefined);
  assert.deepEqual(f.evicted, []);
});

test('disk eviction: after evicting, it waits for the pod\'s cleanup and measures again before evicting another', async () => {
  const a = pod('a', [{}]);
  const b = pod('b', [{}]);
  const f = fakes({ nodeAvail: 5 * GI, usage: { a: 9 * GI, b: 3 * GI }, pods: [a, b] });
  let polls = 0;
  let slept = 0;
  const m = new DiskEvictionManager({
    ...f.options,
    // The evicted pod's containers, emptyDir and logs go after a few looks; that frees its usage.
    podCleanedUp: (p) => {
      if (++polls < 3) return false;
      f.free(f.usage(p.metadata.uid));
      return true;
    },
    sleep: async (ms) => void (slept += ms),
  });
  assert.equal((await m.check())?.metadata.uid, 'a');
  assert.equal(polls, 3, 'check returned only once the evicted pod was cleaned up');
  assert.ok(slept > 0);
  assert.equal(await m.check(), undefined, 'the space came back: b stays');
  assert.deepEqual(f.evicted.map((e) => e.uid), ['a']);
});

test('disk eviction: a cleanup that never finishes is waited for at most the timeout', async () => {
  const f = fakes({ nodeAvail: 5 * GI, usage: { a: 9 * GI }, pods: [pod('a', [{}])] });
  let slept = 0;
  const m = new DiskEvictionManager({ ...f.options, podCleanedUp: () => false, podCleanupTimeoutMs: 30_000, sleep: async (ms) => void (slept += ms) });
  assert.equal((await m.check())?.metadata.uid, 'a');
  assert.ok(slept >= 30_000 && slept < 32_000, `waited ${slept} ms`);
});

test('disk eviction: thresholds without disk signals leave it idle', async () => {
  const f = fakes({ nodeAvail: 0, usage: {}, pods: [bestEffort('be')], thresholds: 'memory.available<100Mi' });
  const m = new DiskEvictionManager(f.options);
  assert.equal(await m.check(), undefined);
  assert.deepEqual(f.reclaimed, []);
});

test('uidOfLogFolder reads <namespace>_<name>_<uid>', () => {
  assert.equal(uidOfLogFolder('default_web-0_0b1e0c8a-1'), '0b1e0c8a-1');
  assert.equal(uidOfLogFolder('lost+found'), undefined);
});

test('PodDirs.sweep removes the log and pod folders of pods neither known nor in the runtime, at most once per interval', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-poddirs-'));
  try {
    const logRoot = join(dir, 'logs');
    const root = join(dir, 'root');
    for (const uid of ['known', 'running', 'gone']) {
      await mkdir(join(logRoot, `default_p-${uid}_${uid}`, 'c'), { recursive: true });
      await writeFile(join(logRoot, `default_p-${uid}_${uid}`, 'c', '0.log'), 'x\n');
      await writeFile(join(logRoot, `default_p-${uid}_${uid}`, POD_LOG_FOLDER_MARKER), '');
      await mkdir(join(root, 'pods', uid, 'volumes', 'v'), { recursive: true });
    }
    await mkdir(join(root, 'persistent', 'default', 'data-web-0'), { recursive: true });
    const removed: string[] = [];
    let t = 0;
    const dirs = new PodDirs({
      logRoot,
      root,
      removeVolumes: async (uid) => {
        removed.push(uid);
        await rm(join(root, 'pods', uid), { recursive: true });
      },
      now: () => t,
    });
    const isKnown = (uid: string) => uid === 'known';
    assert.deepEqual(await dirs.sweep(isKnown, new Set(['running'])), ['gone']);
    assert.deepEqual((await readdir(logRoot)).sort(), ['default_p-known_known', 'default_p-running_running']);
    assert.deepEqual(removed, ['gone']);
    assert.ok(existsSync(join(root, 'persistent', 'default', 'data-web-0')), 'persistent volumes stay');
    assert.deepEqual(await dirs.sweep(isKnown, new Set()), [], 'not again within the interval');
    t += 10_000;
    assert.deepEqual(await dirs.sweep(isKnown, new Set()), ['running']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('PodDirs.sweep removes only log folders the agent marked as its own, never through a symlink', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-poddirs-'));
  try {
    const logRoot = join(dir, 'logs');
    const root = join(dir, 'root');
    const outside = join(dir, 'outside');
    // Ours (marked), a kubelet's/containerd's pod (same naming, no marker), and a symlink named like
    // a pod that leads outside the log dir to a marked folder.
    await mkdir(join(logRoot, 'default_ours_u1', 'c'), { recursive: true });
    await writeFile(join(logRoot, 'default_ours_u1', POD_LOG_FOLDER_MARKER), '');
    await mkdir(join(logRoot, 'kube-system_coredns_u2', 'coredns'), { recursive: true });
    await writeFile(join(logRoot, 'kube-system_coredns_u2', 'coredns', '0.log'), 'theirs\n');
    await mkdir(join(outside, 'precious'), { recursive: true });
    await writeFile(join(outside, POD_LOG_FOLDER_MARKER), '');
    await symlink(outside, join(logRoot, 'default_link_u3'));
    // A pod the agent knows whose folder predates the marker: it gets marked, so it is swept once gone.
    await mkdir(join(logRoot, 'default_old_u4', 'c'), { recursive: true });
    const dirs = new PodDirs({ logRoot, root, removeVolumes: async () => {} });
    assert.deepEqual(await dirs.sweep((uid) => uid === 'u4', new Set(), true), ['u1']);
    assert.deepEqual((await readdir(logRoot)).sort(), ['default_link_u3', 'default_old_u4', 'kube-system_coredns_u2']);
    assert.ok(existsSync(join(logRoot, 'kube-system_coredns_u2', 'coredns', '0.log')), 'other software\'s logs stay');
    assert.ok(existsSync(join(outside, 'precious')), 'nothing behind a symlink is removed');
    assert.deepEqual(await dirs.sweep(() => false, new Set(), true), ['u4'], 'a known pod\'s folder was marked, so it goes once the pod is gone');
    assert.deepEqual((await readdir(logRoot)).sort(), ['default_link_u3', 'kube-system_coredns_u2']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
