/**
 * /openapi/v3 as kubectl reads it (explain, apply's validation and strategic merge patch), and the
 * fieldValidation parameter of create and patch (Ignore, Warn by default, Strict as kubectl sends it).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, startApiServer } from './server-helpers.js';

const deployment = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox:1.36', ...extra }] } },
    },
  });

describe('scheduler REST API: OpenAPI v3 and field validation', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('lists every group-version with a hashed URL, whose document has the kinds\' paths and schemas as kubectl looks them up', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const index = await api(server, pki, 'GET', '/openapi/v3', { token: tokens.api });
    assert.equal(index.status, 200);
    assert.deepEqual(Object.keys(index.body.paths).sort(), ['api/v1', 'apis/apps/v1', 'apis/batch/v1', 'apis/discovery.k8s.io/v1', 'apis/rbac.authorization.k8s.io/v1']);
    const url: string = index.body.paths['apis/apps/v1'].serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);

    const doc = await api(server, pki, 'GET', url, { token: tokens.api });
    assert.equal(doc.status, 200);
    assert.equal(doc.headers.etag, `"${url.split('hash=')[1]}"`);
    assert.equal(doc.headers['cache-control'], 'public, immutable');
    // kubectl apply: a PATCH of the kind taking fieldValidation means "the server validates".
    const patchOp = doc.body.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    assert.deepEqual(patchOp['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(patchOp.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok('application/strategic-merge-patch+json' in patchOp.requestBody.content);
    // kubectl explain: the schema carrying the GVK, its fields by $ref, descriptions.
    const schemas = doc.body.components.schemas;
    const d = schemas['io.k8s.api.apps.v1.Deployment'];
    assert.deepEqual(d['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    assert.deepEqual(d.properties.spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }]);
    assert.deepEqual(schemas['io.k8s.api.apps.v1.DeploymentSpec'].required, ['selector', 'template']);
    // Strategic merge patch keys, as kubectl's three-way merge reads them.
    const containers = schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
    assert.match(schemas['io.k8s.api.core.v1.ResourceRequirements'].properties.limits.description, /cgroups|OOM/);
    // Every $ref resolves within the document.
    const refs = JSON.stringify(doc.body).match(/#\/components\/schemas\/[^"]+/g) ?? [];
    for (const r of refs) assert.ok(r.slice('#/components/schemas/'.length) in schemas, r);

    const again = await api(server, pki, 'GET', '/openapi/v3/api/v1', { token: tokens.api });
    assert.ok(again.body.components.schemas['io.k8s.api.core.v1.Pod']);
    assert.equal((await api(server, pki, 'GET', '/openapi/v3/apis/extensions/v1beta1', { token: tokens.api })).status, 404);
    assert.equal((await api(server, pki, 'GET', '/openapi/v3')).status, 401);
  });

  it('create: an unknown field warns by default and with Warn, is dropped silently with Ignore, refused with Strict', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const post = (name: string, query: string) =>
      api(server, pki, 'POST', `/api/v1/namespaces/default/deployments${query}`, { token: tokens.api, body: deployment(name, { imagePullSecret: 'x' }), contentType: 'application/json' });

    const byDefault = await post('a', '');
    assert.equal(byDefault.status, 201);
    assert.equal(byDefault.headers.warning, '299 - "unknown field \\"spec.template.spec.containers[0].imagePullSecret\\""');
    const warn = await post('b', '?fieldValidation=Warn');
    assert.equal(warn.status, 201);
    assert.equal(warn.headers.warning, byDefault.headers.warning);
    const ignore = await post('c', '?fieldValidation=Ignore');
    assert.equal(ignore.status, 201);
    assert.equal(ignore.headers.warning, undefined);

    const strict = await post('d', '?fieldValidation=Strict');
    assert.equal(strict.status, 400);
    assert.equal(strict.body.reason, 'BadRequest');
    assert.equal(strict.body.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullSecret"');
    assert.equal(store.get('Deployment', 'default', 'd'), undefined);
    // Without unknown fields Strict creates as usual.
    const clean = await api(server, pki, 'POST', '/api/v1/namespaces/default/deployments?fieldValidation=Strict', { token: tokens.api, body: deployment('e'), contentType: 'application/json' });
    assert.equal(clean.status, 201);
    assert.equal(clean.headers.warning, undefined);

    // A key given twice (JSON): warned, or refused with Strict.
    const twice = deployment('g').replace('"replicas":1', '"replicas":1,"replicas":2');
    const dupWarn = await api(server, pki, 'POST', '/api/v1/namespaces/default/deployments', { token: tokens.api, body: twice, contentType: 'application/json' });
    assert.equal(dupWarn.status, 201);
    assert.equal(dupWarn.headers.warning, '299 - "duplicate field \\"spec.replicas\\""');
    assert.equal(dupWarn.body.spec.replicas, 2);
    const dupStrict = await api(server, pki, 'POST', '/api/v1/namespaces/default/deployments?fieldValidation=Strict', { token: tokens.api, body: twice.replace('"name":"g"', '"name":"h"'), contentType: 'application/json' });
    assert.equal(dupStrict.status, 400);
    assert.match(dupStrict.body.message, /strict decoding error: duplicate field "spec\.replicas"$/);

    const bad = await post('f', '?fieldValidation=strict');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'fieldValidation: unsupported value "strict" (supported: Ignore, Warn, Strict)');
  });

  it('patch: Strict refuses a patch that adds an unknown field and leaves the object as it was; Warn applies it with a warning', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    assert.equal((await api(server, pki, 'POST', '/api/v1/namespaces/default/deployments', { token: tokens.api, body: deployment('web'), contentType: 'application/json' })).status, 201);
    const body = JSON.stringify({ spec: { replicas: 3, paused: false, pauzed: true } });
    const strict = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/deployments/web?fieldValidation=Strict', { token: tokens.api, body, contentType: 'application/merge-patch+json' });
    assert.equal(strict.status, 400);
    assert.match(strict.body.message, /strict decoding error: unknown field "spec\.pauzed"$/);
    assert.equal(store.get<{ spec: { replicas: number } }>('Deployment', 'default', 'web')?.spec.replicas, 1);

    const warn = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/deployments/web', { token: tokens.api, body, contentType: 'application/merge-patch+json' });
    assert.equal(warn.status, 200);
    assert.equal(warn.headers.warning, '299 - "unknown field \\"spec.pauzed\\""');
    assert.equal(warn.body.spec.replicas, 3);

    // Outside the spec too (a patch re-decodes only the spec), each field once.
    const meta = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/deployments/web?fieldValidation=Strict', {
      token: tokens.api,
      body: JSON.stringify({ metadata: { lables: { a: 'b' } }, spec: { pauzed: true }, extra: 1 }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(meta.status, 400);
    assert.match(meta.body.message, /strict decoding error: unknown field "metadata\.lables", unknown field "spec\.pauzed", unknown field "extra"$/);
    const dup = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/deployments/web?fieldValidation=Strict', { token: tokens.api, body: '{"spec": {"replicas": 4, "replicas": 5}}', contentType: 'application/merge-patch+json' });
    assert.equal(dup.status, 400);
    assert.match(dup.body.message, /strict decoding error: duplicate field "spec\.replicas"$/);
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    assert.equal((await api(server, pki, 'POST', '/api/v1/namespaces/default/roles', { token: tokens.api, body: JSON.stringify(role), contentType: 'application/json' })).status, 201);
    const rules = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/roles/r?fieldValidation=Strict', {
      token: tokens.api,
      body: JSON.stringify({ rules: [{ apiGroups: [''], resources: ['pods'], verbz: ['list'] }] }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(rules.status, 400);
    assert.match(rules.body.message, /^Role in version "v1" cannot be handled as a Role: strict decoding error: unknown field "rules\[0\]\.verbz"$/);
  });
});
