import type { PodSandbox, UnaryImpl } from '../../cri/index.js';
import type { SandboxRecord, StateStore } from '../store/index.js';
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
  // Only the records the filter's fixed fields (id, labels) select are brought up to date: a pod's
  // ListPodSandbox does not read every other pause's exit file and /proc entry.
  const selected = (s: PodSandbox) => !f || ((!f.id || s.id!.startsWith(f.id)) && matchesLabels(s.labels, f.label_selector));
  const ids = d.store.listSandboxes().filter((s) => selected(podSandbox(s))).map((s) => s.id);
  // A pause that died unseen (its conmon gone, so no exit file) is NOTREADY here, not READY forever.
  const recs = await Promise.all(ids.map((id) => d.sandboxes.refreshPause(id)));
  const items = recs
    .filter((s): s is SandboxRecord => s !== undefined && s.state !== 'creating')
    .map(podSandbox)
    .filter((s) => selected(s) && (!f?.state || s.state === f.state.state));
  return { items };
};
