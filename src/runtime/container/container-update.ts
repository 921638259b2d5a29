import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const updateContainerResources = (rt: RuntimeContext): UnaryImpl<'UpdateContainerResources'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await rt.containers.updateResources(req.container_id, req.linux);
  return {};
};
