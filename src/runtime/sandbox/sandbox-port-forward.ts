import type { UnaryImpl } from '../../cri/index.js';
import { failedPrecondition, invalidArgument } from '../../lib/index.js';
import type { StateStore } from '../store/index.js';
import type { StreamingServer } from '../../streaming/index.js';

/** What PortForward works with: the sandbox record and the streaming server handing out URLs. */
export interface PortForwardDeps {
  readonly store: Pick<StateStore, 'sandbox'>;
  readonly streaming: Pick<StreamingServer, 'requestPortForward'>;
}

/** PortForward: a single-use URL tunnelling TCP connections into the pod's network namespace. */
export const portForward = (d: PortForwardDeps): UnaryImpl<'PortForward'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  for (const p of req.port) if (!Number.isInteger(p) || p <= 0 || p > 65535) throw invalidArgument(`invalid port ${p}`);
  const rec = d.store.sandbox(req.pod_sandbox_id);
  if (rec.state !== 'ready') throw failedPrecondition(`sandbox ${rec.id} is not ready`);
  return { url: d.streaming.requestPortForward({ podSandboxId: rec.id, ports: req.port.length > 0 ? req.port : undefined }) };
};
