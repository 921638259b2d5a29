import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  ImageStore,
  parseRegistriesConfig,
  type FetchLike,
  type ImageStoreOptions,
  type RegistriesConfig,
} from '../../../src/runtime/image/index.js';
import { isKind, type ErrorKind } from '../../../src/lib/index.js';
import {
  buildImage,
  buildIndex,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  FakeRegistry,
  fakeNetwork,
  makeTar,
  sha256,
  type BuiltImage,
} from './fixtures.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-images-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function newStore(root: string, fetchImpl: FetchLike, extra: Partial<ImageStoreOptions> = {}): Promise<ImageStore> {
  const store = new ImageStore({ root, fetchImpl, preserveOwner: false, platform: AMD64, ...extra });
  await store.init();
  return store;
}

const kind = (k: ErrorKind, re?: RegExp) => (err: unknown) => isKind(err, k) && (re === undefined || re.test((err as Error).message));

function busyboxLike(marker = 'v1', config: Record<string, unknown> = {}): BuiltImage {
  return buildImage(
    [
      makeTar([
        { path: 'bin/', type: 'dir' },
        { path: 'bin/busybox', data: `busybox ${marker}`, mode: 0o755 },
        { path: 'bin/sh', type: 'link', linkpath: 'bin/busybox' },
        { path: 'tmp/', type: 'dir', mode: 0o1777 },
        { path: 'etc/old', data: 'lower' },
      ]),
      makeTar([{ path: 'etc/.wh.old', data: '' }, { path: 'etc/marker', data: marker }]),
    ],
    { Cmd: ['sh'], Env: ['PATH=/bin'], ...config },
  );
}

/** What is left in the store's folders (tmp must always end up empty). */
async function storeFolders(root: string) {
  return {
    images: (await readdir(join(root, 'images'))).length,
    rootfs: (await readdir(join(root, 'rootfs'))).length,
    tmp: (await readdir(join(root, 'tmp'))).length,
    blobs: (await readdir(join(root, 'blobs/sha256'))).length,
  };
}

