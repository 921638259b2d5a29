import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import { deletePod } from '../../../src/scheduler/controllers/index.js';
import { NodeSessions, assignPreboundPod } from '../../../src/scheduler/server/index.js';
import { tempStore } from './store-helpers.js';

test('a pre-bound pod deleted after its create event is not sent to its node (the stored pod is checked, not the event)', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'n1' }, spec: {}, status: {} });
  const created = store.create('Pod', {
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
  }) as unknown as Pod;
  const sessions = new NodeSessions();
  const sent: string[] = [];
  sessions.attach('n1', { send: (text: string) => void sent.push(text), close: () => undefined });
  // The create event is handled after a DELETE already marked the pod Terminating.
  deletePod(store, 'default', 'web', new Date('2026-01-01T00:00:00Z'));
  assert.notEqual(store.get<Pod>('Pod', 'default', 'web')!.metadata.deletionTimestamp, undefined);
  assert.equal(assignPreboundPod(store, sessions, created), false);
  assert.deepEqual(sent.filter((m) => m.includes('"assign"')), [], 'no assign for a terminating pod');
});
