import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, setLongTimeout, sleepLong, type TimerSource } from '../../../src/lib/long-timer.js';

/** A fake clock: timers fire when advance() passes them; refuses what Node would clamp. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const armed: number[] = [];
  const source: TimerSource = {
    now: () => now,
    setTimeout(fn, ms) {
      // Node fires a delay above 2^31-1 ms after 1 ms: the helper must never ask for one.
      assert.ok(ms >= 0 && ms <= MAX_TIMER_MS, `timer of ${ms} ms would fire at once in Node`);
      armed.push(ms);
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return { id, unref: () => undefined } as never;
    },
    clearTimeout(t) {
      pending.delete((t as unknown as { id: number }).id);
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > end) break;
      pending.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = end;
  };
  return { source, advance, armed, pendingCount: () => pending.size };
}

test('a timeout above 2^31-1 ms fires after the whole delay, not at once', () => {
  const t = fakeTimers();
  let fired = 0;
  // crictl stop --timeout 2147484 (seconds)
  const ms = 2_147_484 * 1000;
  const handle = setLongTimeout(() => fired++, ms, t.source);
  t.advance(1);
  assert.equal(fired, 0);
  t.advance(MAX_TIMER_MS);
  assert.equal(fired, 0, 'still pending after the first 24.8 days');
  assert.equal(handle.pending, true);
  t.advance(ms - MAX_TIMER_MS - 2);
  assert.equal(fired, 0);
  t.advance(1);
  assert.equal(fired, 1);
  assert.equal(handle.pending, false);
  assert.ok(t.armed.length >= 2, 'the delay was chained');
});

test('short delays use one timer; clear cancels a chained one', () => {
  const t = fakeTimers();
  let fired = 0;
  setLongTimeout(() => fired++, 1500, t.source);
  t.advance(1500);
  assert.equal(fired, 1);
  assert.deepEqual(t.armed, [1500]);
  const h = setLongTimeout(() => fired++, 10 * MAX_TIMER_MS, t.source);
  t.advance(3 * MAX_TIMER_MS);
  h.clear();
  t.advance(10 * MAX_TIMER_MS);
  assert.equal(fired, 1);
  assert.equal(t.pendingCount(), 0);
});

test('Infinity never fires; NaN and negative delays fire at the next turn', () => {
  const t = fakeTimers();
  const seen: string[] = [];
  setLongTimeout(() => seen.push('inf'), Infinity, t.source);
  setLongTimeout(() => seen.push('nan'), Number.NaN, t.source);
  setLongTimeout(() => seen.push('neg'), -5, t.source);
  t.advance(0);
  t.advance(100 * MAX_TIMER_MS);
  assert.deepEqual(seen.sort(), ['nan', 'neg']);
});

test('the real timers: a short long-timeout fires, sleepLong resolves early on abort', async () => {
  await new Promise<void>((resolve) => setLongTimeout(resolve, 5));
  const ac = new AbortController();
  const slept = sleepLong(30 * MAX_TIMER_MS, ac.signal);
  ac.abort();
  await slept;
});
