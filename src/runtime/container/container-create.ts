import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const createContainer = (rt: RuntimeContext): UnaryImpl<'CreateContainer'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  return { container_id: await rt.containers.create(req.pod_sandbox_id, req.config, req.sandbox_config) };
};
