/**
 * The API's bounds against hostile requests (review of issue 15): JSON patch amplification, watch
 * history memory and replay, status validation, immutable fields, dryRun on every mutating route,
 * nesting depth, Tables sent in slices.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment } from './controllers-helpers.js';
import { api, makePki, makeTokens, startApiServer } from './server-helpers.js';

const JSON_PATCH = 'application/json-patch+json';
const path = '/apis/apps/v1/namespaces/default/deployments/web';

describe('scheduler REST API: limits against hostile requests', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('refuses a JSON patch of more than 10 000 operations (413) and one whose copies would pass the object limit', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const many = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
    const tooMany = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: JSON_PATCH, body: JSON.stringify(many) });
    assert.equal(tooMany.status, 413, tooMany.text);
    assert.equal(tooMany.body.reason, 'RequestEntityTooLarge');
    assert.match(tooMany.body.message, /10001 operations, more than the limit of 10000/);

    // Each copy doubles the list: 2^40 items unless the growth is refused before it is built.
    const amplifier = [{ op: 'add', path: '/metadata/annotations', value: { a: 'x' } }, { op: 'add', path: '/spec/zz', value: ['0123456789abcdef'] }, ...Array.from({ length: 40 }, () => ({ op: 'copy', from: '/spec/zz', path: '/spec/zz/-' }))];
    const amplified = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: JSON_PATCH, body: JSON.stringify(amplifier) });
    assert.equal(amplified.status, 400, amplified.text);
    assert.match(amplified.body.message, /JSON patch operation \d+ \(copy\) would make the object larger than 1572864 bytes/);
    assert.equal(store.get<any>('Deployment', 'default', 'web')?.metadata.annotations?.a, undefined, 'nothing was written');

    // Within the bounds a patch still works: many operations, a copy, a move.
    const fine = [...Array.from({ length: 9_000 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' })), { op: 'add', path: '/metadata/labels', value: { a: '1' } }, { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/b' }, { op: 'move', from: '/metadata/labels/a', path: '/metadata/labels/c' }];
    const ok = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: JSON_PATCH, body: JSON.stringify(fine) });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.metadata.labels, { b: '1', c: '1' });
  });
});
