import { join } from 'node:path';
import type { UnaryImpl } from '../../cri/index.js';
import { ignoreNotFound, invalidArgument, wrap } from '../../lib/index.js';
import type { SandboxRecord } from '../store/index.js';
import { publishEvent, type LifecycleDeps } from '../lifecycle.js';
import { runningByRecord } from '../process-liveness.js';
import { networkArgs } from './sandbox-network.js';
import type { SandboxManager } from './sandbox-manager.js';

/**
 * What StopPodSandbox works with; stopContainer is StopContainer, injected (the sandbox side
 * imports nothing of the container side).
 */
export type StopPodSandboxDeps = Pick<LifecycleDeps, 'store' | 'network' | 'mounts' | 'namespaces' | 'oci' | 'logger' | 'events'> & {
  readonly sandboxes: Pick<SandboxManager, 'withLock' | 'dir' | 'pinDir'>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
};

/**
 * StopPodSandbox: stops every container of the pod, the pause container, tears down the network
 * and unmounts /dev/shm. Idempotent, and safe on a half-stopped sandbox.
 */
export async function stopPodSandbox(d: StopPodSandboxDeps, idOrPrefix: string): Promise<void> {
  const found = d.store.findSandbox(idOrPrefix);
  if (!found) return; // CRI: stopping an unknown sandbox succeeds (the kubelet retries blindly)
  await d.sandboxes.withLock(found.id, async () => {
    const rec = d.store.findSandbox(found.id);
    if (!rec || rec.state === 'creating') return;
    await stopPodSandboxLocked(d, rec);
  });
}

/** StopPodSandbox's work, the sandbox's lock held (RemovePodSandbox calls it too). */
export async function stopPodSandboxLocked(d: StopPodSandboxDeps, rec: SandboxRecord): Promise<void> {
  const { store, network, mounts, logger } = d;
  for (const c of store.listContainers().filter((c) => c.sandboxId === rec.id)) {
    await d.stopContainer(c.id, 0);
  }
  await killPause(d, rec);
  if (rec.netnsPath) {
    await network.tearDown(networkArgs(rec)).catch((err) => {
      throw wrap(err, 'tearing down pod network');
    });
    await network.removeNetns(rec.netnsPath);
  }
  if (rec.shmMounted) await mounts.unmount(join(d.sandboxes.dir(rec.id), 'shm'));
  // A stopped sandbox runs no container again: its namespaces may go.
  await d.namespaces.unpin(d.sandboxes.pinDir(rec.id));
  await store.updateSandbox(rec.id, (r) => {
    r.state = 'notready';
    r.pausePid = 0;
    r.stopped = true;
  });
  logger.info({ sandbox: rec.id }, 'sandbox stopped');
  publishEvent(d, 'CONTAINER_STOPPED_EVENT', rec.id, rec.id);
}

/**
 * Kills the pause container (if runc still has it running) and deletes it from runc. Whether it
 * runs comes from the recorded pause pid and start time when they show it running (runc's own
 * test), else from `runc state`.
 */
export async function killPause(d: Pick<LifecycleDeps, 'oci' | 'namespaces'>, rec: SandboxRecord): Promise<void> {
  const { oci } = d;
  const running =
    (await runningByRecord(d.namespaces, { pid: rec.pausePid, startTime: rec.pauseStartTime, bootId: rec.bootId })) ||
    (await oci.state(rec.id).then((st) => st !== undefined && st.status !== 'stopped'));
  if (running) {
    await oci.kill(rec.id, 'KILL', true).catch(ignoreNotFound);
  }
  await oci.delete(rec.id, { force: true });
}

export const stopPodSandboxRpc = (verbs: { stopPodSandbox: (id: string) => Promise<void> }): UnaryImpl<'StopPodSandbox'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  await verbs.stopPodSandbox(req.pod_sandbox_id);
  return {};
};
