import type { UnaryImpl } from '../../cri/index.js';
import type { ContainerRecord, StateStore } from '../store/index.js';
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
  // Only the records the filter's fixed fields (id, sandbox, labels) select are brought up to date:
  // a pod's ListContainers does not read every other container's exit file and /proc entry.
  const selected = (c: ContainerRecord) =>
    !f || ((!f.id || c.id.startsWith(f.id)) && (!f.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id)) && matchesLabels(c.config.labels, f.label_selector));
  const ids = d.store.listContainers().filter(selected).map((c) => c.id);
  const recs = await Promise.all(ids.map((id) => d.containers.refresh(id)));
  const containers = recs
    .filter((c): c is ContainerRecord => c !== undefined && selected(c))
    .map((c) => container(c, d.images.get(c.imageId)))
    .filter((c) => !f?.state || c.state === f.state.state);
  return { containers };
};
