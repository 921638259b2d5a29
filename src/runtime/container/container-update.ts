import type { LinuxContainerResources__Output, UnaryImpl } from '../../cri/index.js';
import { failedPrecondition, invalidArgument } from '../../lib/index.js';
import { toOciResources } from '../spec/index.js';
import type { LifecycleDeps } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';

/** What UpdateContainerResources works with. */
export type UpdateContainerDeps = Pick<LifecycleDeps, 'store' | 'oci' | 'host'> & {
  readonly containers: Pick<ContainerManager, 'withLock' | 'refresh'>;
};

/** UpdateContainerResources: applies the new limits through the OCI runtime and remembers them. */
export async function updateContainerResources(d: UpdateContainerDeps, idOrPrefix: string, resources: LinuxContainerResources__Output | null): Promise<void> {
  const found = d.store.container(idOrPrefix);
  if (!resources) return;
  await d.containers.withLock(found.id, async () => {
    const rec = await d.containers.refresh(found.id);
    if (!rec || rec.state === 'exited') throw failedPrecondition(`container ${found.id} is not running`);
    const { cgroupV2, swapAvailable, hugetlbAvailable } = d.host;
    await d.oci.update(rec.id, toOciResources(resources, { cgroupV2, swapAvailable, hugetlbAvailable }));
    await d.store.updateContainer(rec.id, (r) => {
      if (!r.config.linux) r.config.linux = { resources: null, security_context: null } as unknown as typeof r.config.linux;
      r.config.linux!.resources = resources;
    });
  });
}

export const updateContainerResourcesRpc = (verbs: { updateContainerResources: (id: string, resources: LinuxContainerResources__Output | null) => Promise<void> }): UnaryImpl<'UpdateContainerResources'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await verbs.updateContainerResources(req.container_id, req.linux);
  return {};
};
