import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const stopContainer = (rt: RuntimeContext): UnaryImpl<'StopContainer'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const timeout = Number(req.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be >= 0, got ${req.timeout}`);
  await rt.containers.stop(req.container_id, timeout);
  return {};
};
