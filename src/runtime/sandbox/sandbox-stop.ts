import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const stopPodSandbox = (rt: RuntimeContext): UnaryImpl<'StopPodSandbox'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  await rt.sandboxes.stop(req.pod_sandbox_id);
  return {};
};
