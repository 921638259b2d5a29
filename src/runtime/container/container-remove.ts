import { join } from 'node:path';
import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import { forgetMonitorFiles, publishEvent, type LifecycleDeps } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';
import { forgetContainerStats } from './container-stats.js';
import { stopContainerLocked, type StopContainerDeps } from './container-stop.js';

/** What RemoveContainer works with (a running container is stopped first). */
export type RemoveContainerDeps = StopContainerDeps &
  Pick<LifecycleDeps, 'config' | 'mounts' | 'events'> & {
    readonly containers: Pick<ContainerManager, 'dir' | 'forget'>;
  };

/** RemoveContainer: kills it if still running, then removes every trace; unknown ids succeed. */
export async function removeContainer(d: RemoveContainerDeps, idOrPrefix: string): Promise<void> {
  const found = d.store.findContainer(idOrPrefix);
  if (!found) return;
  await d.containers.withLock(found.id, async () => {
    const rec = d.store.findContainer(found.id);
    if (!rec) return;
    if (rec.state !== 'exited') await stopContainerLocked(d, rec.id, 0);
    await d.oci.delete(rec.id, { force: true });
    await d.mounts.unmount(join(d.containers.dir(rec.id), 'rootfs'));
    publishEvent(d, 'CONTAINER_DELETED_EVENT', rec.id, rec.sandboxId);
    await d.store.remove('containers', rec.id);
    d.containers.forget(rec.id);
    forgetContainerStats(rec.id);
    await forgetMonitorFiles(d.config, rec.id);
  });
}

export const removeContainerRpc = (verbs: { removeContainer: (id: string) => Promise<void> }): UnaryImpl<'RemoveContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await verbs.removeContainer(req.container_id);
  return {};
};
