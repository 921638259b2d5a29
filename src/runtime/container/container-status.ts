import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';
import { containerStatus } from './container-view.js';

export const containerStatusRpc = (rt: RuntimeContext): UnaryImpl<'ContainerStatus'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = (await rt.containers.refresh(rt.deps.store.container(req.container_id).id))!;
  const info: Record<string, string> = req.verbose
    ? { info: JSON.stringify({ sandboxID: rec.sandboxId, pid: rec.pid, cgroupsPath: rec.cgroupsPath, config: rec.config }) }
    : {};
  return { status: containerStatus(rec, rt.images.get(rec.imageId)), info };
};
