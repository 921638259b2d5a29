import type { UnaryImpl } from '../../cri/index.js';
import { ignoreNotFound, invalidArgument, wrap } from '../../lib/index.js';
import type { LifecycleDeps } from '../lifecycle.js';
import { runningByRecord } from '../process-liveness.js';
import { StopWait } from './stop-wait.js';
import type { ContainerManager } from './container-manager.js';

/** How long to wait for an exit after SIGKILL before giving up with an error. */
const KILL_WAIT_MS = 30_000;

/** What StopContainer works with: runc, and the exit watcher's view of the container. */
export type StopContainerDeps = Pick<LifecycleDeps, 'oci' | 'store' | 'namespaces'> & {
  readonly containers: Pick<ContainerManager, 'withLock' | 'refresh' | 'lostExit' | 'lostExitWaitMs' | 'markLost' | 'awaitExit' | 'stopWaits'>;
};

/**
 * StopContainer: the stop signal, then SIGKILL when timeoutSeconds pass; returns once the
 * container has exited. Stopping an exited or unknown-to-runc container is a no-op.
 */
export async function stopContainer(d: StopContainerDeps, idOrPrefix: string, timeoutSeconds: number): Promise<void> {
  const found = d.store.findContainer(idOrPrefix);
  if (!found) return; // CRI: stopping an unknown container succeeds (the kubelet retries blindly)
  // A shorter timeout shortens the wait of a stop in progress (a second, shorter delete), as in CRI-O.
  d.containers.stopWaits.get(found.id)?.shorten(Date.now() + timeoutSeconds * 1000);
  await d.containers.withLock(found.id, () => stopContainerLocked(d, found.id, timeoutSeconds));
}

/** StopContainer's work, the container's lock held (RemoveContainer calls it too). */
export async function stopContainerLocked(d: StopContainerDeps, id: string, timeoutSeconds: number): Promise<void> {
  const { oci } = d;
  const rec = await d.containers.refresh(id);
  if (!rec || rec.state === 'exited') return;
  // Running for sure by the recorded pid and start time (runc's own test; no `runc state` spawned),
  // else runc says.
  const running =
    (await runningByRecord(d.namespaces, { pid: rec.pid, startTime: rec.pidStartTime, bootId: rec.bootId })) ||
    (await oci.state(id).then((st) => st !== undefined && st.status !== 'stopped'));
  if (!running) {
    // runc reports a zombie as stopped: conmon may not have reaped it and written the exit file
    // yet. Lost only when lostExit says so (never while conmon lives); otherwise wait for the file.
    const verdict = await d.containers.lostExit(rec, d.containers.lostExitWaitMs);
    if (verdict === 'lost') await d.containers.markLost(id);
    else if (verdict === 'running' && (await d.containers.awaitExit(id, KILL_WAIT_MS)) === undefined) {
      throw wrap(new Error('runc reports it stopped, but no exit came'), `stopping container ${id}`);
    }
    await d.containers.refresh(id);
    return;
  }
  if (timeoutSeconds > 0 && rec.state === 'running') {
    if (rec.stopSignal === 9 && rec.parentOomKillsAtStart !== undefined) await d.store.updateContainer(id, (r) => void (r.killedByRuntime = true));
    await oci.kill(id, rec.stopSignal).catch(ignoreNotFound);
    const wait = new StopWait(Date.now() + timeoutSeconds * 1000);
    d.containers.stopWaits.set(id, wait);
    try {
      if ((await wait.until((ms, signal) => d.containers.awaitExit(id, ms, signal))) !== undefined) {
        await d.containers.refresh(id);
        return;
      }
    } finally {
      d.containers.stopWaits.delete(id);
    }
  }
  // under systemd the exit 137 this causes must not read as an OOM kill (see slicedOomKill)
  if (rec.parentOomKillsAtStart !== undefined) await d.store.updateContainer(id, (r) => void (r.killedByRuntime = true));
  await oci.kill(id, 'KILL', true).catch(ignoreNotFound);
  if ((await d.containers.awaitExit(id, KILL_WAIT_MS)) === undefined) throw wrap(new Error('no exit after SIGKILL'), `stopping container ${id}`);
  await d.containers.refresh(id);
}

export const stopContainerRpc = (verbs: { stopContainer: (id: string, timeoutSeconds: number) => Promise<void> }): UnaryImpl<'StopContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const timeout = Number(req.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be >= 0, got ${req.timeout}`);
  await verbs.stopContainer(req.container_id, timeout);
  return {};
};
