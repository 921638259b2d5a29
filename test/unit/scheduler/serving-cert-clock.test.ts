/**
 * Serving-certificate renewal against an injected clock and timers: after a wall-clock jump (VM
 * suspend, NTP step) past the renewal time, the certificate is renewed within one short timer link,
 * not when a long monotonic timer would have fired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createServerCert, servingRenewalTime, startServingCertRenewal, type CertKeyPair } from '../../../src/scheduler/auth/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

test('each renewal timer link is at most 60 s and re-reads the wall clock: a jump past the renewal time renews at the next link', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-serving-clock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCa();
  const current = await createServerCert(ca, { validitySeconds: 365 * 86400 });
  let clock = Date.now();
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  let applied: (pair: CertKeyPair) => void = () => undefined;
  const renewed = new Promise<CertKeyPair>((resolve) => (applied = resolve));
  const r = startServingCertRenewal({
    pkiDir: dir,
    ca,
    current,
    ttlSeconds: 365 * 86400,
    apply: (pair) => applied(pair),
    logger: silentLogger,
    random: () => 0.5,
    now: () => clock,
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return () => void (timer.cleared = true);
    },
  });
  t.after(() => r.stop());
  const live = () => timers.filter((x) => !x.cleared);
  assert.equal(live().length, 1);
  assert.ok(live().at(-1)!.ms <= 60_000, `a link is at most 60 s (got ${live().at(-1)!.ms} ms)`);
  // An ordinary link: the wall clock moved 60 s, far from the renewal time: the next link is set.
  clock += 60_000;
  live().at(-1)!.fn();
  assert.equal(timers.length, 2);
  // The VM was suspended for a year: the wall clock is past the renewal time (and the expiry).
  clock = servingRenewalTime(current.certPem, () => 0.5) + 300 * 86400_000;
  timers.at(-1)!.fn();
  const next = await renewed;
  assert.notEqual(new X509Certificate(next.certPem).serialNumber, new X509Certificate(current.certPem).serialNumber);
  assert.equal(r.current(), next);
});
