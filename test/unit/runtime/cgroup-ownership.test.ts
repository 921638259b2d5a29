import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupChain, ownedCgroups, removeOwnedCgroups } from '../../../src/runtime/sandbox/cgroup-ownership.js';
import { defaultOciRuntime } from '../../../src/runtime/index.js';
import type { SandboxRecord } from '../../../src/runtime/store/index.js';

const existing = (dirs: string[]) => async (p: string) => dirs.includes(p);
const rec = (cgroupParent: string, ownedCgroups?: string[], ownsCgroupParent = false) => ({ cgroupParent, ownedCgroups, ownsCgroupParent }) as SandboxRecord;

test('cgroupChain lists the folders of a path outermost first', () => {
  assert.deepEqual(cgroupChain('/a/b/pod-x'), ['/a', '/a/b', '/a/b/pod-x']);
  assert.deepEqual(cgroupChain('a//b/'), ['a', 'a/b']);
});

test('a sandbox owns the folders of its parent that are missing, not those that exist', async () => {
  assert.deepEqual(await ownedCgroups('/a/b/pod-x', existing([]), []), ['/a', '/a/b', '/a/b/pod-x']);
  assert.deepEqual(await ownedCgroups('/kubepods/burstable/pod1', existing(['/kubepods', '/kubepods/burstable', '/kubepods/burstable/pod1']), []), []);
  assert.deepEqual(await ownedCgroups('/a/b/pod-y', existing(['/a']), []), ['/a/b', '/a/b/pod-y']);
});

test('a folder another live sandbox owns is shared, so the last pod under it removes it', async () => {
  const first = rec('/a/b/pod-x', ['/a', '/a/b', '/a/b/pod-x']);
  assert.deepEqual(await ownedCgroups('/a/b/pod-y', existing(['/a', '/a/b']), [first]), ['/a', '/a/b', '/a/b/pod-y']);
  // A record written before ownedCgroups existed owns its whole parent, or nothing.
  assert.deepEqual(await ownedCgroups('/a/b/pod-y', existing(['/a', '/a/b']), [rec('/a/b', undefined, true)]), ['/a/b', '/a/b/pod-y']);
});

test('removal goes deepest first and stops at a folder still in use or not owned', async () => {
  const removed: string[] = [];
  const busyAt = (busy: string) => async (p: string) => (p === busy ? { busy: [p] } : (removed.push(p), { busy: [] }));
  await removeOwnedCgroups(rec('/a/b/pod-x', ['/a', '/a/b', '/a/b/pod-x']), busyAt('/a/b'));
  assert.deepEqual(removed, ['/a/b/pod-x']);
  removed.length = 0;
  await removeOwnedCgroups(rec('/kubepods/pod1/x', ['/kubepods/pod1/x']), busyAt('none'));
  assert.deepEqual(removed, ['/kubepods/pod1/x']);
  removed.length = 0;
  await removeOwnedCgroups(rec('/agent/pod', []), busyAt('none'));
  assert.deepEqual(removed, []);
});

test('the default OCI runtime is crun on a cgroup v2 host with crun installed, runc elsewhere', () => {
  assert.equal(defaultOciRuntime({ cgroupMode: 'v2', crunPath: '/usr/bin/crun' }).name, 'crun');
  assert.equal(defaultOciRuntime({ cgroupMode: 'v2', crunPath: undefined }).name, 'runc');
  assert.equal(defaultOciRuntime({ cgroupMode: 'hybrid', crunPath: '/usr/bin/crun' }).name, 'runc');
  assert.match(defaultOciRuntime({ cgroupMode: 'v1', crunPath: '/usr/bin/crun' }).chosenBy, /cgroup v1/);
  // An install upgraded on a v2 host keeps runc while runc's containers are in its state folder.
  assert.equal(defaultOciRuntime({ cgroupMode: 'v2', crunPath: '/usr/bin/crun', runcStateInUse: true }).name, 'runc');
});
