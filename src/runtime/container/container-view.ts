import type { Container, ContainerStatus } from '../../cri/index.js';
import type { ContainerRecord } from '../store/index.js';
import type { ImageRecord } from '../image/index.js';

const STATE = { created: 'CONTAINER_CREATED', running: 'CONTAINER_RUNNING', exited: 'CONTAINER_EXITED' } as const;

/** The image_ref CRI reports: the repo digest the image was pulled by, else its id. */
function imageRef(rec: ContainerRecord, image: ImageRecord | undefined): string {
  return image?.repoDigests[0] ?? rec.imageId;
}

/** The CRI Container (ListContainers item) of a record. */
export function container(rec: ContainerRecord, image: ImageRecord | undefined): Container {
  return {
    id: rec.id,
    pod_sandbox_id: rec.sandboxId,
    metadata: rec.config.metadata,
    image: { image: rec.imageId, annotations: rec.config.image?.annotations ?? {}, user_specified_image: rec.imageName },
    image_ref: imageRef(rec, image),
    state: STATE[rec.state],
    created_at: rec.createdAt,
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    image_id: rec.imageId,
  };
}

/** The CRI ContainerStatus of a record. */
export function containerStatus(rec: ContainerRecord, image: ImageRecord | undefined): ContainerStatus {
  const resources = rec.config.linux?.resources;
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state: STATE[rec.state],
    created_at: rec.createdAt,
    started_at: rec.startedAt,
    finished_at: rec.finishedAt,
    exit_code: rec.exitCode,
    image: { image: image?.repoTags[0] ?? rec.imageName, user_specified_image: rec.imageName },
    image_ref: imageRef(rec, image),
    image_id: rec.imageId,
    reason: rec.reason,
    message: rec.message,
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    mounts: rec.config.mounts,
    log_path: rec.logPath,
    resources: resources ? { linux: resources } : null,
    user: { linux: { uid: rec.user.uid, gid: rec.user.gid, supplemental_groups: rec.user.additionalGids } },
  };
}
