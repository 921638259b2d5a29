/**
 * Image volumes (CRI Mount.image, KEP-4639): a mount whose source is an image already on the node
 * (the kubelet pulls it, the runtime mounts it). The image's unpacked rootfs in the store, or the
 * folder image_sub_path names inside it, is bind-mounted read-only into the container by the OCI
 * runtime (the store's rootfs is immutable, so nothing else needs mounting on the host); the record
 * keeps the image's id in the mount's image.image_ref, which ContainerStatus reports and which keeps
 * the image in use (RemoveImage refuses it while the container exists). As containerd 2.x:
 * host_path must be empty, readonly must be true, the sub path is resolved inside the image
 * (symlinks included, never out of it) and must be an existing folder.
 */
import type { ContainerConfig__Output, Mount__Output } from '../../cri/index.js';
import { CoreletError, invalidArgument, notFound } from '../../lib/index.js';
import { resolveDirInRoot } from '../image/index.js';
import type { ImagePort } from '../lifecycle.js';

/** What CreateContainer mounts: the config for the OCI spec and the config the record keeps. */
export interface ResolvedImageVolumes {
  /** Image mounts turned into read-only binds of a folder of the image's rootfs. */
  specConfig: ContainerConfig__Output;
  /** The request with each image mount's image.image_ref set to the image's id. */
  recordConfig: ContainerConfig__Output;
  /** Ids of the images mounted. */
  imageIds: string[];
}

/**
 * Resolves every image mount of config (InvalidArgument / NotFound naming mounts[i]), holding each
 * image from removal: its release() goes into releases, for the caller to call (also on an error).
 */
export async function resolveImageVolumes(images: ImagePort, config: ContainerConfig__Output, releases: Array<() => void>): Promise<ResolvedImageVolumes> {
  const specMounts: Mount__Output[] = [];
  const recordMounts: Mount__Output[] = [];
  const imageIds: string[] = [];
  for (const [i, m] of config.mounts.entries()) {
    const field = `mounts[${i}]`;
    if (!m.image) {
      if (m.image_sub_path) throw invalidArgument(`${field}.image_sub_path is set but ${field}.image is not: a sub path is only for image volumes`);
      specMounts.push(m);
      recordMounts.push(m);
      continue;
    }
    if (m.host_path) throw invalidArgument(`${field}: host_path and image are mutually exclusive (host_path ${JSON.stringify(m.host_path)})`);
    if (!m.readonly) throw invalidArgument(`${field}.readonly must be true: image volumes are read-only`);
    const ref = m.image.image;
    if (!ref) throw invalidArgument(`${field}.image.image is required`);
    const held = images.hold(ref);
    if (!held) throw notFound(`${field}.image.image: image ${JSON.stringify(ref)} is not present on this node; pull it first`);
    releases.push(held.release);
    const image = held.image;
    const rootfs = images.rootfsPath(image.id);
    const source = m.image_sub_path ? await subPathIn(rootfs, m.image_sub_path, `${field}.image_sub_path`, ref) : rootfs;
    // Always private, as containerd mounts them: a shared or bidirectional bind would let the
    // container's mounts reach the store's image folder on the host.
    specMounts.push({ ...m, host_path: source, image: null, image_sub_path: '', propagation: 'PROPAGATION_PRIVATE' });
    recordMounts.push({ ...m, image: { ...m.image, image_ref: image.id } });
    imageIds.push(image.id);
  }
  return { specConfig: { ...config, mounts: specMounts }, recordConfig: { ...config, mounts: recordMounts }, imageIds };
}

/** Host folders the runtime creates for mounts: none for image volumes (their source is the image). */
export function hostPathsToCreate(config: { readonly mounts: readonly Mount__Output[] }): string[] {
  return config.mounts.filter((m) => !m.image).map((m) => m.host_path);
}

/** True when a container config mounts the image as a volume (its record's image_ref). */
export function mountsImage(config: { readonly mounts: readonly Mount__Output[] }, imageId: string): boolean {
  return config.mounts.some((m) => m.image?.image_ref === imageId);
}

/**
 * The folder sub names inside rootfs: relative, no `..`, resolved with symlinks taken inside the
 * image; it must exist and be a folder (mounting a single file is a non-goal of the KEP).
 */
async function subPathIn(rootfs: string, sub: string, field: string, ref: string): Promise<string> {
  if (sub.includes('\0')) throw invalidArgument(`${field} must not contain NUL`);
  if (sub.startsWith('/')) throw invalidArgument(`${field} ${JSON.stringify(sub)} must be relative to the image's root`);
  const parts = sub.split('/');
  if (parts.includes('..')) throw invalidArgument(`${field} ${JSON.stringify(sub)} must not contain ".."`);
  let dir: string | undefined;
  try {
    dir = await resolveDirInRoot(rootfs, parts, { create: false });
  } catch (err) {
    if (err instanceof CoreletError) throw invalidArgument(`${field} ${JSON.stringify(sub)} is not a folder of image ${ref}`);
    throw err;
  }
  if (dir === undefined) throw invalidArgument(`${field} ${JSON.stringify(sub)} does not exist in image ${ref}`);
  return dir;
}
