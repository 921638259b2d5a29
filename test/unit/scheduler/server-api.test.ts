import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { newTokenRecord } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, podYaml, startServer } from './server-helpers.js';

describe('scheduler REST API', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('refuses every route without a valid API token with 401 and a Status body', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const expired = newTokenRecord('api', { user: 'old', ttlSeconds: 1, now: new Date(Date.now() - 60_000) });
    tokens.records.set(expired.record.id, expired.record);
    const server = await startServer(t, store, pki, tokens.lookup);
    const routes: [string, string][] = [
      ['GET', '/api/v1/namespaces/default/pods'],
      ['GET', '/api/v1/namespaces/default/pods/a'],
      ['POST', '/api/v1/namespaces/default/pods'],
      ['DELETE', '/api/v1/namespaces/default/pods/a'],
      ['GET', '/api/v1/namespaces/default/deployments'],
      ['GET', '/api/v1/nodes'],
      ['GET', '/api/v1/nodes/n1'],
      ['GET', '/api/v1/events'],
      ['GET', '/api/v1/namespaces/default/events'],
      ['POST', '/api/v1/apply'],
      ['GET', '/no/such/path'],
    ];
    const cases: [string | undefined, RegExp][] = [
      [undefined, /authentication required/],
      ['not-a-token', /authentication failed: invalid token/],
      [expired.token, /expired/],
    ];
    for (const [method, path] of routes) {
      for (const [token, message] of cases) {
        const res = await api(server, pki, method, path, { token, body: method === 'POST' ? podYaml('a') : undefined });
        assert.equal(res.status, 401, `${method} ${path} with ${token === undefined ? 'no token' : 'a bad token'}`);
        assert.equal(res.body.kind, 'Status');
        assert.equal(res.body.reason, 'Unauthorized');
        assert.match(res.body.message, message);
        assert.equal(res.headers['www-authenticate'], 'Bearer');
      }
    }
    // A bootstrap token authenticates (as system:bootstrap:<id>) but may only ask for node certificates.
    const id = tokens.bootstrap.split('.')[0];
    for (const [method, path] of routes) {
      const res = await api(server, pki, method, path, { token: tokens.bootstrap, body: method === 'POST' ? podYaml('a') : undefined });
      assert.equal(res.status, 403, `${method} ${path} with a bootstrap token`);
      assert.equal(res.body.reason, 'Forbidden');
      assert.match(res.body.message, new RegExp(`User "system:bootstrap:${id}" cannot`));
    }
    assert.deepEqual(store.list('Pod'), [], 'nothing was written');
  });

  it('applies a manifest, then lists, gets, updates and deletes in Kubernetes shapes', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const token = tokens.api;
    const manifest = `${podYaml('web')}---
apiVersion: apps/v1
kind: Deployment
metadata: { name: front, labels: { app: front } }
spec:
  replicas: 2
  selector: { matchLabels: { app: front } }
  template:
    metadata: { labels: { app: front } }
    spec: { containers: [{ name: c, image: nginx }] }
`;
    const applied = await api(server, pki, 'POST', '/api/v1/apply', { token, body: manifest });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(applied.body.kind, 'List');
    assert.deepEqual(applied.body.items.map((o: any) => `${o.kind}/${o.metadata.name}`), ['Pod/web', 'Deployment/front']);

    const pods = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods', { token });
    assert.equal(pods.status, 200);
    assert.equal(pods.body.kind, 'PodList');
    assert.equal(pods.body.apiVersion, 'v1');
    assert.deepEqual(pods.body.items.map((p: any) => p.metadata.name), ['web']);
    assert.match(pods.body.items[0].metadata.uid, /^[0-9a-f-]{36}$/);

    const deps = await api(server, pki, 'GET', '/api/v1/namespaces/default/deployments?labelSelector=app%3Dfront', { token });
    assert.equal(deps.body.kind, 'DeploymentList');
    assert.equal(deps.body.items[0].spec.replicas, 2);
    // Set-based and inequality terms too, as kube-apiserver reads them; a bad term is a 400 naming it.
    const names = async (q: string) => (await api(server, pki, 'GET', `/api/v1/namespaces/default/deployments?labelSelector=${encodeURIComponent(q)}`, { token })).body.items.map((o: any) => o.metadata.name);
    assert.deepEqual(await names('app in (front,back),!zone'), ['front']);
    assert.deepEqual(await names('app!=front'), []);
    const badSelector = await api(server, pki, 'GET', `/api/v1/namespaces/default/deployments?labelSelector=${encodeURIComponent('app in ()')}`, { token });
    assert.equal(badSelector.status, 400);
    assert.match(badSelector.body.message, /labelSelector: invalid term "app in \(\)"/);
    // A resource named like an Object property is an unknown resource (404), not a server error.
    for (const path of ['/api/v1/constructor', '/api/v1/namespaces/default/constructor', '/api/v1/namespaces/default/__proto__/x', '/api/v1/toString']) {
      const res = await api(server, pki, 'GET', path, { token });
      assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
    }

    // Applying again with a change updates in place: same uid, new generation.
    const uid = pods.body.items[0].metadata.uid;
    const again = await api(server, pki, 'POST', '/api/v1/apply', { token, body: manifest.replace('replicas: 2', 'replicas: 3') });
    assert.equal(again.status, 200);
    const dep = await api(server, pki, 'GET', '/api/v1/namespaces/default/deployments/front', { token });
    assert.equal(dep.body.spec.replicas, 3);
    assert.equal(dep.body.metadata.generation, 2);
    assert.equal((await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/web', { token })).body.metadata.uid, uid);

    // As Kubernetes' NamespaceLifecycle: no objects in a namespace that does not exist.
    const early = await api(server, pki, 'POST', '/api/v1/namespaces/team/pods', { token, body: podYaml('solo') });
    assert.equal(early.status, 404);
    assert.equal(early.body.message, 'namespaces "team" not found');
    const ns = await api(server, pki, 'POST', '/api/v1/namespaces', { token, body: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team }\n' });
    assert.equal(ns.status, 201, JSON.stringify(ns.body));
    const created = await api(server, pki, 'POST', '/api/v1/namespaces/team/pods', { token, body: podYaml('solo') });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.metadata.namespace, 'team');
    const dup = await api(server, pki, 'POST', '/api/v1/namespaces/team/pods', { token, body: podYaml('solo') });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, 'AlreadyExists');

    const all = await api(server, pki, 'GET', '/api/v1/pods', { token });
    assert.deepEqual(all.body.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`), ['default/web', 'team/solo']);

    const deleted = await api(server, pki, 'DELETE', '/api/v1/namespaces/team/pods/solo', { token });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.metadata.name, 'solo');
    const missing = await api(server, pki, 'GET', '/api/v1/namespaces/team/pods/solo', { token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');

    const nodes = await api(server, pki, 'GET', '/api/v1/nodes', { token });
    assert.deepEqual([nodes.body.kind, nodes.body.items], ['NodeList', []]);
    const events = await api(server, pki, 'GET', '/api/v1/events', { token });
    assert.equal(events.body.kind, 'EventList');
  });

  it('answers a bad manifest with 400 naming the problem, writing nothing', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const bad = `${podYaml('ok')}---\napiVersion: v1\nkind: Pod\nmetadata: { name: Bad_Name }\nspec: { containers: [] }\n`;
    const res = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: bad });
    assert.equal(res.status, 422);
    assert.equal(res.body.reason, 'Invalid');
    assert.match(res.body.message, /metadata\.name/);
    assert.deepEqual(store.list('Pod'), []);
    const unknown = await api(server, pki, 'GET', '/api/v1/namespaces/default/widgets', { token: tokens.api });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /widgets/);
  });
});
