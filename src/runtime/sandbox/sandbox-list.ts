import type { UnaryImpl } from '../../cri/index.js';
import type { StateStore } from '../store/index.js';
import type { SandboxManager } from './sandbox-manager.js';
import { podSandbox } from './sandbox-view.js';
import { matchesLabels } from '../filters.js';

/** What ListPodSandbox reads: every record, brought up to date with its pause's exit. */
export interface ListPodSandboxDeps {
  readonly store: Pick<StateStore, 'listSandboxes'>;
  readonly sandboxes: Pick<SandboxManager, 'refreshPause'>;
}

export const listPodSandbox = (d: ListPodSandboxDeps): UnaryImpl<'ListPodSandbox'> => async (req) => {
  const f = req.filter;
  // A pause that died unseen (its conmon gone, so no exit file) is NOTREADY here, not READY forever.
  await Promise.all(d.store.listSandboxes().map((s) => d.sandboxes.refreshPause(s.id)));
  const items = d.store
    .listSandboxes()
    .filter((s) => s.state !== 'creating')
    .map(podSandbox)
    .filter((s) => !f || ((!f.id || s.id!.startsWith(f.id)) && (!f.state || s.state === f.state.state) && matchesLabels(s.labels, f.label_selector)));
  return { items };
};
