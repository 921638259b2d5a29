import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageError, type Pod } from '../../../src/api/index.js';
import { silentLogger, type Logger } from '../../../src/lib/index.js';
import { deletePod } from '../../../src/scheduler/controllers/index.js';
import { NodeSessions, assignBoundPods, assignPreboundPod } from '../../../src/scheduler/server/index.js';
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

test('assignBoundPods: an assignDone over the message limit is skipped with a warning, not thrown (the caller still schedules)', (t) => {
  const { store } = tempStore(t);
  store.create('Node', { metadata: { name: 'n1' }, spec: {}, status: {} });
  store.create('Pod', { metadata: { name: 'web', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
  const sessions = new NodeSessions();
  const sent: string[] = [];
  sessions.attach('n1', { send: (text: string) => void sent.push(text), close: () => undefined });
  // What encodeMessage throws for a marker naming some 100,000 pods.
  const send = sessions.send.bind(sessions);
  sessions.send = (node, message) => {
    if (message.type === 'assignDone') throw new MessageError(['message.assignDone: too large to send: 4200000 bytes (at most 4194304)']);
    return send(node, message);
  };
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (_fields: unknown, msg: string) => void warnings.push(msg) } as unknown as Logger;
  assert.equal(assignBoundPods(store, sessions, 'n1', logger), 1);
  assert.equal(sent.filter((m) => m.includes('"assign"')).length, 1);
  assert.match(warnings.join('\n'), /cannot send assignDone/);
});
