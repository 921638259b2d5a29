import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../../src/runtime/store/index.js';
import { sandboxRecord } from '../../helpers/state-records.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { isKind } from '../../../src/lib/errors.js';

const sandbox = sandboxRecord;

test('records survive a reload, names are reserved, prefixes resolve', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'corelet-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new StateStore(root, silentLogger);
  await store.load();
  await store.add('sandboxes', sandbox('aaaa1111'));
  await store.add('sandboxes', sandbox('aaaa2222'));
  await assert.rejects(store.add('sandboxes', sandbox('bbbb', 'pod-aaaa1111')), (e) => isKind(e, 'AlreadyExists'));
  await store.updateSandbox('aaaa1111', (r) => {
    r.state = 'notready';
    r.ip = '10.0.0.2';
  });

  const again = new StateStore(root, silentLogger);
  await again.load();
  assert.equal(again.sandbox('aaaa1111').state, 'notready');
  assert.equal(again.sandbox('aaaa1111').ip, '10.0.0.2');
  assert.equal(again.sandbox('aaaa2').id, 'aaaa2222', 'unique prefix resolves');
  assert.equal(again.findSandbox('aaaa'), undefined, 'ambiguous prefix does not resolve');
  assert.throws(() => again.sandbox('zzz'), (e) => isKind(e, 'NotFound'));
  await assert.rejects(again.add('sandboxes', sandbox('cccc', 'pod-aaaa1111')), (e) => isKind(e, 'AlreadyExists'), 'reservation survives reload');

  await again.remove('sandboxes', 'aaaa1111');
  await again.add('sandboxes', sandbox('dddd', 'pod-aaaa1111'));
  assert.deepEqual((await readdir(join(root, 'sandboxes'))).sort(), ['aaaa2222', 'dddd']);
});

test('a failed update leaves the previous record in memory and on disk', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'corelet-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new StateStore(root, silentLogger);
  await store.load();
  await store.add('sandboxes', sandbox('s1'));
  // make the record folder unwritable for the temp file by replacing it with a file
  await rm(join(root, 'sandboxes', 's1'), { recursive: true });
  await writeFile(join(root, 'sandboxes', 's1'), 'not a folder');
  await assert.rejects(store.updateSandbox('s1', (r) => (r.state = 'notready')));
  assert.equal(store.sandbox('s1').state, 'ready');
});

test('unreadable records are skipped, not fatal', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'corelet-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'sandboxes', 'broken'), { recursive: true });
  await writeFile(join(root, 'sandboxes', 'broken', 'sandbox.json'), '{ torn');
  const store = new StateStore(root, silentLogger);
  await store.load();
  assert.deepEqual(store.listSandboxes(), []);
});

test('a remove while an update is being written leaves neither the record nor its folder behind', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'corelet-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new StateStore(root, silentLogger);
  await store.load();
  await store.add('sandboxes', sandbox('eeee1111'));
  const updating = store.updateSandbox('eeee1111', (r) => {
    r.state = 'notready';
  });
  await store.remove('sandboxes', 'eeee1111');
  await updating;
  assert.equal(store.findSandbox('eeee1111'), undefined);
  assert.deepEqual(await readdir(join(root, 'sandboxes')), []);
  const again = new StateStore(root, silentLogger);
  await again.load();
  assert.equal(again.findSandbox('eeee1111'), undefined, 'not back after a restart');
});
