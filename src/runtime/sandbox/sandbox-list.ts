import type { UnaryImpl } from '../../cri/server.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podSandbox } from './sandbox-view.js';
import { matchesLabels } from '../filters.js';

export const listPodSandbox = (rt: RuntimeContext): UnaryImpl<'ListPodSandbox'> => async (req) => {
  const f = req.filter;
  // A pause that died unseen (its conmon gone, so no exit file) is NOTREADY here, not READY forever.
  await Promise.all(rt.deps.store.listSandboxes().map((s) => rt.sandboxes.refreshPause(s.id)));
  const items = rt.deps.store
    .listSandboxes()
    .filter((s) => s.state !== 'creating')
    .map(podSandbox)
    .filter((s) => !f || ((!f.id || s.id!.startsWith(f.id)) && (!f.state || s.state === f.state.state) && matchesLabels(s.labels, f.label_selector)));
  return { items };
};
