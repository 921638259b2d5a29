import type { UnaryImpl } from '../../cri/index.js';
import type { StateStore } from '../store/index.js';
import type { ImagePort } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';
import { container } from './container-view.js';
import { matchesLabels } from '../filters.js';

/** What ListContainers reads: every record brought up to date with its exit file, and their images. */
export interface ListContainersDeps {
  readonly store: Pick<StateStore, 'listContainers'>;
  readonly containers: Pick<ContainerManager, 'refresh'>;
  readonly images: Pick<ImagePort, 'get'>;
}

export const listContainers = (d: ListContainersDeps): UnaryImpl<'ListContainers'> => async (req) => {
  const f = req.filter;
  const recs = d.store.listContainers();
  await Promise.all(recs.map((c) => d.containers.refresh(c.id)));
  const containers = d.store
    .listContainers()
    .map((c) => container(c, d.images.get(c.imageId)))
    .filter(
      (c) =>
        !f ||
        ((!f.id || c.id!.startsWith(f.id)) &&
          (!f.pod_sandbox_id || c.pod_sandbox_id!.startsWith(f.pod_sandbox_id)) &&
          (!f.state || c.state === f.state.state) &&
          matchesLabels(c.labels, f.label_selector)),
    );
  return { containers };
};
