import type { UnaryImpl, Image } from '../../cri/index.js';
import { invalidArgument, unixNanos } from '../../lib/index.js';
import type { RuntimeContext } from '../runtime-context.js';
import { registryAuthFromCri, type ImageRecord } from '../image/index.js';

/** The CRI Image of a record: uid when the image's USER is numeric, else the username. */
function criImage(rec: ImageRecord): Image {
  return {
    id: rec.id,
    repo_tags: rec.repoTags,
    repo_digests: rec.repoDigests,
    size: rec.size,
    uid: rec.uid !== undefined ? { value: rec.uid } : null,
    username: rec.username,
    spec: { image: rec.id, annotations: {} },
    pinned: rec.pinned,
  };
}

export const listImages = (rt: RuntimeContext): UnaryImpl<'ListImages'> => async (req) => ({
  images: rt.images.list(req.filter?.image?.image || undefined).map(criImage),
});

export const imageStatus = (rt: RuntimeContext): UnaryImpl<'ImageStatus'> => async (req) => {
  if (!req.image?.image) throw invalidArgument('image.image is required');
  const rec = rt.images.get(req.image.image);
  if (!rec) return { image: null, info: {} };
  return {
    image: criImage(rec),
    info: req.verbose ? <Record<string, string>>{ info: JSON.stringify({ imageSpec: { config: rec.config }, rootfs: rt.images.rootfsPath(rec.id) }) } : {},
  };
};

export const pullImage = (rt: RuntimeContext): UnaryImpl<'PullImage'> => async (req) => {
  if (!req.image?.image) throw invalidArgument('image.image is required');
  const auth = registryAuthFromCri(req.auth);
  const rec = await rt.images.pull(req.image.image, auth);
  return { image_ref: rec.id };
};

export const removeImage = (rt: RuntimeContext): UnaryImpl<'RemoveImage'> => async (req) => {
  if (!req.image?.image) throw invalidArgument('image.image is required');
  await rt.images.remove(req.image.image);
  return {};
};

export const imageFsInfo = (rt: RuntimeContext): UnaryImpl<'ImageFsInfo'> => async () => {
  const fs = await rt.images.fsInfo();
  const usage = {
    timestamp: unixNanos(fs.timestamp),
    fs_id: { mountpoint: fs.mountpoint },
    used_bytes: { value: fs.usedBytes },
    inodes_used: { value: fs.inodesUsed },
  };
  return { image_filesystems: [usage], container_filesystems: [usage] };
};
