import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';
import {
  caCertHash,
  checkPinnedServer,
  createCa,
  createServerCert,
  fetchPinnedCa,
  parseServerUrl,
  serverTlsOptions,
  type CertKeyPair,
  type Pki,
} from '../../../src/scheduler/auth/index.js';
import { isKind } from '../../../src/lib/index.js';
import { startTlsServer } from './server-helpers.js';
import { testKeyPairSync, useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

const DAY = 24 * 60 * 60 * 1000;


/** A raw TLS connection that skips verification, as the pin check expects. */
async function connectUnverified(t: { after: (fn: () => void) => void }, port: number): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return socket;
}

/**
 * A server certificate that claims `claimed` as its issuer (subject and authority key id) but is
 * signed with `signer`'s key: what an attacker holding the public CA certificate could make.
 */
function forgeIssuedBy(claimed: CertKeyPair, signer: CertKeyPair): CertKeyPair {
  const claimedCert = forge.pki.certificateFromPem(claimed.certPem);
  const keys = testKeyPairSync();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + DAY);
  cert.setSubject([{ name: 'commonName', value: 'corelet-scheduler' }]);
  cert.setIssuer(claimedCert.subject.attributes);
  cert.setExtensions([
    { name: 'authorityKeyIdentifier', keyIdentifier: claimedCert.generateSubjectKeyIdentifier().getBytes() },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(signer.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

function failedWith(pattern: RegExp) {
  return (e: Error) => {
    assert.ok(isKind(e, 'FailedPrecondition'), `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('pinning the scheduler CA', () => {
  let pki: Pki;
  let pin: string;
  let otherCa: CertKeyPair;
  before(async () => {
    const ca = await createCa();
    pki = { ca, server: await createServerCert(ca) };
    pin = caCertHash(ca.certPem);
    otherCa = await createCa();
  });

  it('returns the CA for the right pin, having sent nothing, and that CA then verifies normally', async (t) => {
    const { port, received } = await startTlsServer(t, serverTlsOptions(pki));
    const caPem = await fetchPinnedCa({ host: '127.0.0.1', port }, pin);
    assert.equal(caCertHash(caPem), pin);
    assert.equal(caPem.trim(), pki.ca.certPem.trim());
    // The real connection: the fetched CA as the only trust root, Node's full verification.
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem });
    t.after(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    assert.equal(socket.authorized, true);
    assert.equal(received.bytes, 0, 'the pin check writes no application data');
  });

  it('accepts the name localhost too (always in the SANs)', async (t) => {
    const { port } = await startTlsServer(t, serverTlsOptions(pki));
    assert.equal(caCertHash(await fetchPinnedCa({ host: 'localhost', port }, pin)), pin);
  });

  it("refuses a wrong pin with a clear error and sends the server nothing", async (t) => {
    const { port, received } = await startTlsServer(t, serverTlsOptions(pki));
    const wrong = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      fetchPinnedCa({ host: '127.0.0.1', port }, wrong),
      failedWith(new RegExp(`the scheduler's CA does not match --ca-cert-hash ${wrong}: it presented CA ${pin}`)),
    );
    assert.equal(received.bytes, 0);
  });

  it('refuses an impostor whose certificate comes from another CA', async (t) => {
    const impostor = { ca: otherCa, server: await createServerCert(otherCa) };
    const { port } = await startTlsServer(t, serverTlsOptions(impostor));
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port }, pin), failedWith(/does not match --ca-cert-hash/));
  });

  it('refuses an impostor that presents the real CA next to a certificate the CA did not sign', async (t) => {
    const unrelated = await createServerCert(otherCa);
    const first = await startTlsServer(t, { key: unrelated.keyPem, cert: `${unrelated.certPem}${pki.ca.certPem}` });
    await assert.rejects(
      fetchPinnedCa({ host: '127.0.0.1', port: first.port }, pin),
      failedWith(/does not match --ca-cert-hash .*: it presented no CA certificate that issued its server certificate/),
    );
    // Worse: a certificate naming the real CA as issuer (name and key id), signed by another key.
    const forged = forgeIssuedBy(pki.ca, otherCa);
    const second = await startTlsServer(t, { key: forged.keyPem, cert: `${forged.certPem}${pki.ca.certPem}` });
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port: second.port }, pin), failedWith(/is not signed by the CA matching --ca-cert-hash/));
  });

  it('explains a pin of the server certificate instead of the CA', async (t) => {
    const { port } = await startTlsServer(t, serverTlsOptions(pki));
    await assert.rejects(
      fetchPinnedCa({ host: '127.0.0.1', port }, caCertHash(pki.server.certPem)),
      failedWith(/pins the scheduler's own server certificate, not its CA/),
    );
  });

  it('says when the scheduler sends no CA in its chain', async (t) => {
    const { port } = await startTlsServer(t, { key: pki.server.keyPem, cert: pki.server.certPem });
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port }, pin), failedWith(/presented no CA certificate that issued its server certificate/));
  });

  it('checkPinnedServer refuses a host the certificate does not name', async (t) => {
    const { port } = await startTlsServer(t, serverTlsOptions(pki));
    const socket = await connectUnverified(t, port);
    assert.throws(() => checkPinnedServer(socket, pin, 'sched.other.example'), failedWith(/not valid for sched\.other\.example \(it names DNS:localhost, IP Address:127\.0\.0\.1\)/));
    assert.match(checkPinnedServer(socket, pin, '127.0.0.1'), /^-----BEGIN CERTIFICATE-----/);
  });

  it('refuses an expired server certificate', async (t) => {
    const old = await createServerCert(pki.ca, { now: new Date(Date.now() - 10 * DAY), validityDays: 1 });
    const { port } = await startTlsServer(t, serverTlsOptions({ ca: pki.ca, server: old }));
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port }, pin), failedWith(/server certificate expired on/));
  });

  it('reports an unreachable scheduler as Unavailable', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port }, pin), (e: Error) => isKind(e, 'Unavailable') && /cannot reach the scheduler at 127\.0\.0\.1:\d+/.test(e.message));
  });

  it('checks the pin format before connecting', async () => {
    await assert.rejects(fetchPinnedCa({ host: '127.0.0.1', port: 1 }, 'sha256:abc'), /invalid --ca-cert-hash/);
  });
});

describe('parseServerUrl', () => {
  it('takes wss:// and https:// with a port, IPv6 in brackets', () => {
    assert.deepEqual(parseServerUrl('wss://sched.example:6443'), { host: 'sched.example', port: 6443 });
    assert.deepEqual(parseServerUrl('https://10.0.0.1:6443/'), { host: '10.0.0.1', port: 6443 });
    assert.deepEqual(parseServerUrl('wss://[fd00::1]:6443'), { host: 'fd00::1', port: 6443 });
  });
  it('refuses plain ws://, a missing port and garbage', () => {
    assert.throws(() => parseServerUrl('ws://sched.example:6443'), /only speaks TLS/);
    assert.throws(() => parseServerUrl('wss://sched.example'), /give the port/);
    assert.throws(() => parseServerUrl('sched.example:6443'), /invalid --server|only speaks TLS/);
    assert.throws(() => parseServerUrl('::'), /invalid --server/);
  });
});
