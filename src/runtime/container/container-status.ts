import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import type { StateStore } from '../store/index.js';
import type { ImagePort } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';
import { containerStatus } from './container-view.js';

/** What ContainerStatus reads: the record brought up to date with its exit file, and its image. */
export interface ContainerStatusDeps {
  readonly store: Pick<StateStore, 'container'>;
  readonly containers: Pick<ContainerManager, 'refresh'>;
  readonly images: Pick<ImagePort, 'get'>;
}

export const containerStatusRpc = (d: ContainerStatusDeps): UnaryImpl<'ContainerStatus'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = (await d.containers.refresh(d.store.container(req.container_id).id))!;
  const info: Record<string, string> = req.verbose
    ? { info: JSON.stringify({ sandboxID: rec.sandboxId, pid: rec.pid, cgroupsPath: rec.cgroupsPath, config: rec.config }) }
    : {};
  return { status: containerStatus(rec, d.images.get(rec.imageId)), info };
};

