/**
 * The manifest decoder cannot be tied up: its waiting queue is bounded (429 with Retry-After beyond
 * it), a worker that takes too long is stopped, and an identity that may not write any object (a
 * bootstrap token, a node, a read-only user) is refused before its apply body is decoded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newTokenRecord, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { DecodeSlots, DecoderBusyError, decodeObjectsOffLoop } from '../../../src/scheduler/server/decode-off-loop.js';
import { CoreletError } from '../../../src/lib/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, startApiServer, startServer } from './server-helpers.js';
import { bigManifest } from './manifest-helpers.js';

describe('decoder limits', () => {
  it('refuses a request when the waiting queue is full (Retry-After), and runs the waiting ones in turn', async () => {
    const slots = new DecodeSlots(1, 1);
    let release: () => void = () => undefined;
    const first = slots.run(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const second = slots.run(async () => 'second');
    await assert.rejects(slots.run(async () => 'third'), (err: unknown) => {
      assert.ok(err instanceof DecoderBusyError);
      assert.equal(err.retryAfterSeconds, 1);
      assert.match(err.message, /too many manifests are waiting to be decoded \(1\): retry in 1s/);
      return true;
    });
    release();
    assert.equal(await first, 'first');
    assert.equal(await second, 'second');
    assert.equal(await slots.run(async () => 'fourth'), 'fourth', 'the queue has room again');
  });

  it('stops a decoding worker that takes longer than the timeout, with an error saying so', async () => {
    await assert.rejects(decodeObjectsOffLoop(bigManifest(200 * 1024), 'slow.yaml', { timeoutMs: 1, slots: new DecodeSlots(1, 0) }), (err: unknown) => {
      assert.ok(err instanceof CoreletError);
      assert.equal(err.kind, 'Unavailable');
      assert.match(err.message, /^slow\.yaml: decoding took more than 0\.001s and was stopped: split the manifest into smaller files/);
      return true;
    });
  });

  it('refuses an apply before decoding its body when the caller may not create or patch anything; a writer still applies', async (t) => {
    const pki = await makePki();
    const { store } = tempStore(t);
    const records = new Map<string, TokenRecord>();
    const token = (user: string, groups: string[] = []) => {
      const { token, record } = newTokenRecord('api', { user, groups });
      records.set(record.id, record);
      return token;
    };
    const boot = newTokenRecord('bootstrap');
    records.set(boot.record.id, boot.record);
    store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ed-edit', namespace: 'default' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'ed' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } } as never);
    const server = await startServer(t, store, pki, (id) => records.get(id));
    const body = bigManifest(256 * 1024);
    for (const [who, bearer] of [
      ['a bootstrap token', boot.token],
      ['a node', token('system:node:n1', ['system:nodes'])],
      ['a user bound to nothing', token('nobody')],
    ] as const) {
      const r = await api(server, pki, 'POST', '/api/v1/apply', { token: bearer, body });
      assert.equal(r.status, 403, who);
      assert.match(r.body.message, /may not create or patch any of pods, deployments, .* in any namespace, so its manifest is not decoded/, who);
    }
    assert.equal(store.list('Deployment').length, 0);
    const ok = await api(server, pki, 'POST', '/api/v1/apply', { token: token('ed'), body: bigManifest(70 * 1024) });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(store.list('Deployment').length > 0);
  });

  it('answers 429 Too Many Requests with Retry-After when the decoder queue is full, and applies once it has room', async (t) => {
    const pki = await makePki();
    const { store } = tempStore(t);
    const { token, record } = newTokenRecord('api', { user: 'root', groups: ['system:masters'] });
    const slots = new DecodeSlots(1, 0);
    const { url } = await startApiServer(t, store, pki, (id) => (id === record.id ? record : undefined), { decodeSlots: slots });
    // Another apply holds the only worker; nobody may wait.
    let release: () => void = () => undefined;
    const held = slots.run(() => new Promise<void>((resolve) => (release = resolve)));
    const body = bigManifest(100 * 1024);
    const busy = await api({ url }, pki, 'POST', '/api/v1/apply', { token, body });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal(busy.body.reason, 'TooManyRequests');
    assert.match(busy.body.message, /too many manifests are waiting to be decoded/);
    release();
    await held;
    const ok = await api({ url }, pki, 'POST', '/api/v1/apply', { token, body });
    assert.equal(ok.status, 200, ok.text);
  });
});
