import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podSandboxStatus, sandboxInfo } from './sandbox-view.js';

export const podSandboxStatusRpc = (rt: RuntimeContext): UnaryImpl<'PodSandboxStatus'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  const rec = (await rt.sandboxes.refreshPause(rt.deps.store.sandbox(req.pod_sandbox_id).id)) ?? rt.deps.store.sandbox(req.pod_sandbox_id);
  if (rec.state === 'creating') throw invalidArgument(`sandbox ${rec.id} is still being created`);
  return {
    status: podSandboxStatus(rec),
    info: req.verbose ? sandboxInfo(rec) : {},
    containers_statuses: [],
    timestamp: String(BigInt(Date.now()) * 1_000_000n),
  };
};
