/**
 * The image store against the real local registry (shared/conformance/up.sh on 127.0.0.1:5000),
 * skopeo-made archives, and layer ownership as root.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { applyLayer, ImageStore, parseRegistriesConfig } from '../../../src/runtime/image/index.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';
import { LOCAL_REGISTRY, requireLocalRegistry } from '../../helpers/conformance.js';
import { chunked, makeTgz } from '../../unit/image/fixtures.js';

const BUSYBOX = `${LOCAL_REGISTRY}/e2e-test-images/busybox:1.29-2`;

type Cleanup = { after: (fn: () => Promise<void>) => void };

async function tempDir(t: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function newStore(t: Cleanup): Promise<{ store: ImageStore; root: string }> {
  const root = await tempDir(t, 'corelet-images-it-');
  const registries = parseRegistriesConfig(`mirrors:\n  registry.k8s.io:\n    endpoint: ["http://${LOCAL_REGISTRY}"]\n`);
  const store = new ImageStore({ root, registries, logger: silentLogger });
  await store.init();
  return { store, root };
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'integration tests run as root');
  await requireLocalRegistry();
});

test('pull busybox from the local registry: rootfs runs, status, list, remove', async (t) => {
  const { store, root } = await newStore(t);
  const rec = await store.pull(BUSYBOX);
  assert.match(rec.id, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(rec.repoTags, [BUSYBOX]);
  assert.equal(rec.repoDigests.length, 1);
  assert.match(rec.repoDigests[0]!, new RegExp(`^${LOCAL_REGISTRY}/e2e-test-images/busybox@sha256:[a-f0-9]{64}$`));
  assert.ok(rec.size > 100_000);
  assert.deepEqual(rec.config.cmd, ['sh']);

  for (const f of ['bin/busybox', 'bin/sh']) assert.ok((await stat(join(rec.rootfs, f))).isFile(), f);
  const bb = await stat(join(rec.rootfs, 'bin/busybox'));
  assert.equal(bb.uid, 0);
  assert.ok(bb.mode & 0o111, 'executable');
  // The unpacked binary is intact: it runs.
  const { stdout } = await execa('chroot', [rec.rootfs, '/bin/sh', '-c', 'echo hello from $(basename $0)']);
  assert.equal(stdout, 'hello from sh');

  assert.equal(store.get(BUSYBOX)?.id, rec.id);
  assert.equal(store.get(rec.id)?.id, rec.id);
  assert.equal(store.get(rec.id.slice(7, 19))?.id, rec.id);
  assert.equal(store.get(rec.repoDigests[0]!)?.id, rec.id);
  assert.deepEqual(store.list().map((i) => i.id), [rec.id]);
  assert.deepEqual(store.list(BUSYBOX).map((i) => i.id), [rec.id]);

  // The same image through the registry.k8s.io mirror: one image, two names.
  const viaMirror = await store.pull('registry.k8s.io/e2e-test-images/busybox:1.29-2');
  assert.equal(viaMirror.id, rec.id);
  assert.deepEqual(viaMirror.repoTags, [BUSYBOX, 'registry.k8s.io/e2e-test-images/busybox:1.29-2']);

  await store.remove('registry.k8s.io/e2e-test-images/busybox:1.29-2');
  assert.deepEqual(store.get(rec.id)?.repoTags, [BUSYBOX]);
  await store.remove(rec.id);
  assert.equal(store.get(BUSYBOX), undefined);
  await assert.rejects(lstat(rec.rootfs), /ENOENT/);
  await store.remove(rec.id); // idempotent
  const fs = await store.fsInfo();
  assert.ok(fs.mountpoint.startsWith('/'));
  assert.deepEqual(await readdir(join(root, 'rootfs')), []);
});

test('image config users, the umoci-built pause image, and unknown tags', async (t) => {
  const { store } = await newStore(t);
  const pause = await store.pull('registry.k8s.io/pause:3.9');
  assert.deepEqual(pause.config.entrypoint, ['/pause']);
  assert.equal(pause.uid, 65535);
  assert.ok((await stat(join(pause.rootfs, 'pause'))).isFile());
  const named = await store.pull(`${LOCAL_REGISTRY}/k8s-staging-cri-tools/test-image-user-username:latest`);
  assert.equal(named.username, 'www-data');
  assert.equal(named.uid, undefined);
  const numeric = await store.pull(`${LOCAL_REGISTRY}/k8s-staging-cri-tools/test-image-user-uid-group:latest`);
  assert.equal(numeric.uid, 1003);
  await assert.rejects(store.pull(`${LOCAL_REGISTRY}/e2e-test-images/busybox:no-such-tag`), (e: unknown) => isKind(e, 'NotFound'));
  await assert.rejects(store.pull(`${LOCAL_REGISTRY}/no/such-repo:1`), (e: unknown) => isKind(e, 'NotFound'));
});

test('import an OCI archive made by skopeo', async (t) => {
  const dir = await tempDir(t, 'corelet-archive-it-');
  const archive = join(dir, 'busybox.tar');
  await execa('skopeo', ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${BUSYBOX}`, `oci-archive:${archive}:myname`]);
  const { store } = await newStore(t);
  const [rec] = await store.importArchive(archive);
  assert.deepEqual(rec!.repoTags, ['docker.io/library/myname:latest']);
  assert.equal(store.get('myname')?.id, rec!.id);
  assert.ok((await stat(join(rec!.rootfs, 'bin/busybox'))).isFile());
  // The same content pulled later is the same image.
  const pulled = await store.pull(BUSYBOX);
  assert.equal(pulled.id, rec!.id);
  assert.deepEqual(pulled.repoTags, ['docker.io/library/myname:latest', BUSYBOX]);
});

test('as root, layer owners and special modes are preserved; device nodes are still refused', async (t) => {
  const dir = await tempDir(t, 'corelet-owner-it-');
  const root = join(dir, 'rootfs');
  await mkdir(root);
  const tar = makeTgz([
    { path: 'home/app/', type: 'dir', uid: 1234, gid: 5678, mode: 0o750 },
    { path: 'home/app/tool', data: 'x', uid: 1234, gid: 5678, mode: 0o4755 },
    { path: 'home/app/link', type: 'symlink', linkpath: 'tool', uid: 1234, gid: 5678 },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'dev/null', type: 'char' },
  ]);
  const res = await applyLayer(root, chunked(tar), { logger: silentLogger, preserveOwner: true, what: 'owner-test' });
  assert.equal(res.skipped, 1);
  const d = await stat(join(root, 'home/app'));
  assert.deepEqual([d.uid, d.gid, d.mode & 0o7777], [1234, 5678, 0o750]);
  const f = await stat(join(root, 'home/app/tool'));
  assert.deepEqual([f.uid, f.gid, f.mode & 0o7777], [1234, 5678, 0o4755], 'setuid survives the chown');
  const l = await lstat(join(root, 'home/app/link'));
  assert.deepEqual([l.uid, l.gid], [1234, 5678]);
  assert.equal((await stat(join(root, 'tmp'))).mode & 0o7777, 0o1777);
  await assert.rejects(lstat(join(root, 'dev/null')), /ENOENT/);
});
