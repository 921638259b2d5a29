import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const startContainer = (rt: RuntimeContext): UnaryImpl<'StartContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await rt.containers.startContainer(req.container_id);
  return {};
};
