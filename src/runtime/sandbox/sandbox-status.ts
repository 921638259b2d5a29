import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import type { StateStore } from '../store/index.js';
import type { SandboxManager } from './sandbox-manager.js';
import { podSandboxStatus, sandboxInfo } from './sandbox-view.js';

/** What PodSandboxStatus reads: the record, brought up to date with its pause's exit. */
export interface PodSandboxStatusDeps {
  readonly store: Pick<StateStore, 'sandbox'>;
  readonly sandboxes: Pick<SandboxManager, 'refreshPause'>;
}

export const podSandboxStatusRpc = (d: PodSandboxStatusDeps): UnaryImpl<'PodSandboxStatus'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  const rec = (await d.sandboxes.refreshPause(d.store.sandbox(req.pod_sandbox_id).id)) ?? d.store.sandbox(req.pod_sandbox_id);
  if (rec.state === 'creating') throw invalidArgument(`sandbox ${rec.id} is still being created`);
  return {
    status: podSandboxStatus(rec),
    info: req.verbose ? sandboxInfo(rec) : {},
    containers_statuses: [],
    timestamp: String(BigInt(Date.now()) * 1_000_000n),
  };
};
