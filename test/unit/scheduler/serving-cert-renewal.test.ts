/**
 * The scheduler's serving certificate is renewed while it runs: a scheduler started with a short
 * serving lifetime serves, after its first certificate expired, a newer one from the same CA with the
 * same names, and a client that connects then is answered (connections opened before keep
 * their TLS session: the new certificate is for new handshakes). The renewal's clock and timers are
 * injected: the scheduler's clock is moved past the expiry instead of waiting the 10 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { initScheduler, startScheduler } from '../../../src/scheduler/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

interface Answer {
  status: number;
  text: string;
  cert: X509Certificate;
}

/** GET path, verifying the scheduler against its CA (an expired or unknown certificate fails the request). */
function get(url: string, path: string, ca: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${path}`, { ca, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const cert = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), cert }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serving certificate renewal', () => {
  it('a client connecting after the first certificate expired (on the scheduler\'s clock) gets a newer valid one and is answered', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'corelet-serving-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const init = await initScheduler({ dir, hosts: ['127.0.0.1', 'sched.example'], port: 0, configFile: join(dir, 'config') });
    // The renewal's wall clock (the real one plus `ahead`) and its timer links (fired by the test).
    let ahead = 0;
    const links: { fn: () => void; cleared: boolean }[] = [];
    let linkSet = (): void => undefined;
    const servingCertClock = {
      now: () => Date.now() + ahead,
      setTimer: (fn: () => void) => {
        const link = { fn, cleared: false };
        links.push(link);
        linkSet();
        return () => void (link.cleared = true);
      },
    };
    const running = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silentLogger, servingCertTtlSeconds: 10, servingCertClock });
    t.after(() => running.close());
    const url = running.server.url;

    const first = await get(url, '/api/v1/namespaces', init.caCert, init.adminToken);
    assert.equal(first.status, 200);
    const firstExpiry = Date.parse(first.cert.validTo);
    assert.ok(firstExpiry - Date.now() <= 11_000, `the first certificate is short-lived (it expires ${first.cert.validTo})`);
    // init's year-long certificate was reissued at start for the lower lifetime, keeping init's names.
    assert.match(first.cert.subjectAltName ?? '', /DNS:sched\.example/);
    // The scheduler's clock passes the first certificate's expiry; its pending timer link fires and
    // the renewal, once done, sets the link for the next one.
    ahead = firstExpiry + 1000 - Date.now();
    const renewed = new Promise<void>((resolve) => (linkSet = resolve));
    const pending = links.filter((l) => !l.cleared);
    assert.equal(pending.length, 1, 'one renewal link is pending');
    pending[0].fn();
    await renewed;

    const later = await get(url, '/api/v1/namespaces', init.caCert, init.adminToken);
    assert.equal(later.status, 200, later.text);
    assert.notEqual(later.cert.serialNumber, first.cert.serialNumber, 'a new certificate is served');
    assert.ok(Date.parse(later.cert.validTo) > Date.now(), `the served certificate is valid (until ${later.cert.validTo})`);
    assert.ok(later.cert.checkIssued(new X509Certificate(init.caCert)), 'issued by the cluster CA');
    assert.equal(later.cert.subjectAltName, first.cert.subjectAltName, 'with the same names');
    // The renewed certificate is on disk too, so a restart serves it.
    const onDisk = new X509Certificate(await readFile(join(dir, 'pki', 'server.crt'), 'utf8'));
    assert.ok(Date.parse(onDisk.validTo) >= Date.parse(later.cert.validTo));
  });
});
