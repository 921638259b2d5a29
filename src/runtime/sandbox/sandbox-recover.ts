import { join } from 'node:path';
import { pinsDir, type LifecycleDeps } from '../lifecycle.js';
import type { SandboxManager } from './sandbox-manager.js';
import { netnsName, networkArgs } from './sandbox-network.js';
import { killPause } from './sandbox-stop.js';
import { cleanupSandbox, type CleanupSandboxDeps } from './sandbox-remove.js';

/** What the sandboxes' recovery at start works with. */
export type RecoverSandboxesDeps = CleanupSandboxDeps &
  Pick<LifecycleDeps, 'oci' | 'network' | 'logger'> & {
    readonly sandboxes: Pick<SandboxManager, 'dir' | 'pinDir' | 'pauseLiveness' | 'markPauseGone'>;
  };

/**
 * After a restart: a sandbox caught in `creating` is rolled back; a ready one whose pause process
 * died meanwhile is reported NotReady (its resources stay until StopPodSandbox, as the kubelet
 * expects to call it).
 */
export async function recoverSandboxes(d: RecoverSandboxesDeps): Promise<void> {
  const { store, oci, network, logger } = d;
  for (const rec of store.listSandboxes()) {
    if (rec.state === 'creating') {
      logger.warn({ sandbox: rec.id }, 'rolling back a sandbox left half-created by a previous run');
      await killPause(d, rec).catch(() => undefined);
      await network.tearDown(networkArgs(rec)).catch(() => undefined);
      await network.removeNetns(join(d.config.netnsDir, netnsName(rec.id))).catch(() => undefined);
      await cleanupSandbox(d, rec).catch((err) => logger.error({ sandbox: rec.id, err: String(err) }, 'rollback failed'));
      continue;
    }
    if (rec.state === 'ready') {
      // Only runc's "no such container" (undefined) says the pause is gone; any other failure
      // (a timeout, EAGAIN, runc missing) says nothing: then /proc alone decides.
      const st = await oci.state(rec.id).catch((err: unknown) => {
        logger.warn({ sandbox: rec.id, err: String(err) }, 'runc state failed at start: judging the pause by its pid');
        return 'unreadable' as const;
      });
      if (st === 'unreadable') {
        if ((await d.sandboxes.pauseLiveness(rec)) === 'gone') await d.sandboxes.markPauseGone(rec, `pid ${rec.pausePid} is gone (found at start)`);
      } else if (!st || st.status !== 'running') {
        await d.sandboxes.markPauseGone(rec, 'the pause process is gone (found at start)');
      } else if ((await d.sandboxes.pauseLiveness(rec)) === 'gone') {
        await d.sandboxes.markPauseGone(rec, `pid ${rec.pausePid} is no longer the pause process (found at start)`);
      }
    }
  }
  // Pins of sandboxes whose record is gone (a crash between unpinning and forgetting them).
  const root = pinsDir(d.config);
  for (const id of await d.namespaces.listPinDirs(root)) {
    if (store.findSandbox(id)?.id === id) continue;
    logger.warn({ sandbox: id }, 'removing namespace pins of a sandbox that no longer exists');
    await d.namespaces.unpin(join(root, id)).catch((err) => logger.error({ sandbox: id, err: String(err) }, 'unpinning failed'));
  }
}
