import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, isNetworkNamespace, removeNetns } from '../../../src/runtime/network/index.js';
import { isKind } from '../../../src/lib/index.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-netns-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a netns file is recognised by its filesystem type, other paths are not', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'plain'), '');
  assert.equal(await isNetworkNamespace('/proc/self/ns/net'), true);
  assert.equal(await isNetworkNamespace(join(dir, 'plain')), false);
  assert.equal(await isNetworkNamespace(join(dir, 'absent')), false);
  assert.equal(await isNetworkNamespace(''), false);
});

test('removing a netns that is gone, or a left-over unmounted file, succeeds', async (t) => {
  const dir = await tempDir(t);
  await removeNetns(join(dir, 'never-existed'));
  await removeNetns('');
  await writeFile(join(dir, 'leftover'), '');
  await removeNetns(join(dir, 'leftover'));
  await assert.rejects(stat(join(dir, 'leftover')), { code: 'ENOENT' });
});

test('removing something that is not a netns file is refused', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'sub'));
  await assert.rejects(removeNetns(join(dir, 'sub')), (e: unknown) => isKind(e, 'InvalidArgument'));
  assert.ok((await stat(join(dir, 'sub'))).isDirectory());
});

test('netns names are checked and an existing one is not reused', async (t) => {
  const dir = await tempDir(t);
  for (const bad of ['', '../x', 'a/b', '.hidden']) {
    await assert.rejects(createNetns(dir, bad), (e: unknown) => isKind(e, 'InvalidArgument'), bad);
  }
  await writeFile(join(dir, 'taken'), '');
  await assert.rejects(createNetns(dir, 'taken'), (e: unknown) => isKind(e, 'AlreadyExists'));
});
