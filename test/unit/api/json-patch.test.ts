/** RFC 6902 JSON patch (pure), as kubectl rollout undo and client libraries send it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, parseJsonPointer } from '../../../src/api/index.js';

describe('JSON patch', () => {
  const doc = { metadata: { name: 'web', annotations: { a: '1', 'x/y': '2' } }, spec: { list: [1, 2, 3] } };

  it('applies add, remove, replace, move, copy and test, leaving the target unchanged', () => {
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/metadata/name', value: 'web' },
      { op: 'add', path: '/spec/list/1', value: 9 },
      { op: 'add', path: '/spec/list/-', value: 4 },
      { op: 'remove', path: '/metadata/annotations/x~1y' },
      { op: 'replace', path: '/spec/list/0', value: 0 },
      { op: 'copy', from: '/spec/list', path: '/spec/copy' },
      { op: 'move', from: '/metadata/annotations/a', path: '/metadata/annotations/b' },
    ]);
    assert.deepEqual(out, { metadata: { name: 'web', annotations: { b: '1' } }, spec: { list: [0, 9, 2, 3, 4], copy: [0, 9, 2, 3, 4] } });
    assert.deepEqual(doc.spec.list, [1, 2, 3]);
  });

  it('replaces a whole subtree as kubectl rollout undo does', () => {
    const out = applyJsonPatch(doc, [
      { op: 'replace', path: '/spec', value: { template: {} } },
      { op: 'replace', path: '/metadata/annotations', value: { c: '3' } },
    ]);
    assert.deepEqual(out, { metadata: { name: 'web', annotations: { c: '3' } }, spec: { template: {} } });
  });

  it('refuses a patch that is not an array, an unknown op, a missing path or index, naming the operation', () => {
    assert.throws(() => applyJsonPatch(doc, { op: 'add' }), /must be a JSON array of operations/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'frob', path: '/a' }]), /patch\[0\]\.op: "frob" is not one of add, remove, replace, move, copy, test/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/nope', value: 1 }]), /patch\[0\] \(replace \/spec\/nope\): the path does not exist/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/list/3' }]), /index 3 is out of range \(the array has 3 items\)/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/list/01', value: 1 }]), /"01" is not an array index/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/a/b', value: 1 }]), /the path does not exist \(no "a"\)/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/x' }]), /"value" is missing/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'move', from: '/spec', path: '/spec/inner' }]), /cannot move a value into itself/);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec/list', value: [1, 2] }]), /the test failed/);
  });

  it('reads JSON pointers with their escapes', () => {
    assert.deepEqual(parseJsonPointer(''), []);
    assert.deepEqual(parseJsonPointer('/a~1b/c~0d/'), ['a/b', 'c~d', '']);
    assert.throws(() => parseJsonPointer('a'), /must start with "\/"/);
    assert.throws(() => parseJsonPointer('/a~2'), /"~" must be followed by 0 or 1/);
  });
});
