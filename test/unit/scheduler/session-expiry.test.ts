/**
 * TLS checks a node's client certificate only at the handshake: a session opened with it must end
 * when it expires (a node whose renewals kept failing, or a stolen key, would otherwise keep the
 * node's session and its pods' specs, logs and exec traffic for as long as the connection stays up).
 * The agent reconnects with its renewed certificate.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { makeNodeCsr, requestNodeCertificate } from '../../../src/agent/cluster/node-identity.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { CERT_EXPIRED_CLOSE_CODE } from '../../../src/scheduler/server/session-expiry.js';
import { tempStore } from './store-helpers.js';
import { bootstrapNode, FakeAgent, makePki, makeTokens, registerMessage } from './server-helpers.js';

describe('a node session and its certificate', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('is closed when the certificate that opened it expires; the renewed certificate opens the next', { timeout: 120_000 }, async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    // The certificate (1 h) is issued by a scheduler clock 1 h - 5 s behind: it expires 5 s from now.
    let offset = -(3600 - 5) * 1000;
    const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: tokens.lookup, nodeCertTtlSeconds: 3600, now: () => new Date(Date.now() + offset) });
    t.after(() => server.close());
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node1');
    offset = 0;
    const agent = await FakeAgent.connect(t, server, pki, creds);
    agent.send(registerMessage('node1'));
    assert.equal((await agent.next()).type, 'registered');
    // The agent renews meanwhile (a 1 h certificate from the scheduler's clock now).
    const next = await makeNodeCsr('node1');
    const renewedPem = await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { certPem: creds.certPem, keyPem: creds.keyPem }, next.csrPem);
    const [code, reason] = (await once(agent.ws, 'close')) as [number, Buffer];
    assert.equal(code, CERT_EXPIRED_CLOSE_CODE);
    assert.match(reason.toString(), /the node certificate expired/);
    const again = await FakeAgent.connect(t, server, pki, { keyPem: next.keyPem, certPem: renewedPem, caPem: pki.ca.certPem });
    again.send(registerMessage('node1'));
    assert.equal((await again.next()).type, 'registered');
  });
});
