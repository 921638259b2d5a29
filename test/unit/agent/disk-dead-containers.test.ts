import { test } from 'node:test';
import assert from 'node:assert/strict';
import { removeDeadContainers } from '../../../src/agent/disk/index.js';
import { LABELS } from '../../../src/agent/cri-config.js';

function c(id: string, pod: string, name: string, state: string, createdAt: number) {
  return { id, state, created_at: String(createdAt), labels: { [LABELS.podUid]: pod, [LABELS.containerName]: name, [LABELS.managedBy]: 'corelet-agent' } };
}

test('reclaim removes dead containers (logs first) but the newest dead one of each container of a known pod', async () => {
  const containers = [
    c('run', 'p1', 'app', 'CONTAINER_RUNNING', 5),
    c('dead-new', 'p1', 'app', 'CONTAINER_EXITED', 4),
    c('dead-old', 'p1', 'app', 'CONTAINER_EXITED', 3),
    c('dead-older', 'p1', 'app', 'CONTAINER_EXITED', 1),
    c('side', 'p1', 'side', 'CONTAINER_EXITED', 2),
    c('orphan-a', 'gone', 'app', 'CONTAINER_EXITED', 2),
    c('orphan-b', 'gone', 'app', 'CONTAINER_EXITED', 3),
  ];
  const calls: string[] = [];
  const cri = {
    runtime: {
      ListContainers: async (req: { filter?: { state?: { state: string } } }) => ({
        containers: containers.filter((x) => !req.filter?.state || x.state === req.filter.state.state),
      }),
      RemoveContainer: async ({ container_id }: { container_id: string }) => void calls.push(`remove ${container_id}`),
    },
  } as any;
  const removed = await removeDeadContainers({ cri, cleanLogs: async (id) => void calls.push(`logs ${id}`), isKnownPod: (uid) => uid === 'p1' });
  assert.deepEqual(removed.sort(), ['dead-old', 'dead-older', 'orphan-a', 'orphan-b']);
  for (const id of removed) assert.ok(calls.indexOf(`logs ${id}`) < calls.indexOf(`remove ${id}`), `${id}: its log goes before the container`);
  assert.ok(!calls.some((x) => /run|dead-new|side/.test(x)), 'running and the newest dead instances stay');
});
