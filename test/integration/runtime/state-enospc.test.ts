/**
 * The runtime's state folder full (ENOSPC): a record that cannot be written is refused with the
 * error, and nothing is left behind for it — no temp file beside a record whose update failed, no
 * folder of an object that was never recorded (each retry of a kubelet against a full disk would
 * otherwise leave one more file). Once space is back, everything works and a reload finds exactly
 * the records that were written. Needs root (a small tmpfs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { StateStore } from '../../../src/runtime/store/index.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { containerRecord, sandboxRecord } from '../../helpers/state-records.js';

const sandbox = sandboxRecord;
const container = containerRecord;

/** Every file and folder under dir, relative. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test('ENOSPC on the state folder: failed adds and updates leave no folder and no temp file; all works again once space is back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-enospc-'));
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'corelet-enospc', dir]);
  t.after(async () => {
    await execa('umount', [dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  const root = join(dir, 'root');
  const store = new StateStore(root, silentLogger);
  await store.load();
  await store.add('sandboxes', sandbox('aaaa1111'));
  const before = await tree(root);

  // Fill the file system to the last block.
  const filler = join(dir, 'filler');
  await writeFile(filler, Buffer.alloc(1 << 20)).catch(() => undefined);

  await assert.rejects(store.add('containers', container('cccc1111', 'aaaa1111')), /ENOSPC/);
  await assert.rejects(store.add('sandboxes', sandbox('bbbb2222')), /ENOSPC/);
  await assert.rejects(
    store.updateSandbox('aaaa1111', (r) => {
      r.ip = '10.0.0.2'.repeat(1000);
    }),
    /ENOSPC/,
  );
  assert.deepEqual(await tree(root), before, 'nothing left behind by the failed writes');
  assert.equal(store.findContainer('cccc1111'), undefined);
  assert.equal(store.sandbox('aaaa1111').ip, '', 'the failed update changed nothing');

  // Space back: the same names can be taken, and a reload sees exactly what was written.
  await rm(filler);
  await store.add('containers', container('cccc1111', 'aaaa1111'));
  await store.add('sandboxes', sandbox('bbbb2222'));
  const again = new StateStore(root, silentLogger);
  await again.load();
  assert.deepEqual(again.listSandboxes().map((s) => s.id).sort(), ['aaaa1111', 'bbbb2222']);
  assert.deepEqual(again.listContainers().map((c) => c.id), ['cccc1111']);
});
