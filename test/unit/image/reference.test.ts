import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeReference } from '../../../src/runtime/image/index.js';
import { isKind } from '../../../src/lib/index.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('docker-style normalisation', () => {
  const cases: [string, string, string, string, string | undefined, string | undefined][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['foo/bar:1', 'docker.io/foo/bar:1', 'docker.io', 'foo/bar', '1', undefined],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined],
    ['127.0.0.1:5000/x/y:t', '127.0.0.1:5000/x/y:t', '127.0.0.1:5000', 'x/y', 't', undefined],
    ['localhost/app', 'localhost/app:latest', 'localhost', 'app', 'latest', undefined],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9', 'registry.k8s.io', 'pause', '3.9', undefined],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, 'docker.io', 'library/busybox', undefined, D],
    [`quay.io/a/b:v1@${D}`, `quay.io/a/b:v1@${D}`, 'quay.io', 'a/b', 'v1', D],
    ['a-b__c/e_f-g.h', 'docker.io/a-b__c/e_f-g.h:latest', 'docker.io', 'a-b__c/e_f-g.h', 'latest', undefined],
    ['[::1]:5000/img', '[::1]:5000/img:latest', '[::1]:5000', 'img', 'latest', undefined],
  ];
  for (const [input, canonical, registry, repository, tag, digest] of cases) {
    const r = normalizeReference(input);
    assert.equal(r.canonical, canonical, input);
    assert.equal(r.registry, registry, input);
    assert.equal(r.repository, repository, input);
    assert.equal(r.tag, tag, input);
    assert.equal(r.digest, digest, input);
    assert.equal(r.name, `${registry}/${repository}`);
  }
});

test('invalid references are InvalidArgument with the reason', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['foo/Bar', /lowercase/],
    ['busybox:', /invalid tag/],
    ['busybox:-x', /invalid tag/],
    ['busybox:' + 'a'.repeat(129), /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    ['busybox@md5:' + 'a'.repeat(32), /invalid digest/],
    ['a//b', /path component/],
    ['a/b/', /path component/],
    ['-a', /path component/],
    ['a b', /whitespace/],
    ['a'.repeat(64).replace(/a/g, 'f'), /image id/],
    ['ex ample.com/x', /whitespace/],
    ['exa_mple.com/x', /registry host/],
    ['x/' + 'a'.repeat(260), /longer than/],
    [':tag', /missing repository/],
  ];
  for (const [input, why] of bad) {
    assert.throws(
      () => normalizeReference(input),
      (err: unknown) => isKind(err, 'InvalidArgument') && why.test((err as Error).message),
      input,
    );
  }
});
