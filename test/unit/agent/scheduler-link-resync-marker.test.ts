/**
 * The end of the scheduler's re-send after `registered` is the `assignDone` marker: only then may the
 * agent's desired set shrink. A connection cut right after `registered`, a stall longer than the quiet
 * time, or an older scheduler that never sends the marker must not hand over an empty or partial list
 * (PodManager.setSource would stop every pod not in it). The link is fed messages as they would come
 * off the socket, so each cut can be placed exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, type Message, type Pod } from '../../../src/api/index.js';
import { linkTo } from './link-helpers.js';

const QUIET_MS = 20;

function pod(name: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as unknown as Pod;
}

/** The socket's side of a link: messages in, the connection dropping; and what the link handed over. */
function fedLink() {
  const handed: string[][] = [];
  const link = linkTo({ port: 1 }, { caPem: '', certPem: '', keyPem: '' }, { name: 'node-a', ip: '192.168.56.11' }, {
    setPods: (list: Pod[]) => handed.push(list.map((p) => p.metadata.name).sort()),
    resyncQuietMs: QUIET_MS,
  });
  const inner = link as unknown as { onMessage(data: Buffer): void; onClose(): void };
  const feed = (m: Message) => inner.onMessage(Buffer.from(encodeMessage(m)));
  return {
    link,
    handed,
    registered: () => feed({ v: 1, type: 'registered', nodeName: 'node-a', heartbeatIntervalSeconds: 10 }),
    assign: (name: string) => feed({ v: 1, type: 'assign', pod: pod(name) }),
    done: (...names: string[]) => feed({ v: 1, type: 'assignDone', uids: names.map((n) => `uid-${n}`) } as Message),
    /** The socket closed (the link then waits to reconnect; close() in t.after ends that). */
    drop: () => inner.onClose(),
  };
}

/** Longer than the quiet time, with the microtasks after it run. */
const pastQuiet = () => new Promise((r) => setTimeout(r, QUIET_MS * 5));
const settled = () => new Promise((r) => setImmediate(r));

function startedWith(t: { after(fn: () => void): void }, names: string[]) {
  const f = fedLink();
  t.after(() => f.link.close());
  f.registered();
  for (const n of names) f.assign(n);
  f.done(...names);
  return f;
}

test('the marker ends the resync: its list is handed over at once, without waiting for the quiet time', async (t) => {
  const f = startedWith(t, ['batch', 'web']);
  await settled();
  assert.deepEqual(f.handed, [['batch', 'web']]);
});

test('a connection cut right after registered hands nothing over: the pods keep running', async (t) => {
  const f = startedWith(t, ['batch', 'web']);
  await settled();
  f.registered();
  f.drop();
  await pastQuiet();
  assert.deepEqual(f.handed, [['batch', 'web']], 'nothing handed over after the cut');

  // The next connection re-sends both and ends with the marker.
  f.registered();
  f.assign('web');
  f.assign('batch');
  f.done('batch', 'web');
  await settled();
  assert.deepEqual(f.handed.at(-1), ['batch', 'web']);
  assert.ok(f.handed.every((l) => l.length === 2), `never a shrunk list: ${JSON.stringify(f.handed)}`);
});

test('re-sent assigns that stall longer than the quiet time never shrink the set before the marker', async (t) => {
  const f = startedWith(t, ['batch', 'web']);
  await settled();
  f.registered();
  await pastQuiet();
  f.assign('web');
  await pastQuiet();
  assert.ok(f.handed.every((l) => l.includes('batch') && l.includes('web')), `shrunk before the marker: ${JSON.stringify(f.handed)}`);

  // The marker names only web: batch was removed while the link was down, and leaves now.
  f.done('web');
  await settled();
  assert.deepEqual(f.handed.at(-1), ['web']);
});

test('a scheduler that never sends the marker: the old pods plus the re-sent ones are handed over after the quiet time', async (t) => {
  const f = fedLink();
  t.after(() => f.link.close());
  f.registered();
  f.assign('web');
  f.assign('batch');
  await pastQuiet();
  assert.deepEqual(f.handed.at(-1), ['batch', 'web']);
  f.registered();
  f.assign('web');
  f.assign('new');
  await pastQuiet();
  assert.deepEqual(f.handed.at(-1), ['batch', 'new', 'web']);
});

test('a pod known before and listed by the marker but not re-sent (finished) stays; one not listed leaves', async (t) => {
  const f = startedWith(t, ['job', 'old', 'web']);
  await settled();
  f.registered();
  f.assign('web');
  f.done('job', 'web');
  await settled();
  assert.deepEqual(f.handed.at(-1), ['job', 'web']);
});
