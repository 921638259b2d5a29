/**
 * Lists in chunks (limit/continue, 410 Gone for a token older than 5 minutes) and watches resumed
 * from a resourceVersion (the changes after it only; 410 Expired in an ERROR event when too old), as
 * client-go's reflectors and kubectl use them.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { startWatchHistory } from '../../../src/scheduler/server/watch-history.js';
import { tempStore } from './store-helpers.js';
import { createDeployment } from './controllers-helpers.js';
import { api, makePki, makeTokens, openWatch, startApiServer } from './server-helpers.js';

const deployments = '/api/v1/namespaces/default/deployments';

describe('scheduler REST API: list chunks and watch resume', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('lists in chunks: each ends with a continue token while more follow, all report the first one\'s version', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    for (const name of ['d1', 'd2', 'd3', 'd4', 'd5']) createDeployment(store, name);
    const get = (query: string) => api(server, pki, 'GET', `${deployments}?${query}`, { token: tokens.api });

    const names: string[] = [];
    let page = await get('limit=2');
    const rv = page.body.metadata.resourceVersion;
    const seen: string[] = [];
    for (;;) {
      assert.equal(page.status, 200, page.text);
      assert.equal(page.body.metadata.resourceVersion, rv);
      names.push(...page.body.items.map((d: any) => d.metadata.name));
      seen.push(String(page.body.items.length));
      if (!page.body.metadata.continue) break;
      if (names.length === 2) createDeployment(store, 'd0'); // before the last key: not in this list
      page = await get(`limit=2&continue=${encodeURIComponent(page.body.metadata.continue)}`);
    }
    assert.deepEqual(names, ['d1', 'd2', 'd3', 'd4', 'd5']);
    const counted = await get('limit=2');
    assert.equal(counted.body.metadata.remainingItemCount, 4, 'd0..d5: two sent, four follow');
    assert.deepEqual(seen, ['2', '2', '1']);

    for (const name of ['d3', 'd5']) {
      store.mutate<any>('Deployment', 'default', name, (d) => {
        d.metadata.labels = { pick: 'yes' };
      });
    }
    const selected = await get('limit=1&labelSelector=pick%3Dyes');
    assert.deepEqual(selected.body.items.map((d: any) => d.metadata.name), ['d3']);
    const rest = await get(`limit=1&labelSelector=pick%3Dyes&continue=${selected.body.metadata.continue}`);
    assert.deepEqual(rest.body.items.map((d: any) => d.metadata.name), ['d5']);
    assert.equal(rest.body.metadata.continue, undefined);
    const fields = await get('limit=2&fieldSelector=metadata.name!%3Dd1,metadata.name!%3Dd3');
    assert.deepEqual(fields.body.items.map((d: any) => d.metadata.name), ['d0', 'd2']);
    const fieldsRest = await get(`limit=2&fieldSelector=metadata.name!%3Dd1,metadata.name!%3Dd3&continue=${fields.body.metadata.continue}`);
    assert.deepEqual(fieldsRest.body.items.map((d: any) => d.metadata.name), ['d4', 'd5']);
    const whole = await get('limit=0');
    assert.equal(whole.body.items.length, 6, 'limit=0 is no limit');

    const bad = await get('limit=2&continue=garbage');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /continue: the token is not one this server gave/);
    const badLimit = await get('limit=-1');
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.message, /limit must be a non-negative integer/);
  });

  it('a continue token older than 5 minutes is 410 Gone (Expired), as a compacted one is', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    let now = new Date('2026-01-01T00:00:00Z');
    const server = await startApiServer(t, store, pki, tokens.lookup, { now: () => now });
    for (const name of ['d1', 'd2', 'd3']) createDeployment(store, name);
    const first = await api(server, pki, 'GET', `${deployments}?limit=1`, { token: tokens.api });
    now = new Date('2026-01-01T00:05:00Z');
    const second = await api(server, pki, 'GET', `${deployments}?limit=1&continue=${first.body.metadata.continue}`, { token: tokens.api });
    assert.equal(second.status, 200, 'at 5 minutes the token still holds');
    now = new Date('2026-01-01T00:05:01Z');
    const expired = await api(server, pki, 'GET', `${deployments}?limit=1&continue=${second.body.metadata.continue}`, { token: tokens.api });
    assert.equal(expired.status, 410, 'the second chunk\'s token is as old as the list');
    assert.equal(expired.body.reason, 'Expired');
    assert.match(expired.body.message, /continue parameter is too old/);
  });

  it('a watch from a resourceVersion gets the changes after it, then live ones; a too-old one gets 410 Expired', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    startWatchHistory(store, 5);
    const server = await startApiServer(t, store, pki, tokens.lookup);
    for (const name of ['d1', 'd2']) createDeployment(store, name);
    const listed = await api(server, pki, 'GET', deployments, { token: tokens.api });
    const rv = listed.body.metadata.resourceVersion;
    createDeployment(store, 'd3');
    store.mutate<any>('Deployment', 'default', 'd1', (d) => {
      d.spec.replicas = 4;
    });
    store.delete('Deployment', 'default', 'd2');

    const w = await openWatch(server, pki, `${deployments}?watch=1&resourceVersion=${rv}`, tokens.api);
    t.after(() => w.close());
    const replayed = await w.next(3);
    assert.deepEqual(replayed.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED d3', 'MODIFIED d1', 'DELETED d2']);
    createDeployment(store, 'd4');
    const [, , , live] = await w.next(4);
    assert.equal(`${live.type} ${live.object.metadata.name}`, 'ADDED d4');

    // Six more changes: the history (5) no longer reaches back to rv.
    for (const name of ['e1', 'e2', 'e3', 'e4', 'e5', 'e6']) createDeployment(store, name);
    const old = await openWatch(server, pki, `${deployments}?watch=1&resourceVersion=${rv}`, tokens.api);
    t.after(() => old.close());
    const [error] = await old.next(1);
    assert.equal(old.status, 200);
    assert.equal(error.type, 'ERROR');
    assert.equal(error.object.code, 410);
    assert.equal(error.object.reason, 'Expired');
    assert.match(error.object.message, new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`));

    // resourceVersion=0 (or none) starts with the current state, as before.
    const fresh = await openWatch(server, pki, `${deployments}?watch=1&resourceVersion=0`, tokens.api);
    t.after(() => fresh.close());
    const initial = await fresh.next(9);
    assert.ok(initial.every((e) => e.type === 'ADDED'));
  });
});
