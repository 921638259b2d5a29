import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import {
  PKI_FILES,
  caCertHash,
  createCa,
  createServerCert,
  ensurePki,
  loadPki,
  parseCaCertHash,
  setRsaKeySource,
  signCertificateNatively,
  signCsrNatively,
  writePki,
  type CertKeyPair,
  type Pki,
} from '../../../src/scheduler/auth/index.js';
import { isKind } from '../../../src/lib/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

const DAY = 24 * 60 * 60 * 1000;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-pki-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The SPKI hash computed a second, independent way: forge's own DER encoding of the public key. */
function forgeSpkiHash(certPem: string): string {
  const cert = forge.pki.certificateFromPem(certPem);
  const der = forge.asn1.toDer(forge.pki.publicKeyToAsn1(cert.publicKey)).getBytes();
  return `sha256:${createHash('sha256').update(Buffer.from(der, 'binary')).digest('hex')}`;
}

describe('CA and server certificate', () => {
  let ca: CertKeyPair;
  let server: CertKeyPair;
  before(async () => {
    ca = await createCa();
    server = await createServerCert(ca, { dnsNames: ['sched.example', 'Sched-2.example'], ips: ['10.1.2.3', 'fd00::1'] });
  });

  it('makes a self-signed CA valid for 10 years', () => {
    const c = new X509Certificate(ca.certPem);
    assert.equal(c.ca, true);
    assert.ok(c.checkIssued(c), 'self-issued');
    assert.ok(c.verify(c.publicKey), 'self-signed');
    assert.ok(c.checkPrivateKey(createPrivateKey(ca.keyPem)), 'the key belongs to the certificate');
    const years = (Date.parse(c.validTo) - Date.now()) / (365 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA lifetime ${years} years`);
    assert.match(c.subject, /CN=corelet-ca/);
  });

  it('signs a server certificate whose chain verifies with X509Certificate', () => {
    const c = new X509Certificate(server.certPem);
    const issuer = new X509Certificate(ca.certPem);
    assert.equal(c.ca, false);
    assert.ok(c.checkIssued(issuer));
    assert.ok(c.verify(issuer.publicKey));
    assert.ok(!c.verify(c.publicKey), 'not self-signed');
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
  });

  it('puts the requested names and addresses in the SANs, plus localhost and 127.0.0.1', () => {
    const c = new X509Certificate(server.certPem);
    for (const host of ['localhost', 'sched.example', 'sched-2.example']) assert.equal(c.checkHost(host), host);
    for (const ip of ['127.0.0.1', '10.1.2.3', 'fd00::1']) assert.ok(c.checkIP(ip), ip);
    assert.equal(c.checkHost('other.example'), undefined);
    assert.equal(c.checkIP('10.1.2.4'), undefined);
    assert.match(c.subjectAltName ?? '', /DNS:localhost/);
    assert.match(c.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  });

  it('refuses SANs that are not names or addresses', async () => {
    await assert.rejects(createServerCert(ca, { dnsNames: ['bad name'] }), /invalid DNS name "bad name"/);
    await assert.rejects(createServerCert(ca, { ips: ['10.1.2'] }), /invalid IP address "10.1.2"/);
  });

  it("hashes the CA's SubjectPublicKeyInfo like kubeadm's --discovery-token-ca-cert-hash", () => {
    const hash = caCertHash(ca.certPem);
    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hash, forgeSpkiHash(ca.certPem));
    assert.notEqual(hash, caCertHash(server.certPem));
  });

  it('matches the hash openssl computes (openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256)', (t) => {
    const probe = spawnSync('openssl', ['version']);
    if (probe.error) {
      // No openssl here: the forge cross-check above already computed it independently.
      t.diagnostic('openssl not installed; compared against forge only');
      return;
    }
    const pub = spawnSync('openssl', ['x509', '-pubkey', '-noout'], { input: ca.certPem });
    assert.equal(pub.status, 0, pub.stderr.toString());
    const der = spawnSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub.stdout });
    assert.equal(der.status, 0, der.stderr.toString());
    assert.equal(caCertHash(ca.certPem), `sha256:${createHash('sha256').update(der.stdout).digest('hex')}`);
  });

  it('caCertHash refuses something that is not a certificate', () => {
    assert.throws(() => caCertHash('not a pem'), (e) => isKind(e, 'InvalidArgument'));
  });
});

describe('key source', () => {
  it('makes a new RSA 2048 key for every CA unless a test pool replaces the source', async () => {
    setRsaKeySource(); // the production default for this test; the other tests here use the pool
    try {
      const [a, b] = await Promise.all([createCa(), createCa()]);
      for (const ca of [a, b]) assert.equal(createPrivateKey(ca.keyPem).asymmetricKeyDetails?.modulusLength, 2048);
      assert.notEqual(a.keyPem, b.keyPem);
      assert.notEqual(caCertHash(a.certPem), caCertHash(b.certPem));
    } finally {
      useTestKeys();
    }
  });
});

describe('native signing', () => {
  it("signs a certificate and a request with the very bytes forge's JavaScript RSA makes", async () => {
    const ca = await createCa();
    const key = forge.pki.privateKeyFromPem(ca.keyPem);
    const caCert = forge.pki.certificateFromPem(ca.certPem);
    const cert = forge.pki.createCertificate();
    cert.publicKey = caCert.publicKey;
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date(0);
    cert.validity.notAfter = new Date(86_400_000);
    cert.setSubject([{ name: 'commonName', value: 'x' }]);
    cert.setIssuer(caCert.subject.attributes);
    cert.sign(key, forge.md.sha256.create());
    const byForge = forge.pki.certificateToPem(cert);
    signCertificateNatively(cert, ca.keyPem);
    assert.equal(forge.pki.certificateToPem(cert), byForge);
    assert.ok(new X509Certificate(byForge).verify(new X509Certificate(ca.certPem).publicKey));

    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = caCert.publicKey;
    csr.setSubject([{ name: 'commonName', value: 'system:node:n1' }]);
    csr.sign(key, forge.md.sha256.create());
    const csrByForge = forge.pki.certificationRequestToPem(csr);
    signCsrNatively(csr, createPrivateKey(ca.keyPem));
    assert.equal(forge.pki.certificationRequestToPem(csr), csrByForge);
    assert.ok(forge.pki.certificationRequestFromPem(csrByForge).verify());
  });
});

describe('parseCaCertHash', () => {
  it('accepts sha256:<64 hex> in any case and returns it in lower case', () => {
    const hex = 'AB'.repeat(32);
    assert.equal(parseCaCertHash(`SHA256:${hex}`), `sha256:${hex.toLowerCase()}`);
  });
  it('says what the format is otherwise', () => {
    for (const bad of ['', 'sha256:abc', 'md5:' + 'a'.repeat(64), 'a'.repeat(64), `sha256:${'g'.repeat(64)}`]) {
      assert.throws(() => parseCaCertHash(bad), /expected "sha256:" followed by 64 hex digits/, bad);
    }
  });
});

describe('PKI files', () => {
  let pki: Pki;
  before(async () => {
    const ca = await createCa();
    pki = { ca, server: await createServerCert(ca) };
  });

  it('writes PEM files, keys readable by the owner only, and loads them back', async (t) => {
    const dir = join(await tempDir(t), 'pki');
    await writePki(dir, pki);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, PKI_FILES.caKey))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, PKI_FILES.serverKey))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, PKI_FILES.caCert))).mode & 0o777, 0o644);
    assert.match(await readFile(join(dir, PKI_FILES.caCert), 'utf8'), /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(await readFile(join(dir, PKI_FILES.caKey), 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.deepEqual(await loadPki(dir), pki);
  });

  it('says to run init when a file is missing', async (t) => {
    const dir = await tempDir(t);
    await writePki(dir, pki);
    await unlink(join(dir, PKI_FILES.serverKey));
    await assert.rejects(loadPki(dir), (e: Error) => isKind(e, 'FailedPrecondition') && /missing server\.key.*corelet scheduler init/.test(e.message));
  });

  it('refuses a key that does not belong to its certificate, and a server certificate from another CA', async (t) => {
    const dir = await tempDir(t);
    await writePki(dir, pki);
    await writeFile(join(dir, PKI_FILES.serverKey), pki.ca.keyPem);
    await assert.rejects(loadPki(dir), /server\.key does not match server\.crt/);

    const otherCa = await createCa();
    await writePki(dir, { ca: pki.ca, server: await createServerCert(otherCa) });
    await assert.rejects(loadPki(dir), /server\.crt is not signed by ca\.crt/);
  });
});

describe('ensurePki', () => {
  it('creates everything once, then reuses it', async (t) => {
    const dir = await tempDir(t);
    const first = await ensurePki(dir, { dnsNames: ['sched.example'] });
    assert.equal(first.createdCa, true);
    assert.equal(first.issuedServer, true);
    assert.equal(first.caCertHash, caCertHash(first.pki.ca.certPem));
    const again = await ensurePki(dir, { dnsNames: ['sched.example'] });
    assert.equal(again.createdCa, false);
    assert.equal(again.issuedServer, false);
    assert.deepEqual(again.pki, first.pki);
  });

  it('reissues the server certificate, never the CA, for a new name or near expiry', async (t) => {
    const dir = await tempDir(t);
    const first = await ensurePki(dir);
    const renamed = await ensurePki(dir, { dnsNames: ['new.example'] });
    assert.equal(renamed.createdCa, false);
    assert.equal(renamed.issuedServer, true);
    assert.equal(renamed.caCertHash, first.caCertHash, 'the pin agents hold still works');
    assert.equal(new X509Certificate(renamed.pki.server.certPem).checkHost('new.example'), 'new.example');
    assert.deepEqual(await loadPki(dir), renamed.pki, 'written to disk');

    const later = new Date(Date.now() + 350 * DAY);
    const renewed = await ensurePki(dir, { dnsNames: ['new.example'], now: later });
    assert.equal(renewed.issuedServer, true);
    assert.ok(Date.parse(new X509Certificate(renewed.pki.server.certPem).validTo) > later.getTime() + 300 * DAY);
  });

  it('reissues a server certificate whose key was replaced without it (a renewal cut short), keeping its names', async (t) => {
    const dir = await tempDir(t);
    const first = await ensurePki(dir, { dnsNames: ['sched.example'] });
    // The renewal writes the new key, then the new certificate: a crash in between leaves this.
    const other = await createServerCert(first.pki.ca);
    await writeFile(join(dir, PKI_FILES.serverKey), other.keyPem, { mode: 0o600 });
    const again = await ensurePki(dir, { dnsNames: ['sched.example'] });
    assert.equal(again.createdCa, false);
    assert.equal(again.issuedServer, true);
    assert.deepEqual(await loadPki(dir), again.pki, 'a consistent pair on disk again');
  });

  it('lowers the lifetime of a longer-lived server certificate to validitySeconds at once', async (t) => {
    const dir = await tempDir(t);
    await ensurePki(dir);
    const short = await ensurePki(dir, { validitySeconds: 600 });
    assert.equal(short.issuedServer, true);
    assert.ok(Date.parse(new X509Certificate(short.pki.server.certPem).validTo) <= Date.now() + 601_000);
    assert.equal((await ensurePki(dir, { validitySeconds: 600 })).issuedServer, false, 'then kept');
  });

  it('refuses a CA certificate without its key', async (t) => {
    const dir = await tempDir(t);
    await ensurePki(dir);
    await unlink(join(dir, PKI_FILES.caKey));
    await assert.rejects(ensurePki(dir), /found only one of ca\.crt and ca\.key/);
  });
});
