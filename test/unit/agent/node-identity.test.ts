/** The agent's node identity: the token file's checks, and certificate rotation timing (fake clock). */
import { describe, it, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, chownSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { failedPrecondition, silentLogger, unavailable } from '../../../src/lib/index.js';
import { createCa, issueCertificate, type CertKeyPair } from '../../../src/scheduler/auth/index.js';
import {
  CertificateRotator,
  loadNodeCredentials,
  makeNodeCsr,
  readTokenFile,
  renewalDelayMs,
  saveNodeCredentials,
  systemRotationClock,
  type NodeCredentials,
  type RotationClock,
} from '../../../src/agent/cluster/node-identity.js';
import forge from 'node-forge';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

/** Time moves only in advance(); due timers fire in order. */
class FakeClock implements RotationClock {
  time = Date.parse('2026-12-01T00:00:00Z');
  private id = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): Date {
    return new Date(this.time);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { at: this.time + ms, fn });
    return this.id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** The one pending timer's delay from now. */
  pendingDelay(): number {
    assert.equal(this.timers.size, 1, 'one timer pending');
    return [...this.timers.values()][0].at - this.time;
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.time) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

/**
 * Lets the rotator finish what a timer started: its work (key generation, file reads) runs on the
 * thread pool, so a fixed number of turns of the loop is not enough under load; it is done when
 * it has planned its next attempt (a pending timer). Gives up quietly after 10 s (the asserts tell).
 */
const settle = async (clock: FakeClock) => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  for (const end = Date.now() + 10_000; clock.timers.size === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
};

describe('node identity (agent)', () => {
  let ca: CertKeyPair;
  let csr: { keyPem: string; csrPem: string };
  before(async () => {
    ca = await createCa();
    csr = await makeNodeCsr('node-a', { dnsNames: ['node-a'], ips: ['10.0.0.5'] });
  });
  const publicKeyPem = () => forge.pki.publicKeyToPem(forge.pki.certificationRequestFromPem(csr.csrPem).publicKey as forge.pki.PublicKey);
  const issue = (now: Date, seconds: number): NodeCredentials => ({
    keyPem: csr.keyPem,
    certPem: issueCertificate(ca, { publicKeyPem: publicKeyPem(), commonName: 'system:node:node-a', organizations: ['system:nodes'], usages: ['clientAuth', 'serverAuth'], validitySeconds: seconds, now }).certPem,
    caPem: ca.certPem,
  });
  /** A rotator's fixed options: node-a holding FIRST, no SANs, the fake clock, jitter 0.5. */
  const rotatorBase = (first: NodeCredentials, clock: FakeClock) => ({ current: first, nodeName: 'node-a', sans: {}, clock, random: () => 0.5 });

  it('renews at 70% to 90% of the lifetime (notBefore..notAfter)', () => {
    const nb = new Date(0);
    const na = new Date(1_000_000);
    assert.equal(renewalDelayMs(nb, na, new Date(0), () => 0), 700_000);
    assert.equal(renewalDelayMs(nb, na, new Date(0), () => 1), 900_000);
    assert.equal(renewalDelayMs(nb, na, new Date(100_000), () => 0.5), 700_000);
    assert.equal(renewalDelayMs(nb, na, new Date(950_000), () => 0.5), 0, 'overdue: now');
  });

  it('rotates before expiry, swaps the credentials, reschedules from the new certificate, and backs off on failure', async () => {
    const clock = new FakeClock();
    const first = issue(clock.now(), 100); // backdated 10 s: lifetime 110 s
    const renewals: string[] = [];
    const rotated: NodeCredentials[] = [];
    const saved: NodeCredentials[] = [];
    let fail = false;
    const rotator = new CertificateRotator({
      ...rotatorBase(first, clock),
      makeCsr: async () => csr,
      renew: async (csrPem, current) => {
        renewals.push(new X509Certificate(current.certPem).serialNumber);
        assert.match(csrPem, /BEGIN CERTIFICATE REQUEST/);
        if (fail) throw new Error('scheduler unreachable');
        return issue(clock.now(), 100).certPem;
      },
      save: async (c) => void saved.push(c),
      onRotated: (c) => rotated.push(c),
      logger: silentLogger,
    });
    const delay = rotator.start();
    // 80% of 110 s from notBefore (10 s ago) = 88 s - 10 s = 78 s from now
    assert.equal(delay, 78_000);
    assert.equal(clock.pendingDelay(), 78_000);
    clock.advance(77_999);
    await settle(clock);
    assert.deepEqual(renewals, [], 'not before its time');
    clock.advance(1);
    await settle(clock);
    assert.deepEqual(renewals, [new X509Certificate(first.certPem).serialNumber], 'renewed with the current certificate');
    assert.equal(rotated.length, 1);
    assert.equal(saved.length, 1, 'stored before it is used');
    assert.notEqual(new X509Certificate(rotator.credentials().certPem).serialNumber, new X509Certificate(first.certPem).serialNumber);
    assert.equal(clock.pendingDelay(), 78_000, 'the next renewal is planned from the new certificate');

    // A failed renewal is retried after 5 s, then 10 s but at most half the time the certificate has
    // left (17 s), and the old certificate stays in use.
    fail = true;
    clock.advance(78_000);
    await settle(clock);
    assert.equal(rotated.length, 1);
    assert.equal(clock.pendingDelay(), 5_000);
    clock.advance(5_000);
    await settle(clock);
    assert.equal(clock.pendingDelay(), 8_500);
    fail = false;
    clock.advance(8_500);
    await settle(clock);
    assert.equal(rotated.length, 2);
    rotator.stop();
    assert.equal(clock.timers.size, 0);
  });

  it('a renewed certificate it cannot save (disk full) is used all the same, and the save is retried until it succeeds', async () => {
    const clock = new FakeClock();
    const first = issue(clock.now(), 100);
    const rotated: NodeCredentials[] = [];
    const saves: NodeCredentials[] = [];
    let diskFull = true;
    const warnings: string[] = [];
    const logger = Object.assign(Object.create(silentLogger) as typeof silentLogger, { warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) });
    const rotator = new CertificateRotator({
      ...rotatorBase(first, clock),
      makeCsr: async () => csr,
      renew: async () => issue(clock.now(), 100).certPem,
      save: async (c) => {
        saves.push(c);
        if (diskFull) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      onRotated: (c) => rotated.push(c),
      logger,
    });
    rotator.start();
    clock.advance(78_000);
    await settle(clock);
    // The scheduler has recorded the new certificate as the node's newest: the old one renews nothing more.
    assert.equal(rotated.length, 1, 'the new certificate is used although it was not saved');
    assert.notEqual(new X509Certificate(rotator.credentials().certPem).serialNumber, new X509Certificate(first.certPem).serialNumber);
    assert.ok(warnings.some((w) => /could not be saved/.test(w)), `warned: ${warnings.join('; ')}`);
    assert.equal(saves.length, 1);
    clock.advance(5_000);
    await settle(clock);
    assert.equal(saves.length, 2, 'the save is retried');
    assert.equal(saves[1].certPem, rotated[0].certPem, 'with the credentials in use');
    diskFull = false;
    clock.advance(10_000);
    await settle(clock);
    assert.equal(saves.length, 3);
    clock.advance(30_000);
    await settle(clock);
    assert.equal(saves.length, 3, 'saved: no more retries');
    assert.equal(rotated.length, 1);
    rotator.stop();
    assert.equal(clock.timers.size, 0);
  });

  /** A rotator whose scheduler is down until `up`, then answers renewals with `answer`. */
  function downScheduler(first: NodeCredentials, clock: FakeClock) {
    const state = { up: false, answer: 'renew' as 'renew' | 'refuse', csrs: 0, used: [] as string[], presented: [] as string[], csrPems: new Set<string>(), rotated: [] as NodeCredentials[] };
    const rotator = new CertificateRotator({
      ...rotatorBase(first, clock),
      makeCsr: async () => {
        state.csrs++;
        return makeNodeCsr('node-a');
      },
      renew: async (csrPem, current) => {
        state.used.push('certificate');
        state.csrPems.add(csrPem);
        state.presented.push(new X509Certificate(current.certPem).serialNumber);
        if (!state.up) throw unavailable('cannot reach the scheduler');
        if (state.answer === 'refuse') throw failedPrecondition('the scheduler refused the node certificate (401): no longer valid');
        return issue(clock.now(), 100).certPem;
      },
      rebootstrap: async () => {
        state.used.push('token');
        return issue(clock.now(), 100).certPem;
      },
      save: async () => {},
      onRotated: (c) => state.rotated.push(c),
      logger: silentLogger,
    });
    return { rotator, state };
  }

  it('once its certificate has expired (the scheduler was down past the renewal), keeps renewing with it, backing off up to 5 minutes with one key', async () => {
    const clock = new FakeClock();
    const first = issue(clock.now(), 100);
    const { rotator, state } = downScheduler(first, clock);
    rotator.start();
    const end = Date.parse(new X509Certificate(first.certPem).validTo);
    // Down for an hour: every retry presents the (expired) certificate, never the token.
    const delays: number[] = [];
    while (clock.now().getTime() < end + 3600_000) {
      const d = clock.pendingDelay();
      if (clock.now().getTime() > end) delays.push(d);
      clock.advance(d);
      await settle(clock);
    }
    assert.ok(!state.used.includes('token'), 'no token while the certificate may still renew');
    assert.ok(delays.length < 30, `backs off after expiry (not every second): ${delays.length} retries in an hour`);
    assert.equal(Math.max(...delays), 300_000, 'up to 5 minutes between retries');
    assert.equal(state.csrs, 1, 'one key and CSR for all the retries');
    assert.equal(state.csrPems.size, 1);
    // The scheduler is back: the expired certificate renews (within its window).
    state.up = true;
    clock.advance(clock.pendingDelay());
    await settle(clock);
    assert.equal(state.rotated.length, 1);
    assert.equal(state.presented.at(-1), new X509Certificate(first.certPem).serialNumber, 'renewed with the expired certificate');
    assert.deepEqual([...new Set(state.used)], ['certificate']);
    // The next rotation uses a new key.
    clock.advance(clock.pendingDelay());
    await settle(clock);
    assert.equal(state.csrs, 2);
    rotator.stop();
  });

  it('an expired certificate the scheduler refuses (the Node was deleted) falls back to the token file', async () => {
    const clock = new FakeClock();
    const first = issue(clock.now(), 100);
    const { rotator, state } = downScheduler(first, clock);
    state.up = true;
    state.answer = 'refuse';
    rotator.start();
    // Refused while it lives: retried with the certificate (the token would be refused for a registered name).
    clock.advance(clock.pendingDelay());
    await settle(clock);
    assert.deepEqual(state.used, ['certificate']);
    const end = Date.parse(new X509Certificate(first.certPem).validTo);
    clock.advance(Math.max(clock.pendingDelay(), end - clock.now().getTime() + 1));
    await settle(clock);
    while (state.rotated.length === 0) {
      clock.advance(clock.pendingDelay());
      await settle(clock);
    }
    assert.deepEqual(state.used.slice(-2), ['certificate', 'token'], 'the certificate first, then the token');
    assert.equal(state.csrs, 1, 'the same key throughout');
    rotator.stop();
  });

  it('reads a 0600 token file; refuses a group/other-readable one, a missing one and garbage without echoing it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'corelet-token-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'token');
    writeFileSync(file, 'abcdef.0123456789abcdef\n', { mode: 0o600 });
    assert.equal(await readTokenFile(file), 'abcdef.0123456789abcdef');
    chmodSync(file, 0o644);
    await assert.rejects(readTokenFile(file), (err: Error) => {
      assert.match(err.message, /is readable by others \(mode 0644\).*chmod 600/);
      assert.ok(!err.message.includes('0123456789abcdef'));
      return true;
    });
    writeFileSync(join(dir, 'bad'), 'not-a-token-secret-value\n', { mode: 0o600 });
    await assert.rejects(readTokenFile(join(dir, 'bad')), (err: Error) => !err.message.includes('secret-value') && /does not hold a bootstrap token/.test(err.message));
    await assert.rejects(readTokenFile(join(dir, 'none')), /does not exist/);
  });

  it("refuses a 0600 token file owned by another user (checked on the descriptor it reads)", { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'corelet-token-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'token');
    writeFileSync(file, 'abcdef.0123456789abcdef\n', { mode: 0o600 });
    chownSync(file, 65534, 65534);
    await assert.rejects(readTokenFile(file), /belongs to uid 65534, not to this user \(uid 0\)/);
  });

  it('stores the credentials in ROOT/pki, 0700 with 0600 files', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'corelet-agent-pki-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const creds = issue(new Date(), 3600);
    await saveNodeCredentials(root, creds);
    assert.equal(statSync(join(root, 'pki')).mode & 0o777, 0o700);
    for (const f of ['node.key', 'node.crt', 'ca.crt']) assert.equal(statSync(join(root, 'pki', f)).mode & 0o777, 0o600, f);
    assert.deepEqual(await loadNodeCredentials(root), creds);
  });
});

test('the real rotation clock waits a renewal more than 24.8 days away for its full time (no 2^31 ms clamp)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = false;
  const handle = systemRotationClock.setTimeout(() => (fired = true), 40 * 86_400_000);
  t.mock.timers.tick(2 ** 31);
  assert.equal(fired, false, 'fired after 24.8 days');
  systemRotationClock.clearTimeout(handle);
});
