import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const removeContainer = (rt: RuntimeContext): UnaryImpl<'RemoveContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  await rt.containers.remove(req.container_id);
  return {};
};
