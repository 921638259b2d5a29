import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  certificateUser,
  createCa,
  createServerCert,
  issueCertificate,
  nodeNameOf,
  nodeUser,
  serverTlsOptions,
  userFromCertificate,
  withAuthenticated,
  type CertKeyPair,
  type UserInfo,
} from '../../../src/scheduler/auth/index.js';
import { testKeyPairSync, useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

function keyPair(): { publicKeyPem: string; keyPem: string } {
  const { publicKeyPem, privateKeyPem } = testKeyPairSync();
  return { publicKeyPem, keyPem: privateKeyPem };
}

describe('identities from client certificates', () => {
  let ca: CertKeyPair;
  let otherCa: CertKeyPair;
  let server: CertKeyPair;
  before(async () => {
    [ca, otherCa] = await Promise.all([createCa(), createCa({ commonName: 'someone-else' })]);
    server = await createServerCert(ca);
  });

  it('issues a client certificate whose CN is the user and whose O attributes are the groups', () => {
    const keys = keyPair();
    const { certPem, serial } = issueCertificate(ca, { publicKeyPem: keys.publicKeyPem, commonName: 'system:node:n1', organizations: ['system:nodes'], usages: ['clientAuth'], validitySeconds: 3600 });
    const cert = new X509Certificate(certPem);
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.equal(cert.serialNumber.toLowerCase(), serial.toLowerCase());
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    const user = userFromCertificate(cert);
    assert.deepEqual(user, { username: 'system:node:n1', groups: ['system:nodes'] });
    assert.equal(nodeNameOf(user!), 'n1');
    assert.equal(nodeNameOf({ username: 'system:node:n1', groups: [] }), undefined, 'a node user outside system:nodes is no node');
    assert.deepEqual(nodeUser('n2'), { username: 'system:node:n2', groups: ['system:nodes'] });
    assert.deepEqual(withAuthenticated(withAuthenticated({ username: 'a', groups: [] })).groups, ['system:authenticated']);
  });

  it('refuses lifetimes under a minute and empty usages, naming the field', () => {
    const { publicKeyPem } = keyPair();
    assert.throws(() => issueCertificate(ca, { publicKeyPem, commonName: 'a', usages: ['clientAuth'], validitySeconds: 5 }), /lifetime/);
    assert.throws(() => issueCertificate(ca, { publicKeyPem, commonName: 'a', usages: [], validitySeconds: 600 }), /usage/);
    assert.throws(() => issueCertificate(ca, { publicKeyPem: 'nope', commonName: 'a', usages: ['clientAuth'], validitySeconds: 600 }), /public key/);
  });

  it('a TLS server reads the user of a certificate from its CA and ignores others and token clients', async (t) => {
    const server_ = https.createServer(serverTlsOptions({ ca, server }), (req, res) => {
      const user: UserInfo | undefined = certificateUser(req.socket as TLSSocket);
      res.end(JSON.stringify(user ?? null));
    });
    await new Promise<void>((r) => server_.listen(0, '127.0.0.1', r));
    t.after(() => server_.close());
    const port = (server_.address() as AddressInfo).port;
    const get = (cert?: { cert: string; key: string }) =>
      new Promise<unknown>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/', ca: ca.certPem, agent: false, ...(cert ?? {}) }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d));
            res.on('end', () => resolve(JSON.parse(body)));
          })
          .on('error', reject);
      });
    const mine = keyPair();
    const alice = issueCertificate(ca, { publicKeyPem: mine.publicKeyPem, commonName: 'alice', organizations: ['ci', 'dev'], usages: ['clientAuth'], validitySeconds: 600 });
    assert.deepEqual(await get({ cert: alice.certPem, key: mine.keyPem }), { username: 'alice', groups: ['ci', 'dev'] });
    const forged = issueCertificate(otherCa, { publicKeyPem: mine.publicKeyPem, commonName: 'admin', organizations: ['system:masters'], usages: ['clientAuth'], validitySeconds: 600 });
    assert.equal(await get({ cert: forged.certPem, key: mine.keyPem }), null, 'a certificate of another CA names nobody');
    const serving = issueCertificate(ca, { publicKeyPem: mine.publicKeyPem, commonName: 'bob', usages: ['serverAuth'], validitySeconds: 600 });
    assert.equal(await get({ cert: serving.certPem, key: mine.keyPem }), null, 'a serving-only certificate is no client certificate');
    assert.equal(await get(), null);
  });
});
