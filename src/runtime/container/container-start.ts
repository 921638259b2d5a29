import { dirname } from 'node:path';
import type { UnaryImpl } from '../../cri/index.js';
import { failedPrecondition, invalidArgument, nowNanos, wrap, messageOf } from '../../lib/index.js';
import { publishEvent, type LifecycleDeps } from '../lifecycle.js';
import type { SandboxManager } from '../sandbox/sandbox-manager.js';
import type { ContainerManager } from './container-manager.js';

/** What StartContainer works with. */
export type StartContainerDeps = Pick<LifecycleDeps, 'store' | 'oci' | 'events' | 'cgroups'> & {
  readonly containers: Pick<ContainerManager, 'withLock' | 'refresh'>;
  readonly sandboxes: Pick<SandboxManager, 'ready'>;
};

/** StartContainer: only a created container can start, in a sandbox that is still ready. */
export async function startContainer(d: StartContainerDeps, idOrPrefix: string): Promise<void> {
  const found = d.store.container(idOrPrefix);
  await d.containers.withLock(found.id, async () => {
    const rec = d.store.container(found.id);
    if (rec.state !== 'created') throw failedPrecondition(`container ${rec.id} is ${rec.state}, only a created container can be started`);
    // Its sandbox's namespaces must still be the pod's (the pause alive, the same process).
    await d.sandboxes.ready(rec.sandboxId);
    // Taken before the start so that an instant exit can never precede it.
    const startedAt = nowNanos();
    // A systemd scope is gone as soon as its last process is: its own OOM count with it. The pod
    // slice's count (hierarchical on v2) taken before the start lets the exit tell an OOM kill.
    const parentOomKills = rec.cgroupsPath.endsWith('.scope') ? (await d.cgroups.stats(dirname(rec.cgroupsPath)))?.oomKills : undefined;
    // stored before the start: the exit watcher may see an instant OOM kill before StartContainer returns
    if (parentOomKills !== undefined) await d.store.updateContainer(rec.id, (r) => void (r.parentOomKillsAtStart = parentOomKills));
    try {
      await d.oci.start(rec.id);
    } catch (err) {
      await d.store.updateContainer(rec.id, (r) => {
        r.state = 'exited';
        r.exitCode = 128;
        r.reason = 'StartError';
        r.message = messageOf(err);
        r.finishedAt = nowNanos();
      });
      throw wrap(err, `starting container ${rec.id}`);
    }
    await d.store.updateContainer(rec.id, (r) => {
      if (r.state === 'created') r.state = 'running';
      r.startedAt = startedAt;
    });
    publishEvent(d, 'CONTAINER_STARTED_EVENT', rec.id, rec.sandboxId);
    await d.containers.refresh(rec.id);
  });
}

export const startContainerRpc = (verbs: { startContainer: (id: string) => Promise<void> }): UnaryImpl<'StartContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await verbs.startContainer(req.container_id);
  return {};
};
