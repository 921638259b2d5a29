import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind, lockRoot } from '../../../src/lib/index.js';

test('a locked root is refused with its path and the holder, and free again after release', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const first = lockRoot(root, 'corelet runtime');
  assert.equal((statSync(root).mode & 0o777).toString(8), '700', 'a root the lock makes is private');
  assert.equal((statSync(first.path).mode & 0o777).toString(8), '600');
  assert.throws(
    () => lockRoot(root, 'corelet images import'),
    (e) => isKind(e, 'FailedPrecondition') && (e as Error).message.startsWith(`${root} is in use by another corelet runtime (pid ${process.pid})`),
  );
  first.release();
  first.release(); // twice is harmless
  lockRoot(root, 'corelet agent').release();
});
