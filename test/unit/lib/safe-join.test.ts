import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind, safeJoin, safeSegment } from '../../../src/lib/index.js';
import { checkUid, decodePods, ManifestError } from '../../../src/api/index.js';

test('safeJoin joins plain parts under the root', () => {
  assert.equal(safeJoin('/var/lib/corelet', ['pods', '3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11', 'volumes']), '/var/lib/corelet/pods/3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11/volumes');
  assert.equal(safeJoin('/r/', ['a/b', 'c']), '/r/a/b/c');
  assert.equal(safeJoin('/r', ['./a']), '/r/a');
});

test('safeJoin refuses every way out of the root, naming the value', () => {
  const refused = (parts: string[], why: RegExp) =>
    assert.throws(() => safeJoin('/r', parts, 'pod uid'), (e) => isKind(e, 'InvalidArgument') && /^pod uid: /.test((e as Error).message) && why.test((e as Error).message));
  refused(['pods', '../../../..'], /must not contain '\.\.'/);
  refused(['..'], /must not contain '\.\.'/);
  refused(['a/../../b'], /must not contain '\.\.'/);
  refused(['/etc'], /must be a relative path/);
  refused(['pods', 'a\0b'], /NUL/);
  refused([''], /non-empty/);
  refused(['.'], /below the root/);
  refused(['pods', './'], /below the root/);
});

test('safeSegment takes one file name only', () => {
  assert.equal(safeSegment('app', 'container name'), 'app');
  for (const bad of ['', '.', '..', 'a/b', 'a\0']) assert.throws(() => safeSegment(bad, 'container name'), /container name .* cannot be used as a file name/);
});

test('checkUid takes UUIDs and plain names, refuses path tricks', () => {
  assert.equal(checkUid('3f0c9a2e-1b7d-4c1e-9a55-0d2a6b1c8e11'), undefined);
  assert.equal(checkUid('uid-a'), undefined);
  for (const bad of ['../../../..', '..', '.', 'a/b', '/etc', 'a\0', '-a', 'x'.repeat(129)]) assert.ok(checkUid(bad), `${JSON.stringify(bad)} is refused`);
});

test('a pod manifest with a path as metadata.uid is refused at decoding, naming the field', () => {
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evil', uid: '../../../..' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  assert.throws(() => decodePods(manifest, 'evil.json'), (e) => e instanceof ManifestError && /metadata\.uid: invalid value "\.\.\/\.\.\/\.\.\/\.\.": must consist of/.test(e.message));
});