test('pull: verified blobs, layered rootfs, record fields, lookups by every kind of name', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const img = busyboxLike('v1', {
    User: '1000:1000',
    Entrypoint: ['/bin/sh', '-c'],
    WorkingDir: '/work',
    StopSignal: 'SIGQUIT',
    Labels: { a: 'b' },
    ExposedPorts: { '80/tcp': {} },
    Volumes: { '/data': {} },
  });
  reg.addImage('library/busybox', 'latest', img);
  const store = await newStore(root, fakeNetwork({ 'registry-1.docker.io': reg }));

  const rec = await store.pull('busybox');
  assert.equal(rec.id, img.configDigest);
  assert.deepEqual(rec.repoTags, ['docker.io/library/busybox:latest']);
  assert.deepEqual(rec.repoDigests, [`docker.io/library/busybox@${img.manifestDigest}`]);
  assert.equal(rec.size, img.layers.reduce((n, l) => n + l.data.length, 0));
  assert.equal(rec.uid, 1000);
  assert.equal(rec.username, '');
  assert.deepEqual(rec.config, {
    user: '1000:1000',
    env: ['PATH=/bin'],
    entrypoint: ['/bin/sh', '-c'],
    cmd: ['sh'],
    workingDir: '/work',
    stopSignal: 'SIGQUIT',
    labels: { a: 'b' },
    exposedPorts: ['80/tcp'],
    volumes: ['/data'],
  });
  assert.equal(rec.pinned, false);
  assert.equal(rec.rootfs, store.rootfsPath(rec.id));
  assert.equal(await readFile(join(rec.rootfs, 'bin/busybox'), 'utf8'), 'busybox v1');
  assert.equal((await stat(join(rec.rootfs, 'bin/sh'))).ino, (await stat(join(rec.rootfs, 'bin/busybox'))).ino);
  assert.equal((await stat(join(rec.rootfs, 'tmp'))).mode & 0o7777, 0o1777);
  assert.deepEqual(await readdir(join(rec.rootfs, 'etc')), ['marker'], 'whiteout of the second layer applied');

  const hex = rec.id.slice('sha256:'.length);
  for (const name of [rec.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 5)}`, 'busybox', 'busybox:latest', 'docker.io/library/busybox', `busybox@${img.manifestDigest}`]) {
    assert.equal(store.get(name)?.id, rec.id, name);
  }
  for (const name of ['busybox:other', 'other', 'ffff', `busybox@sha256:${'0'.repeat(64)}`, 'Not A Ref']) assert.equal(store.get(name), undefined, name);
  assert.deepEqual(store.list().map((r) => r.id), [rec.id]);
  assert.deepEqual(store.list('busybox').map((r) => r.id), [rec.id]);
  assert.deepEqual(store.list('nginx'), []);
  assert.throws(() => store.rootfsPath('nope'), kind('NotFound'));
  // A caller changing its copy changes nothing in the store.
  rec.repoTags.push('x');
  assert.deepEqual(store.get(rec.id)?.repoTags, ['docker.io/library/busybox:latest']);
  assert.deepEqual(await storeFolders(root), { images: 1, rootfs: 1, tmp: 0, blobs: 4 });
});

test('concurrent pulls of one reference download once and all get the image', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const img = busyboxLike();
  reg.addImage('x/app', '1', img);
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }));
  const results = await Promise.all([store.pull('reg.example/x/app:1'), store.pull('reg.example/x/app:1'), store.pull('reg.example/x/app:1')]);
  assert.ok(results.every((r) => r.id === img.configDigest));
  assert.equal(reg.count('/manifests/'), 1);
  for (const l of img.layers) assert.equal(reg.count(`/blobs/${l.digest}`), 1);
  assert.equal(reg.count(`/blobs/${img.configDigest}`), 1);
  // A later pull of an image already present fetches the manifest and nothing else.
  await store.pull('reg.example/x/app:1');
  assert.equal(reg.count('/manifests/'), 2);
  assert.equal(reg.count('/blobs/'), 3);
});

test('manifest lists pick the configured platform', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const amd = busyboxLike('amd64');
  const arm = buildImage([makeTar([{ path: 'arch', data: 'arm64' }])], {}, { architecture: 'arm64' });
  const armv7 = buildImage([makeTar([{ path: 'arch', data: 'armv7' }])], {}, { architecture: 'arm' });
  for (const i of [amd, arm, armv7]) reg.addImage('multi', undefined, i);
  const index = buildIndex(
    [
      { image: armv7, architecture: 'arm', variant: 'v7' },
      { image: arm, architecture: 'arm64', variant: 'v8' },
      { image: amd, architecture: 'amd64' },
    ],
    DOCKER_LIST,
  );
  reg.addIndex('multi', 'latest', index, DOCKER_LIST);
  const net = fakeNetwork({ 'reg.example': reg });
  const rec = await (await newStore(root, net)).pull('reg.example/multi');
  assert.equal(rec.id, amd.configDigest);
  assert.equal(rec.manifestDigest, amd.manifestDigest);
  assert.deepEqual(rec.repoDigests, [`reg.example/multi@${index.digest}`], 'the repo digest is the digest the tag points at');

  const armRoot = await tempRoot(t);
  const armRec = await (await newStore(armRoot, net, { platform: { os: 'linux', architecture: 'arm64' } })).pull('reg.example/multi');
  assert.equal(await readFile(join(armRec.rootfs, 'arch'), 'utf8'), 'arm64');

  const ppcRoot = await tempRoot(t);
  const ppc = await newStore(ppcRoot, net, { platform: { os: 'linux', architecture: 'ppc64le' } });
  await assert.rejects(ppc.pull('reg.example/multi'), kind('NotFound', /no image for linux\/ppc64le/));
});

test('pull errors: NotFound, Unavailable, InvalidArgument; a failed pull leaves nothing behind', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const good = busyboxLike();
  reg.addImage('good', 'v1', good, DOCKER_MANIFEST);
  // Layer bytes that do not match their digest.
  const bad = busyboxLike('bad');
  reg.addImage('corrupt', 'v1', bad);
  reg.blobs.set(bad.layers[1]!.digest, gzipSync(makeTar([{ path: 'evil', data: 'swapped' }])));
  // A config that does not match its digest.
  const badConfig = busyboxLike('cfg');
  reg.addImage('badconfig', 'v1', badConfig);
  reg.blobs.set(badConfig.configDigest, Buffer.from(badConfig.config.toString().replace('amd64', 'AMD64')));
  // A manifest served under a digest it does not have.
  const other = busyboxLike('other');
  reg.manifests.set(`liar@${good.manifestDigest}`, { mediaType: 'application/vnd.oci.image.manifest.v1+json', body: other.manifest });
  // Schema 1.
  reg.manifests.set('old:v1', { mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', body: Buffer.from('{"schemaVersion":1}') });
  // A layer that tries to escape.
  const hostile = buildImage([makeTar([{ path: 'ok', data: 'x' }, { path: '../../../escape', data: 'pwned' }])]);
  reg.addImage('hostile', 'v1', hostile);

  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }));
  await assert.rejects(store.pull('reg.example/good:nope'), kind('NotFound', /MANIFEST_UNKNOWN/));
  await assert.rejects(store.pull('reg.example/missing'), kind('NotFound'));
  await assert.rejects(store.pull('unreachable.example/x'), kind('Unavailable', /ENOTFOUND/));
  await assert.rejects(store.pull('Bad Ref'), kind('InvalidArgument'));
  await assert.rejects(store.pull('reg.example/corrupt:v1'), kind('InvalidArgument', /size mismatch/));
  await assert.rejects(store.pull('reg.example/badconfig:v1'), kind('InvalidArgument', /digest mismatch/));
  await assert.rejects(store.pull(`reg.example/liar@${good.manifestDigest}`), kind('InvalidArgument', /digest mismatch/));
  await assert.rejects(store.pull('reg.example/old:v1'), kind('InvalidArgument', /schema 1/));
  await assert.rejects(store.pull('reg.example/hostile:v1'), kind('InvalidArgument', /points outside the root/));
  assert.deepEqual(store.list(), []);
  const left = await storeFolders(root);
  assert.equal(left.images, 0);
  assert.equal(left.rootfs, 0);
  assert.equal(left.tmp, 0);

  const rec = await store.pull(`reg.example/good@${good.manifestDigest}`);
  assert.deepEqual(rec.repoTags, [], 'a pull by digest adds no tag');
  assert.deepEqual(rec.repoDigests, [`reg.example/good@${good.manifestDigest}`]);
});

test('a failed pull of a moved tag keeps the existing image and its tag', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const v1 = busyboxLike('one');
  reg.addImage('app', 'latest', v1);
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }));
  const first = await store.pull('reg.example/app');
  const hostile = buildImage([makeTar([{ path: 'a', type: 'symlink', linkpath: '/' }, { path: 'b', type: 'link', linkpath: '../../etc/passwd' }])]);
  reg.addImage('app', 'latest', hostile);
  await assert.rejects(store.pull('reg.example/app'), kind('InvalidArgument'));
  assert.deepEqual(store.get('reg.example/app')?.id, first.id);
  assert.equal(await readFile(join(first.rootfs, 'etc/marker'), 'utf8'), 'one');
  assert.equal((await storeFolders(root)).tmp, 0);
});

test('pulling a tag that moved re-points it; the old image stays, untagged', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const a = busyboxLike('a');
  const b = busyboxLike('b');
  reg.addImage('app', 'v1', a);
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }));
  const ra = await store.pull('reg.example/app:v1');
  reg.addImage('app', 'v1', b);
  const rb = await store.pull('reg.example/app:v1');
  assert.notEqual(ra.id, rb.id);
  assert.deepEqual(store.get(rb.id)?.repoTags, ['reg.example/app:v1']);
  assert.deepEqual(store.get(ra.id)?.repoTags, []);
  assert.deepEqual(store.get(ra.id)?.repoDigests, [`reg.example/app@${a.manifestDigest}`]);
  assert.equal(store.get('reg.example/app:v1')?.id, rb.id);
  assert.equal(store.list().length, 2);

  // The move survives a restart.
  const again = await newStore(root, fakeNetwork({}));
  assert.equal(again.get('reg.example/app:v1')?.id, rb.id);
  assert.deepEqual(again.get(ra.id)?.repoTags, []);
});

test('remove: by tag untags while other tags remain; by id or last tag removes everything; unknown is fine', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const img = busyboxLike();
  reg.addImage('app', 'v1', img);
  reg.addImage('app', 'v2', img);
  const other = busyboxLike('other');
  reg.addImage('other', 'latest', other);
  let inUse = new Set<string>();
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }), { isInUse: (id) => inUse.has(id) });
  await store.pull('reg.example/app:v1');
  const rec = await store.pull('reg.example/app:v2');
  const otherRec = await store.pull('reg.example/other');
  assert.deepEqual(rec.repoTags, ['reg.example/app:v1', 'reg.example/app:v2']);

  await store.remove('reg.example/app:v1');
  assert.deepEqual(store.get(rec.id)?.repoTags, ['reg.example/app:v2']);
  assert.ok((await stat(rec.rootfs)).isDirectory());

  inUse = new Set([rec.id]);
  await assert.rejects(store.remove('reg.example/app:v2'), kind('FailedPrecondition', /in use/));
  inUse = new Set();
  // a CreateContainer between finding the image and storing its record holds it
  const held = store.hold('reg.example/app:v2')!;
  assert.equal(held.image.id, rec.id);
  await assert.rejects(store.remove('reg.example/app:v2'), kind('FailedPrecondition', /in use by a container being created/));
  held.release();
  held.release(); // once is enough; a second call does nothing
  await store.remove('reg.example/app:v2');
  assert.equal(store.get(rec.id), undefined);
  assert.equal(store.hold('reg.example/app:v2'), undefined, 'a removed image cannot be held');
  await assert.rejects(stat(rec.rootfs), /ENOENT/);
  // Only the other image's blobs are left.
  const blobs = (await readdir(join(root, 'blobs/sha256'))).map((h) => `sha256:${h}`).sort();
  assert.deepEqual(blobs, [other.configDigest, other.manifestDigest, ...other.layers.map((l) => l.digest)].sort());

  await store.remove('reg.example/app:v2');
  await store.remove('sha256:' + 'f'.repeat(64));
  await store.remove('never-pulled');

  await store.pull('reg.example/app:v1');
  await store.pull('reg.example/app:v2');
  await store.remove(rec.id.slice(7, 19)); // by id prefix: all tags go
  assert.equal(store.get('reg.example/app:v1'), undefined);
  assert.equal(store.get('reg.example/app:v2'), undefined);
  await store.remove(`reg.example/other@${other.manifestDigest}`);
  assert.equal(store.get(otherRec.id), undefined);
  assert.deepEqual(await storeFolders(root), { images: 0, rootfs: 0, tmp: 0, blobs: 0 });
});

test('init reloads records and removes leftovers of interrupted work', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  const img = busyboxLike();
  reg.addImage('app', 'v1', img);
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }), { pinned: ['reg.example/app:v1'] });
  const rec = await store.pull('reg.example/app:v1');
  assert.equal(rec.pinned, true);
  // a trailing * pins every name it prefixes (CRI-O's pinned_images glob)
  reg.addImage('zeus/api', 'v1', busyboxLike('api'));
  const globbed = await newStore(await tempRoot(t), fakeNetwork({ 'reg.example': reg }), { pinned: ['reg.example/zeus/*'] });
  assert.equal((await globbed.pull('reg.example/zeus/api:v1')).pinned, true);
  assert.equal((await globbed.pull('reg.example/app:v1')).pinned, false);

  await mkdir(join(root, 'tmp/unpack-half'), { recursive: true });
  await writeFile(join(root, 'tmp/blob-half'), 'partial');
  await mkdir(join(root, 'rootfs', 'ab'.repeat(32)));
  await writeFile(join(root, 'blobs/sha256', 'cd'.repeat(32)), 'orphan');
  await writeFile(join(root, 'images', `${'ef'.repeat(32)}.json`), '{broken');

  const again = await newStore(root, fakeNetwork({}));
  assert.deepEqual(again.list().map((r) => [r.id, r.repoTags, r.pinned]), [[rec.id, ['reg.example/app:v1'], false]]);
  assert.deepEqual(await storeFolders(root), { images: 1, rootfs: 1, tmp: 0, blobs: 4 });
  assert.equal(await readFile(join(again.rootfsPath(rec.id), 'bin/busybox'), 'utf8'), 'busybox v1');
});

test('mirrors: tried in order with rewrites, then the registry; errors name every endpoint', async (t) => {
  const upstream = new FakeRegistry();
  const mirror = new FakeRegistry();
  const img = busyboxLike('up');
  upstream.addImage('team/app', 'v1', img);
  const mirrored = busyboxLike('mirror');
  mirror.addImage('cache/team/app', 'v2', mirrored);
  const config: RegistriesConfig = parseRegistriesConfig(`
mirrors:
  reg.example:
    endpoint: ["https://down.example", "https://mirror.example:5000"]
    rewrite:
      "^team/(.*)": "cache/team/$1"
`);
  const net = fakeNetwork({ 'reg.example': upstream, 'mirror.example:5000': mirror });
  const store = await newStore(await tempRoot(t), net, { registries: config });

  const fromMirror = await store.pull('reg.example/team/app:v2');
  assert.equal(fromMirror.id, mirrored.configDigest);
  assert.deepEqual(fromMirror.repoTags, ['reg.example/team/app:v2'], 'stored under the original name');
  assert.equal(upstream.requests.length, 0);
  assert.ok(net.calls[0]!.startsWith('https://down.example/v2/cache/team/app/manifests/v2'));

  const fromUpstream = await store.pull('reg.example/team/app:v1');
  assert.equal(fromUpstream.id, img.configDigest);
  assert.ok(mirror.count('/v2/cache/team/app/manifests/v1') === 1, 'mirror asked first');
  assert.ok(upstream.count('/v2/team/app/manifests/v1') === 1, 'no rewrite for the registry itself');

  await assert.rejects(
    store.pull('reg.example/team/app:v3'),
    kind('NotFound', /pulling reg.example\/team\/app:v3: .*https:\/\/reg.example\/v2.*mirrors tried first: https:\/\/down.example\/v2: .*ENOTFOUND.*; https:\/\/mirror.example:5000\/v2: .*not found/),
  );
});

test('fsInfo walks the store and caches briefly', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  reg.addImage('app', 'v1', busyboxLike());
  const mountinfo = join(root, '..', `mountinfo-${process.pid}`);
  t.after(() => rm(mountinfo, { force: true }));
  await writeFile(mountinfo, `22 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 22 0:5 / ${root} rw - tmpfs tmpfs rw\n31 22 0:6 / ${root}\\040x rw - tmpfs t rw\n`);
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }), { mountinfoPath: mountinfo, fsInfoCacheMs: 60_000 });
  const empty = await store.fsInfo();
  assert.equal(empty.mountpoint, root);
  await store.pull('reg.example/app:v1');
  const full = await store.fsInfo();
  assert.ok(full.usedBytes > empty.usedBytes, 'a pull invalidates the cache');
  assert.ok(full.inodesUsed > empty.inodesUsed);
  await writeFile(join(root, 'images', 'extra'), 'x'.repeat(100000));
  assert.deepEqual(await store.fsInfo(), full, 'cached');
});

/** An OCI image layout archive as `skopeo copy ... oci-archive:x.tar:name` writes it. */
function ociArchive(images: { image: BuiltImage; annotations?: Record<string, string> }[], extra: Parameters<typeof makeTar>[0] = []): Buffer {
  const blobs = new Map<string, Buffer>();
  for (const { image } of images) {
    blobs.set(image.manifestDigest, image.manifest);
    blobs.set(image.configDigest, image.config);
    for (const l of image.layers) blobs.set(l.digest, l.data);
  }
  const index = {
    schemaVersion: 2,
    manifests: images.map(({ image, annotations }) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: image.manifestDigest,
      size: image.manifest.length,
      ...(annotations ? { annotations } : {}),
    })),
  };
  return makeTar([
    { path: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { path: 'index.json', data: JSON.stringify(index) },
    { path: 'blobs/', type: 'dir' },
    { path: 'blobs/sha256/', type: 'dir' },
    ...[...blobs].map(([d, data]) => ({ path: `blobs/sha256/${d.slice(7)}`, data })),
    ...extra,
  ]);
}

test('importArchive: OCI layout, names from annotations', async (t) => {
  const root = await tempRoot(t);
  const store = await newStore(root, fakeNetwork({}));
  const a = busyboxLike('a');
  const b = busyboxLike('b');
  const file = join(root, '..', `oci-${process.pid}.tar`);
  t.after(() => rm(file, { force: true }));
  await writeFile(
    file,
    ociArchive([
      { image: a, annotations: { 'org.opencontainers.image.ref.name': 'myname' } },
      { image: b, annotations: { 'io.containerd.image.name': 'reg.example/b:1', 'org.opencontainers.image.ref.name': '1' } },
    ]),
  );
  const recs = await store.importArchive(file);
  assert.deepEqual(recs.map((r) => r.repoTags), [['docker.io/library/myname:latest'], ['reg.example/b:1']]);
  assert.equal(store.get('myname')?.id, a.configDigest);
  assert.deepEqual(store.get('myname')?.repoDigests, [`docker.io/library/myname@${a.manifestDigest}`]);
  assert.equal(await readFile(join(store.rootfsPath('reg.example/b:1'), 'etc/marker'), 'utf8'), 'b');
  assert.equal((await storeFolders(root)).tmp, 0);
});

test('importArchive: docker save format', async (t) => {
  const root = await tempRoot(t);
  const store = await newStore(root, fakeNetwork({}));
  const l1 = makeTar([{ path: 'bin/app', data: 'app', mode: 0o755 }]);
  const l2 = makeTar([{ path: 'etc/conf', data: 'conf' }]);
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', config: { User: 'www-data' }, rootfs: { type: 'layers', diff_ids: [sha256(l1), sha256(l2)] } }));
  const cfgName = `${sha256(config).slice(7)}.json`;
  const file = join(root, '..', `save-${process.pid}.tar`);
  t.after(() => rm(file, { force: true }));
  await writeFile(
    file,
    makeTar([
      { path: cfgName, data: config },
      { path: 'l1/layer.tar', data: l1 },
      { path: 'l2/layer.tar', type: 'symlink', linkpath: '../l2real/layer.tar' },
      { path: 'l2real/layer.tar', data: l2 },
      { path: 'manifest.json', data: JSON.stringify([{ Config: cfgName, RepoTags: ['app:1', 'reg.example/app:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]) },
    ]),
  );
  const [rec] = await store.importArchive(file);
  assert.equal(rec!.id, sha256(config));
  assert.deepEqual(rec!.repoTags, ['docker.io/library/app:1', 'reg.example/app:1']);
  assert.equal(rec!.username, 'www-data');
  assert.equal(rec!.uid, undefined);
  assert.equal(await readFile(join(rec!.rootfs, 'etc/conf'), 'utf8'), 'conf');
});

test('importArchive: corrupt or hostile archives are refused and leave nothing', async (t) => {
  const root = await tempRoot(t);
  const store = await newStore(root, fakeNetwork({}));
  const img = busyboxLike();
  const cases: [string, Buffer, RegExp][] = [
    ['not-an-image', makeTar([{ path: 'hello', data: 'x' }]), /neither an OCI image layout nor a docker-save archive/],
    ['escape', ociArchive([{ image: img }], [{ path: '../../evil', data: 'x' }]), /points outside the root/],
    ['hostile-layer', ociArchive([{ image: buildImage([makeTar([{ path: '/../x/../../y', data: '' }])]) }]), /points outside the root/],
  ];
  // A layer blob whose bytes do not match its name.
  const tampered = ociArchive([{ image: img, annotations: { 'org.opencontainers.image.ref.name': 'x' } }]);
  const layerHex = img.layers[0]!.digest.slice(7);
  const withBadBlob = makeTar([
    { path: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { path: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifest.length }] }) },
    { path: `blobs/sha256/${img.manifestDigest.slice(7)}`, data: img.manifest },
    { path: `blobs/sha256/${img.configDigest.slice(7)}`, data: img.config },
    { path: `blobs/sha256/${layerHex}`, data: Buffer.from('tampered') },
    { path: `blobs/sha256/${img.layers[1]!.digest.slice(7)}`, data: img.layers[1]!.data },
  ]);
  cases.push(['bad-blob', withBadBlob, /digest mismatch/]);
  assert.ok(tampered.length > 0);
  for (const [name, data, why] of cases) {
    const file = join(root, '..', `${name}-${process.pid}.tar`);
    t.after(() => rm(file, { force: true }));
    await writeFile(file, data);
    await assert.rejects(store.importArchive(file), kind('InvalidArgument', why), name);
  }
  assert.deepEqual(store.list(), []);
  const left = await storeFolders(root);
  assert.deepEqual([left.images, left.rootfs, left.tmp], [0, 0, 0]);
  await assert.rejects(store.importArchive(join(root, 'no-such.tar')), kind('InvalidArgument', /ENOENT/));
});

test('a hold taken while RemoveImage asks whether a container uses the image stops the removal', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  reg.addImage('app', 'v1', busyboxLike());
  let held: ReturnType<ImageStore['hold']>;
  // CreateContainer finds the image while the removal awaits its in-use check (no container record yet)
  const store: ImageStore = await newStore(root, fakeNetwork({ 'reg.example': reg }), { isInUse: async (id) => ((held = store.hold(id)), false) });
  const rec = await store.pull('reg.example/app:v1');
  await assert.rejects(store.remove('reg.example/app:v1'), kind('FailedPrecondition', /being created/));
  assert.ok((await stat(rec.rootfs)).isDirectory(), 'the rootfs the new container binds is still there');
  held!.release();
});

test('layers applied in a worker thread: the same rootfs, the same refusals, nothing left behind', async (t) => {
  const root = await tempRoot(t);
  const reg = new FakeRegistry();
  reg.addImage('good', 'v1', busyboxLike('w1'));
  const corrupt = busyboxLike('corrupt');
  reg.addImage('corrupt', 'v1', corrupt);
  reg.blobs.set(corrupt.layers[1]!.digest, gzipSync(makeTar([{ path: 'evil', data: 'swapped' }])));
  reg.addImage('escape', 'v1', buildImage([makeTar([{ path: 'ok', data: 'x' }, { path: '../../../escape', data: 'pwned' }])]));
  reg.addImage(
    'symlink-escape',
    'v1',
    buildImage([makeTar([{ path: 'up', type: 'symlink', linkpath: '../../../..' }, { path: 'up/etc/pwned', data: 'pwned' }])]),
  );
  reg.addImage('device', 'v1', buildImage([makeTar([{ path: 'dev/', type: 'dir' }, { path: 'dev/sda', type: 'block' }, { path: 'keep', data: 'k' }])]));
  const store = await newStore(root, fakeNetwork({ 'reg.example': reg }), { unpackWorker: 'always' });

  const rec = await store.pull('reg.example/good:v1');
  assert.equal(await readFile(join(rec.rootfs, 'bin/busybox'), 'utf8'), 'busybox w1');
  assert.equal((await stat(join(rec.rootfs, 'bin/sh'))).ino, (await stat(join(rec.rootfs, 'bin/busybox'))).ino);
  assert.deepEqual(await readdir(join(rec.rootfs, 'etc')), ['marker'], 'whiteout of the second layer applied');

  await assert.rejects(store.pull('reg.example/corrupt:v1'), kind('InvalidArgument', /size mismatch|digest mismatch/));
  await assert.rejects(store.pull('reg.example/escape:v1'), kind('InvalidArgument', /points outside the root/));
  // a symlink in a path resolves inside the root: the file lands in the rootfs, never above it
  const sym = await store.pull('reg.example/symlink-escape:v1');
  assert.equal(await readFile(join(sym.rootfs, 'etc/pwned'), 'utf8'), 'pwned');
  await assert.rejects(stat('/etc/pwned'), { code: 'ENOENT' });
  const dev = await store.pull('reg.example/device:v1');
  assert.deepEqual((await readdir(join(dev.rootfs, 'dev'))).sort(), [], 'the device node is skipped');
  assert.equal(await readFile(join(dev.rootfs, 'keep'), 'utf8'), 'k');
  const left = await storeFolders(root);
  assert.equal(left.tmp, 0, 'no unpack left in tmp/');
  assert.equal(store.list().length, 3);
});
