import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/lib/index.js';
import type { ObjectEvent } from '../../../src/api/index.js';
import { tempStore } from './store-helpers.js';

function event(name: string, reason = 'Scheduled', extra: Partial<ObjectEvent> = {}): ObjectEvent {
  return {
    type: 'Normal',
    reason,
    message: `about ${name}`,
    involvedObject: { kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` },
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:00Z',
    count: 1,
    source: { component: 'corelet-scheduler' },
    ...extra,
  };
}

test('events are stored, filtered and listed oldest first', (t) => {
  const { store } = tempStore(t);
  store.recordEvent(event('a'));
  store.recordEvent(event('b', 'Pulled'));
  store.recordEvent({ ...event('n1'), involvedObject: { kind: 'Node', name: 'n1' } });
  assert.deepEqual(store.listEvents().map((e) => e.involvedObject.name), ['a', 'b', 'n1']);
  assert.deepEqual(store.listEvents({ kind: 'Pod', namespace: 'default', name: 'b' }).map((e) => e.reason), ['Pulled']);
  assert.deepEqual(store.listEvents({ uid: 'uid-a' }).map((e) => e.involvedObject.name), ['a']);
  assert.deepEqual(store.listEvents({ kind: 'Node' }).map((e) => e.involvedObject.name), ['n1']);
  assert.deepEqual(store.listEvents({ limit: 2 }).map((e) => e.involvedObject.name), ['b', 'n1']);
});

test('a repeated event is counted on one entry, not stored again', (t) => {
  const { store } = tempStore(t);
  const seen: string[] = [];
  store.watch((c) => c.kind === 'Event' && seen.push(`${c.type} ${c.object.count}`));
  store.recordEvent(event('a'));
  store.recordEvent(event('b'));
  // Two fresh occurrences from a recorder that does not count: 1 + 1 + 1.
  store.recordEvent(event('a', 'Scheduled', { lastTimestamp: '2026-01-01T00:01:00Z' }));
  let stored = store.recordEvent(event('a', 'Scheduled', { lastTimestamp: '2026-01-01T00:02:00Z' }));
  assert.equal(stored.count, 3);
  // An agent forwarding its own running count: the larger count wins, a resend does not add.
  store.recordEvent(event('a', 'Scheduled', { count: 7, firstTimestamp: '2026-01-01T00:00:30Z', lastTimestamp: '2026-01-01T00:03:00Z' }));
  stored = store.recordEvent(event('a', 'Scheduled', { count: 7, lastTimestamp: '2026-01-01T00:03:00Z' }));
  assert.equal(stored.count, 7);
  const a = store.listEvents({ name: 'a' });
  assert.equal(a.length, 1);
  assert.equal(a[0].firstTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(a[0].lastTimestamp, '2026-01-01T00:03:00Z');
  // The repeat moved to the newest position.
  assert.deepEqual(store.listEvents().map((e) => e.involvedObject.name), ['b', 'a']);
  // A different message is a different event.
  store.recordEvent({ ...event('a'), message: 'other' });
  assert.equal(store.listEvents({ name: 'a' }).length, 2);
  assert.deepEqual(seen, ['ADDED 1', 'ADDED 1', 'MODIFIED 2', 'MODIFIED 3', 'MODIFIED 7', 'MODIFIED 7', 'ADDED 1']);
});

test('only the newest events up to the limit are kept', (t) => {
  const { store } = tempStore(t, { eventLimit: 3 });
  for (const name of ['a', 'b', 'c', 'd']) store.recordEvent(event(name));
  assert.deepEqual(store.listEvents().map((e) => e.involvedObject.name), ['b', 'c', 'd']);
  // Seeing b again makes it the newest, so e pushes out c, not b.
  store.recordEvent(event('b'));
  store.recordEvent(event('e'));
  assert.deepEqual(store.listEvents().map((e) => e.involvedObject.name), ['d', 'b', 'e']);
});

test('malformed events are refused; long messages are cut at 1024 characters', (t) => {
  const { store } = tempStore(t);
  const invalid = (re: RegExp) => (e: unknown) => isKind(e, 'InvalidArgument') && re.test(String(e));
  assert.throws(() => store.recordEvent({ ...event('a'), type: 'Bad' as 'Normal' }), invalid(/type must be Normal or Warning/));
  assert.throws(() => store.recordEvent({ ...event('a'), reason: '' }), invalid(/reason/));
  assert.throws(() => store.recordEvent({ ...event('a'), involvedObject: { kind: 'Pod', name: '' } }), invalid(/involvedObject needs a kind and a name/));
  assert.throws(() => store.recordEvent({ ...event('a'), count: 0 }), invalid(/count must be a positive integer/));
  assert.throws(() => store.recordEvent({ ...event('a'), lastTimestamp: 'yesterday' }), invalid(/lastTimestamp must be an RFC 3339 time/));
  assert.deepEqual(store.listEvents(), []);
  const stored = store.recordEvent({ ...event('a'), message: 'm'.repeat(5000) });
  assert.equal(stored.message.length, 1024);
  assert.equal(store.listEvents()[0].message.length, 1024);
});
