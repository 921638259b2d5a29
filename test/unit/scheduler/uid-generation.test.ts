/**
 * Object uids are the scheduler's: like kube-apiserver it generates one on every create and ignores
 * a user's (through apply and POST alike), an update cannot change it, and a uid that is a path is
 * refused at decoding with the field named.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, startApiServer } from './server-helpers.js';

const GIVEN = '0badc0de-0000-4000-8000-000000000000';
const podJson = (name: string, uid: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, uid }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uid generation', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('ignores a given uid on apply and POST, keeps the uid on update, refuses a path as uid', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);

    const applied = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podJson('a', GIVEN), contentType: 'application/json' });
    assert.equal(applied.status, 200, applied.text);
    const a = store.get<{ metadata: { uid: string } }>('Pod', 'default', 'a')!;
    assert.match(a.metadata.uid, UUID);
    assert.notEqual(a.metadata.uid, GIVEN);

    const posted = await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: tokens.api, body: podJson('b', a.metadata.uid), contentType: 'application/json' });
    assert.equal(posted.status, 201, posted.text);
    assert.match(posted.body.metadata.uid, UUID);
    assert.notEqual(posted.body.metadata.uid, a.metadata.uid, "another object's uid cannot be taken");

    // re-applying with another uid changes nothing of the identity
    const again = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podJson('a', GIVEN), contentType: 'application/json' });
    assert.equal(again.status, 200, again.text);
    assert.equal(store.get<{ metadata: { uid: string } }>('Pod', 'default', 'a')!.metadata.uid, a.metadata.uid);

    const evil = await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: tokens.api, body: podJson('c', '../../../..'), contentType: 'application/json' });
    assert.equal(evil.status, 422, evil.text);
    assert.match(evil.body.message, /metadata\.uid: invalid value "\.\.\/\.\.\/\.\.\/\.\."/);
    assert.equal(store.get('Pod', 'default', 'c'), undefined);
  });
});
