/**
 * Node-level reclaim of dead containers before a disk eviction (the kubelet's containerGC in the
 * eviction manager's nodefs reclaim): exited containers go with their logs, except the newest dead
 * instance of each container of a pod the agent knows (lastState, `logs --previous`, the restart
 * count). A pod the agent does not know keeps nothing. Terminated pods' containers are left to the
 * pod worker, which removes an evicted pod's content itself.
 */
import type { CriClient } from '../../cri/index.js';
import { silentLogger, type Logger, messageOf } from '../../lib/index.js';
import { LABELS } from '../cri-config.js';

export interface DeadContainerOptions {
  cri: Pick<CriClient, 'runtime'>;
  /** Removes a container's log files (ContainerLogManager.clean), before the container. */
  cleanLogs: (id: string) => Promise<void>;
  /** Whether the agent has a pod with this uid. */
  isKnownPod: (uid: string) => boolean;
  logger?: Logger;
}

/** Removes the dead containers described above; returns their ids. */
export async function removeDeadContainers(o: DeadContainerOptions): Promise<string[]> {
  const logger = o.logger ?? silentLogger;
  const { containers } = await o.cri.runtime.ListContainers({
    filter: { state: { state: 'CONTAINER_EXITED' }, label_selector: { [LABELS.managedBy]: 'corelet-agent' } },
  });
  const groups = new Map<string, typeof containers>();
  for (const c of containers) {
    if (c.state !== 'CONTAINER_EXITED') continue;
    const key = `${c.labels[LABELS.podUid] ?? ''}/${c.labels[LABELS.containerName] ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const removed: string[] = [];
  for (const list of groups.values()) {
    const uid = list[0]!.labels[LABELS.podUid] ?? '';
    const newestFirst = [...list].sort((a, b) => Number(BigInt(b.created_at || '0') - BigInt(a.created_at || '0')));
    for (const c of o.isKnownPod(uid) ? newestFirst.slice(1) : newestFirst) {
      try {
        await o.cleanLogs(c.id);
        await o.cri.runtime.RemoveContainer({ container_id: c.id });
        removed.push(c.id);
      } catch (err) {
        logger.warn({ container: c.id, err: messageOf(err) }, 'cannot remove a dead container');
      }
    }
  }
  if (removed.length > 0) logger.info({ containers: removed.length }, 'removed dead containers to reclaim disk space');
  return removed;
}
