import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePlatformManifest, imageUser, parseImageConfig, parseManifestDocument, type Descriptor } from '../../../src/runtime/image/index.js';
import { isKind } from '../../../src/lib/index.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const invalid = (re: RegExp) => (e: unknown) => isKind(e, 'InvalidArgument') && re.test((e as Error).message);
const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));

test('manifests and indexes: by declared media type, Content-Type, or shape', () => {
  const manifest = { schemaVersion: 2, config: { mediaType: 'x', digest: D('a'), size: 3 }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('b'), size: 9 }] };
  const m = parseManifestDocument(json(manifest), 'application/json', 'm');
  assert.equal(m.kind, 'manifest');
  const idx = parseManifestDocument(json({ schemaVersion: 2, manifests: [{ digest: D('c'), size: 1, platform: { os: 'linux', architecture: 'amd64' } }] }), undefined, 'i');
  assert.equal(idx.kind, 'index');
  assert.throws(() => parseManifestDocument(json({ schemaVersion: 1, fsLayers: [] }), undefined, 'old'), invalid(/schema 1/));
  assert.throws(() => parseManifestDocument(Buffer.from('{nope'), undefined, 'bad'), invalid(/not valid JSON/));
  assert.throws(() => parseManifestDocument(json({ schemaVersion: 3 }), undefined, 'v3'), invalid(/schemaVersion/));
  assert.throws(() => parseManifestDocument(json({ ...manifest, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D('b'), size: 1 }] }), undefined, 'z'), invalid(/layers\[0\] has unsupported media type/));
  assert.throws(() => parseManifestDocument(json({ ...manifest, config: { digest: 'sha256:short', size: 1 } }), undefined, 'd'), invalid(/config: invalid digest/));
  assert.throws(() => parseManifestDocument(json({ ...manifest, config: { digest: D('a'), size: -1 } }), undefined, 's'), invalid(/invalid size/));
  assert.throws(() => parseManifestDocument(json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }), undefined, 'n'), invalid(/no layers/));
});

test('platform choice prefers the exact variant', () => {
  const d = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({ mediaType: '', digest: D(architecture === 'amd64' ? 'a' : 'b'), size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } });
  const list = [d('arm', 'v6'), d('arm', 'v7'), d('arm64'), d('amd64', undefined, 'windows'), d('amd64')];
  assert.equal(choosePlatformManifest(list, { os: 'linux', architecture: 'amd64' }, 'x'), list[4]);
  assert.equal(choosePlatformManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x'), list[1]);
  assert.equal(choosePlatformManifest(list, { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'x'), list[2]);
  assert.throws(() => choosePlatformManifest(list, { os: 'linux', architecture: 's390x' }, 'x'), (e: unknown) => isKind(e, 'NotFound'));
});

test('image config parsing and users', () => {
  const cfg = parseImageConfig(json({ os: 'linux', architecture: 'amd64', config: { Env: null, Cmd: ['a'], Labels: null }, rootfs: { diff_ids: [D('a')] } }), 'c');
  assert.deepEqual(cfg.config.env, []);
  assert.deepEqual(cfg.config.cmd, ['a']);
  assert.deepEqual(cfg.diffIds, [D('a')]);
  assert.throws(() => parseImageConfig(json({ config: { Cmd: 'sh' }, rootfs: { diff_ids: [] } }), 'c'), invalid(/config.Cmd must be a list of strings/));
  assert.throws(() => parseImageConfig(json({ config: {} }), 'c'), invalid(/diff_ids missing/));
  assert.deepEqual(imageUser('1000:1000'), { uid: 1000, username: '' });
  assert.deepEqual(imageUser('0'), { uid: 0, username: '' });
  assert.deepEqual(imageUser('www-data:1004'), { username: 'www-data' });
  assert.deepEqual(imageUser(''), { username: '' });
});
