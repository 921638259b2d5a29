import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const removePodSandbox = (rt: RuntimeContext): UnaryImpl<'RemovePodSandbox'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  await rt.sandboxes.remove(req.pod_sandbox_id);
  return {};
};
