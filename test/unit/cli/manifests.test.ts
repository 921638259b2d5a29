import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkRequestSize, objectRefs, readManifests, setNamespace } from '../../../src/cli/manifests.js';
import { MAX_REQUEST_BODY_BYTES } from '../../../src/api/index.js';

test('-f DIR reads its .yaml, .yml and .json files sorted by name; - reads standard input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-manifests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['b.yml', 'a.yaml', 'c.json', 'notes.txt']) writeFileSync(join(dir, name), name);
  mkdirSync(join(dir, 'sub.yaml'));
  const read = await readManifests([dir, '-'], async () => 'from stdin');
  assert.deepEqual(read.map((s) => s.text), ['a.yaml', 'b.yml', 'c.json', 'from stdin']);
  assert.equal(read[0].name, join(dir, 'a.yaml'));
  assert.equal(read[3].name, 'standard input');
  await assert.rejects(readManifests([join(dir, 'missing.yaml')]), /missing\.yaml: no such file or directory/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(readManifests([empty]), /no manifests in this directory/);
  await assert.rejects(readManifests([]), /-f FILE/);
});

test('-n fills in the namespace of objects without one, List items too, and refuses a conflicting one', () => {
  const text = `apiVersion: v1
kind: Pod
metadata: { name: a }
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Pod, metadata: { name: b, namespace: team } }
  - { apiVersion: v1, kind: Pod, metadata: { name: c } }
`;
  const out = parseAllDocuments(setNamespace(text, 'team', 'f.yaml')).map((d) => d.toJS());
  assert.equal(out.length, 2);
  assert.equal(out[0].metadata.namespace, 'team');
  assert.deepEqual(out[1].items.map((i: any) => i.metadata.namespace), ['team', 'team']);
  assert.throws(() => setNamespace(text, 'other', 'f.yaml'), /f\.yaml: Pod "b" is in namespace "team", which does not match -n other/);
  const json = setNamespace('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}', 'x', 'j.json');
  assert.equal(parseAllDocuments(json)[0].toJS().metadata.namespace, 'x');
});

test('delete -f finds the objects a manifest names', () => {
  const refs = objectRefs('kind: Pod\nmetadata: {name: a}\n---\nkind: List\nitems: [{kind: Deployment, metadata: {name: d, namespace: n}}]\n---\n', 'f.yaml');
  assert.deepEqual(refs, [
    { kind: 'Pod', name: 'a' },
    { kind: 'Deployment', name: 'd', namespace: 'n' },
  ]);
  assert.throws(() => objectRefs('kind: Pod\n', 'f.yaml'), /f\.yaml: document 1 needs a kind and metadata\.name/);
  assert.throws(() => objectRefs('a: [', 'f.yaml'), /not valid YAML/);
});

test('apply refuses, before sending, a manifest over the scheduler\'s 3 MiB request limit, naming the file and the limit', () => {
  assert.doesNotThrow(() => checkRequestSize({ name: 'ok.yaml', text: 'x'.repeat(MAX_REQUEST_BODY_BYTES) }));
  assert.throws(
    () => checkRequestSize({ name: 'big.yaml', text: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 100 * 1024) }),
    /^Error: big\.yaml is 3\.1 MiB, over the scheduler's limit of 3 MiB per request \(one file is one request\): split it into several files$/,
  );
});
