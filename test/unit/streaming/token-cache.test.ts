import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache } from '../../../src/streaming/token-cache.js';
import { isKind } from '../../../src/lib/errors.js';

test('a token works once', () => {
  const cache = new TokenCache<string>();
  const token = cache.put('exec request');
  assert.match(token, /^[A-Za-z0-9_-]{22}$/, 'URL-safe, 128 bits');
  assert.equal(cache.take(token), 'exec request');
  assert.equal(cache.take(token), undefined);
  assert.equal(cache.take('never-issued'), undefined);
});

test('tokens are distinct', () => {
  const cache = new TokenCache<number>();
  const tokens = new Set(Array.from({ length: 200 }, (_, i) => cache.put(i)));
  assert.equal(tokens.size, 200);
});

test('a token expires after its lifetime (injected clock)', () => {
  let now = 1_000;
  const cache = new TokenCache<string>({ ttlMs: 60_000, now: () => now });
  const early = cache.put('a');
  const late = cache.put('b');
  now += 59_999;
  assert.equal(cache.take(early), 'a');
  now += 1;
  assert.equal(cache.take(late), undefined, 'a minute old: expired');
});

test('at most maxInFlight tokens wait; then put fails with Unavailable until some expire or are used', () => {
  let now = 0;
  const cache = new TokenCache<number>({ maxInFlight: 3, ttlMs: 1000, now: () => now });
  const t0 = cache.put(0);
  cache.put(1);
  now = 500;
  cache.put(2);
  assert.throws(
    () => cache.put(3),
    (err: unknown) => isKind(err, 'Unavailable') && /3 streaming requests are waiting/.test((err as Error).message),
  );
  cache.take(t0);
  cache.put(3); // a used token frees its place
  assert.throws(() => cache.put(4), (err: unknown) => isKind(err, 'Unavailable'));
  now = 1000; // the token put at 0 expired
  cache.put(4);
  assert.equal(cache.size, 3);
});
