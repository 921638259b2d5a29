import type { UnaryImpl } from '../../cri/server.js';
import type { RuntimeContext } from '../runtime-context.js';
import { container } from './container-view.js';
import { matchesLabels } from '../filters.js';

export const listContainers = (rt: RuntimeContext): UnaryImpl<'ListContainers'> => async (req) => {
  const f = req.filter;
  const recs = rt.deps.store.listContainers();
  await Promise.all(recs.map((c) => rt.containers.refresh(c.id)));
  const containers = rt.deps.store
    .listContainers()
    .map((c) => container(c, rt.images.get(c.imageId)))
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
