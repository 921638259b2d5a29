import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig__Output, Mount__Output } from '../../../src/cri/index.js';
import { hostPathsToCreate, mountsImage, resolveImageVolumes } from '../../../src/runtime/container/image-volumes.js';
import { errorOf } from '../spec/fixtures.js';
import { cleanUpAfter, fakeContainerConfig, fakeDeps, fakePodConfig, fakeRuntime } from './fakes.js';

const pod = fakePodConfig('p');

function imageMount(over: Partial<Mount__Output> = {}): Mount__Output {
  return {
    container_path: '/mnt/vol',
    host_path: '',
    readonly: true,
    selinux_relabel: false,
    propagation: 'PROPAGATION_PRIVATE',
    uidMappings: [],
    gidMappings: [],
    recursive_read_only: false,
    image: { image: 'busybox', annotations: {}, user_specified_image: 'busybox', runtime_handler: '', image_ref: '' },
    image_sub_path: '',
    mount_options: [],
    ...over,
  };
}

function withMounts(...mounts: Mount__Output[]): ContainerConfig__Output {
  return { ...fakeContainerConfig('c'), mounts };
}

/** Images the fake store still holds from removal (fakes.ts counts hold()s and releases). */
const openHolds = (images: unknown) => [...(images as { held: Map<string, number> }).held].filter(([, n]) => n !== 0).map(([id]) => id);

test('an image volume becomes a read-only bind of the image rootfs, its sub path, and the record keeps the image id', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  // a bidirectional request is made private, as containerd does: the container's mounts must not reach the store
  const id = await verbs.createContainer(sandboxId, withMounts(imageMount(), imageMount({ container_path: '/mnt/etc', image_sub_path: 'etc', propagation: 'PROPAGATION_BIDIRECTIONAL' })), pod);
  const spec = JSON.parse(await readFile(join(deps.store.dir('containers', id), 'config.json'), 'utf8')) as { mounts: { destination: string; source: string; options: string[] }[] };
  const imageRoot = deps.images.rootfsPath('busybox');
  const vol = spec.mounts.find((m) => m.destination === '/mnt/vol')!;
  const etc = spec.mounts.find((m) => m.destination === '/mnt/etc')!;
  assert.equal(vol.source, imageRoot);
  assert.equal(etc.source, join(imageRoot, 'etc'));
  for (const m of [vol, etc]) assert.deepEqual(m.options, ['rbind', 'rprivate', 'ro']);
  const rec = deps.store.container(id);
  assert.deepEqual(rec.config.mounts.map((m) => m.image?.image_ref), ['sha256:img', 'sha256:img'], 'ContainerStatus reports the image id');
  assert.equal(rec.config.mounts[1]!.image_sub_path, 'etc');
  assert.equal(mountsImage(rec.config, 'sha256:img'), true, 'the image is in use while the container exists');
  assert.equal(mountsImage(rec.config, 'sha256:other'), false);
  assert.deepEqual(openHolds(deps.images), [], 'the record keeps the images in use now: the create released its holds');
});

test('a refused image volume leaves no container behind', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  await assert.rejects(verbs.createContainer(sandboxId, withMounts(imageMount({ readonly: false })), pod), errorOf('InvalidArgument', /mounts\[0\]\.readonly must be true/));
  assert.deepEqual(deps.store.listContainers(), []);
  assert.deepEqual(openHolds(deps.images), [], 'nor a hold on its images');
});

test('image volume requests are checked, each error naming its field', async (t) => {
  const { deps, root } = await fakeDeps();
  t.after(() => import('node:fs/promises').then((fs) => fs.rm(root, { recursive: true, force: true })));
  const cases: [string, Mount__Output, string, RegExp][] = [
    ['writable', imageMount({ readonly: false }), 'InvalidArgument', /mounts\[0\]\.readonly must be true/],
    ['host path too', imageMount({ host_path: '/srv' }), 'InvalidArgument', /mounts\[0\]: host_path and image are mutually exclusive/],
    ['no image name', imageMount({ image: { image: '', annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' } }), 'InvalidArgument', /mounts\[0\]\.image\.image is required/],
    ['image not pulled', imageMount({ image: { image: 'quay.io/x/y:1', annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' } }), 'NotFound', /mounts\[0\]\.image\.image: image "quay\.io\/x\/y:1" is not present on this node; pull it first/],
    ['absolute sub path', imageMount({ image_sub_path: '/etc' }), 'InvalidArgument', /mounts\[0\]\.image_sub_path "\/etc" must be relative/],
    ['climbing sub path', imageMount({ image_sub_path: 'etc/../..' }), 'InvalidArgument', /mounts\[0\]\.image_sub_path "etc\/\.\.\/\.\." must not contain "\.\."/],
    ['missing sub path', imageMount({ image_sub_path: 'not-existing' }), 'InvalidArgument', /mounts\[0\]\.image_sub_path "not-existing" does not exist in image busybox/],
    ['file sub path', imageMount({ image_sub_path: 'etc/passwd' }), 'InvalidArgument', /mounts\[0\]\.image_sub_path "etc\/passwd" is not a folder of image busybox/],
    ['sub path without image', imageMount({ image: null, host_path: '/srv', image_sub_path: 'etc' }), 'InvalidArgument', /mounts\[0\]\.image_sub_path is set but mounts\[0\]\.image is not/],
  ];
  for (const [what, mount, kind, re] of cases) {
    await assert.rejects(resolveImageVolumes(deps.images, withMounts(mount), []), errorOf(kind, re), what);
  }
});

test('symlinks in an image sub path are followed inside the image, never out of it', async (t) => {
  const { deps, root } = await fakeDeps();
  t.after(() => import('node:fs/promises').then((fs) => fs.rm(root, { recursive: true, force: true })));
  const imageRoot = deps.images.rootfsPath('busybox');
  await mkdir(join(imageRoot, 'usr', 'share'), { recursive: true });
  await writeFile(join(imageRoot, 'usr', 'share', 'marker'), 'x');
  await symlink('/etc', join(imageRoot, 'abs'));
  await symlink('../../../../..', join(imageRoot, 'usr', 'up'));
  await symlink('usr/share', join(imageRoot, 'rel'));
  const source = async (sub: string) => (await resolveImageVolumes(deps.images, withMounts(imageMount({ image_sub_path: sub })), [])).specConfig.mounts[0]!.host_path;
  assert.equal(await source('abs'), join(imageRoot, 'etc'), 'an absolute link restarts at the image root, not the host /');
  assert.equal(await source('usr/up'), imageRoot, '.. in a link stops at the image root');
  assert.equal(await source('rel'), join(imageRoot, 'usr', 'share'));
  assert.equal(await source('etc/'), join(imageRoot, 'etc'));
});

test('host path mounts pass through unchanged beside image volumes', async (t) => {
  const { deps, root } = await fakeDeps();
  t.after(() => import('node:fs/promises').then((fs) => fs.rm(root, { recursive: true, force: true })));
  const host = imageMount({ image: null, host_path: '/srv/data', readonly: false, container_path: '/data' });
  const r = await resolveImageVolumes(deps.images, withMounts(host, imageMount()), []);
  assert.deepEqual(r.specConfig.mounts[0], host);
  assert.deepEqual(r.recordConfig.mounts[0], host);
  assert.equal(r.specConfig.mounts[1]!.image, null);
  assert.deepEqual(r.imageIds, ['sha256:img']);
  assert.deepEqual(hostPathsToCreate(r.recordConfig), ['/srv/data'], 'no folder is made for an image volume');
});
