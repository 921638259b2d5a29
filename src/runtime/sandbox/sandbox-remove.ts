import { join } from 'node:path';
import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import type { SandboxRecord } from '../store/index.js';
import { forgetMonitorFiles, publishEvent, type LifecycleDeps } from '../lifecycle.js';
import type { SandboxManager } from './sandbox-manager.js';
import { stopPodSandboxLocked, type StopPodSandboxDeps } from './sandbox-stop.js';
import { removePodCgroups } from './pod-cgroup.js';

/** What removing a stopped sandbox's traces works with (RemovePodSandbox, and the rollback at start). */
export type CleanupSandboxDeps = Pick<LifecycleDeps, 'config' | 'store' | 'cgroups' | 'units' | 'mounts' | 'namespaces' | 'events'> & {
  readonly sandboxes: Pick<SandboxManager, 'dir' | 'pinDir'>;
};

/** What RemovePodSandbox works with; removeContainer is RemoveContainer, injected. */
export type RemovePodSandboxDeps = StopPodSandboxDeps &
  CleanupSandboxDeps & {
    removeContainer(id: string): Promise<void>;
  };

/** RemovePodSandbox: stops it if needed, removes its containers and every trace of it. */
export async function removePodSandbox(d: RemovePodSandboxDeps, idOrPrefix: string): Promise<void> {
  const found = d.store.findSandbox(idOrPrefix);
  if (!found) return;
  await d.sandboxes.withLock(found.id, async () => {
    const rec = d.store.findSandbox(found.id);
    if (!rec) return;
    // NOTREADY alone may mean only that the pause died: its network and mounts are still there.
    if (!rec.stopped) await stopPodSandboxLocked(d, rec);
    for (const c of d.store.listContainers().filter((c) => c.sandboxId === rec.id)) {
      await d.removeContainer(c.id);
    }
    await cleanupSandbox(d, rec);
  });
}

/** Removes what a stopped sandbox still holds on the host, then its record. */
export async function cleanupSandbox(d: CleanupSandboxDeps, rec: SandboxRecord): Promise<void> {
  const { store, cgroups, mounts } = d;
  await mounts.unmount(join(d.sandboxes.dir(rec.id), 'shm'));
  await d.namespaces.unpin(d.sandboxes.pinDir(rec.id));
  await removePodCgroups({ cgroups, units: d.units }, rec, store.listSandboxes());
  const wasVisible = rec.state !== 'creating';
  if (wasVisible) publishEvent(d, 'CONTAINER_DELETED_EVENT', rec.id, rec.id);
  await store.remove('sandboxes', rec.id);
  await forgetMonitorFiles(d.config, rec.id);
}

export const removePodSandboxRpc = (verbs: { removePodSandbox: (id: string) => Promise<void> }): UnaryImpl<'RemovePodSandbox'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  await verbs.removePodSandbox(req.pod_sandbox_id);
  return {};
};
