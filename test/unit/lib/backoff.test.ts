import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../src/lib/backoff.js';

test('delays double from 10 s up to 5 min and reset after 10 min of health', () => {
  let now = 0;
  const b = new Backoff({ initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, () => now);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const failedAt = now;
    delays.push(b.next('pod/c', failedAt - 1000, failedAt));
    now += delays[delays.length - 1]! + 1000;
  }
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  // the same failure asked about twice does not double again
  assert.equal(b.next('pod/c', now - 1000, now - 1000), 300_000 - 1000);
  // a container that ran 10 minutes starts over
  now += 700_000;
  assert.equal(b.next('pod/c', now - 650_000, now), 10_000);
  assert.equal(b.delay('other'), 0);
});
