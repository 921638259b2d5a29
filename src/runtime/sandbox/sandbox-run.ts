import type { UnaryImpl } from '../../cri/server.js';
import type { RuntimeContext } from '../runtime-context.js';

export const runPodSandbox = (rt: RuntimeContext): UnaryImpl<'RunPodSandbox'> => async (req) => ({
  pod_sandbox_id: await rt.sandboxes.run(req.config, req.runtime_handler),
});
