import type { UnaryImpl } from '../../cri/server.js';
import { failedPrecondition, invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

/** PortForward: a single-use URL tunnelling TCP connections into the pod's network namespace. */
export const portForward = (rt: RuntimeContext): UnaryImpl<'PortForward'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  for (const p of req.port) if (!Number.isInteger(p) || p <= 0 || p > 65535) throw invalidArgument(`invalid port ${p}`);
  const rec = rt.deps.store.sandbox(req.pod_sandbox_id);
  if (rec.state !== 'ready') throw failedPrecondition(`sandbox ${rec.id} is not ready`);
  return { url: rt.streaming.requestPortForward({ podSandboxId: rec.id, ports: req.port.length > 0 ? req.port : undefined }) };
};
