import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import { conmonCtlPath, reopenContainerLog as askConmonToReopen } from '../oci/index.js';
import { socketDir, type LifecycleDeps } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';

/** What ReopenContainerLog works with. */
export type ReopenLogDeps = Pick<LifecycleDeps, 'config'> & { readonly containers: Pick<ContainerManager, 'running'> };

/** ReopenContainerLog: asks conmon to reopen the log file (after the kubelet rotated it). */
export async function reopenContainerLogOf(d: ReopenLogDeps, idOrPrefix: string): Promise<void> {
  const rec = await d.containers.running(idOrPrefix);
  await askConmonToReopen(conmonCtlPath(socketDir(d.config), rec.id), rec.logPath || undefined);
}

export const reopenContainerLog = (d: ReopenLogDeps): UnaryImpl<'ReopenContainerLog'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await reopenContainerLogOf(d, req.container_id);
  return {};
};
