/** Keys a JSON body gives twice, by field path, as kube-apiserver's strict decoding names them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, duplicateJsonKeys } from '../../../src/api/index.js';

test('names every key given twice in one object, at any depth, in arrays too; strings holding braces, commas and quotes are data', () => {
  const text = String.raw`{"a": 1, "s": "{\"x\": [1, {\"y\",}", "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "name": "c", "image": "x"}]}}, "replicas": 2}, "a": 3, "we\u0069rd": 1, "weird": 2, "nvidia.com/gpu": 1, "nvidia.com/gpu": 2}`;
  assert.deepEqual(duplicateJsonKeys(text), ['spec.template.spec.containers[1].name', 'spec.replicas', 'a', 'weird', '[nvidia.com/gpu]']);
  assert.deepEqual(duplicateJsonKeys('[{"a": 1}, {"a": 2}, [], {}]'), []);
  assert.deepEqual(duplicateJsonKeys(JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ metadata: { name: `n${i}`, labels: { a: 'b' } } })) })), []);
});

test('the decoders report a duplicated key as a warning naming its path (the last value counts)', () => {
  const body = '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1, "replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "busybox:1.36"}]}}}}';
  const { objects, warnings } = decodeObjects(body, 'request body');
  assert.deepEqual(warnings, ['request body: spec.replicas: duplicate field']);
  assert.equal((objects[0] as { spec: { replicas: number } }).spec.replicas, 3);
});
