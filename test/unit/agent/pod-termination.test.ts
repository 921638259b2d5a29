import { it } from 'node:test';
import assert from 'node:assert/strict';
import { TerminationConfirmer } from '../../../src/agent/pod-termination.js';
import { LABELS } from '../../../src/agent/cri-config.js';
import { silentLogger } from '../../../src/lib/index.js';

/** A runtime holding sandboxes labelled with pod uids; counts the lists. */
function fakeRuntime(uids: Set<string>) {
  const calls = { list: 0 };
  const runtime = {
    async ListPodSandbox(req: { filter?: { label_selector?: Record<string, string> } }) {
      calls.list++;
      const uid = req.filter?.label_selector?.[LABELS.podUid];
      return { items: uids.has(uid ?? '') ? [{ id: `sb-${uid}`, labels: { [LABELS.podUid]: uid } }] : [] };
    },
  };
  return { cri: { runtime } as any, calls };
}

it('confirms a pod\'s termination only once no worker and no sandbox of it is left, once per uid', async () => {
  const sandboxes = new Set(['u1']);
  const workers = new Set(['u1']);
  const { cri, calls } = fakeRuntime(sandboxes);
  const confirmed: string[] = [];
  let sent: () => void = () => {};
  const done = new Promise<void>((r) => (sent = r));
  const c = new TerminationConfirmer({
    hasWorker: (uid) => workers.has(uid),
    cri,
    confirm: (uid) => {
      confirmed.push(uid);
      sent();
      return true;
    },
    logger: silentLogger,
    pollMs: 5,
  });
  c.watch('u1');
  c.watch('u1');
  // The worker stops the containers (grace period) and removes the sandbox: nothing is confirmed meanwhile.
  workers.delete('u1');
  while (calls.list < 3) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(confirmed, [], 'the sandbox still exists');
  sandboxes.delete('u1');
  // The confirmer's poll timer is unref'd (it must not hold the agent open): hold the loop while waiting.
  const keepAlive = setInterval(() => {}, 1000);
  await done.finally(() => clearInterval(keepAlive));
  assert.deepEqual(confirmed, ['u1']);
  c.close();
});

it('confirms at once a pod that never ran here', async () => {
  const { cri } = fakeRuntime(new Set());
  const confirmed: string[] = [];
  await new Promise<void>((resolve) => {
    new TerminationConfirmer({ hasWorker: () => false, cri, confirm: (uid) => (confirmed.push(uid), resolve(), true), logger: silentLogger }).watch('never');
  });
  assert.deepEqual(confirmed, ['never']);
});
