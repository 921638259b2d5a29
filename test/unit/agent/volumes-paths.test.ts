/**
 * Defence in depth behind the decoders: even a pod object that skipped validation cannot make the
 * VolumeManager create or remove anything outside its root through its uid, volume or claim names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeManager } from '../../../src/agent/volumes.js';
import type { Pod } from '../../../src/api/index.js';
import { isKind } from '../../../src/lib/index.js';
import type { MountPort } from '../../../src/host/index.js';

const noMounts: MountPort = {
  overlay: async () => assert.fail('no overlay expected'),
  tmpfs: async () => assert.fail('no tmpfs expected'),
  unmount: async () => undefined,
};

function pod(uid: string, volumes: Pod['spec']['volumes']): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid }, spec: { volumes, containers: [] } } as unknown as Pod;
}

test('uid, volume and claim names that are paths are refused before anything is made or removed', async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'corelet-vol-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  // ROOT/pods/../../../.. is top's parent... and with a deeper root, anything: keep a canary beside the root
  const root = join(top, 'a', 'b', 'root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(top, 'canary'), 'x');
  const vm = new VolumeManager(root, noMounts);
  const refused = (e: unknown) => isKind(e, 'InvalidArgument');

  await assert.rejects(vm.prepare(pod('../../../..', [{ name: 'd', emptyDir: {} }] as never)), refused);
  await assert.rejects(vm.cleanup('../../../..'), refused);
  await assert.rejects(vm.cleanup('..'), refused);
  await assert.rejects(vm.prepare(pod('ok', [{ name: '../../x', emptyDir: {} }] as never)), refused);
  await assert.rejects(vm.prepare(pod('ok', [{ name: 'd', persistentLocal: { claimName: '../../../escape' } }] as never)), refused);

  assert.ok(existsSync(join(top, 'canary')), 'the canary beside the root survives');
  assert.deepEqual(readdirSync(top).sort(), ['a', 'canary']);
  assert.equal(existsSync(join(top, 'escape')), false);

  // a good uid works and goes away completely
  const paths = await vm.prepare(pod('3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11', [{ name: 'd', emptyDir: {} }] as never));
  assert.equal(paths.d, join(root, 'pods', '3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11', 'volumes', 'd'));
  await vm.cleanup('3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11');
  assert.deepEqual(readdirSync(join(root, 'pods')), []);
});
