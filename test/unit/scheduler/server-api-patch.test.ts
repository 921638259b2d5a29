/**
 * Kubernetes write semantics over HTTP: strategic merge patches and JSON patches as kubectl sends
 * them (apply's last-applied flow, scale, rollout restart), PUT with resourceVersion preconditions
 * and 409 Conflict.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment } from './controllers-helpers.js';
import { api, makePki, makeTokens, podYaml, startApiServer } from './server-helpers.js';

const SMP = 'application/strategic-merge-patch+json';
const path = '/api/v1/namespaces/default/deployments/web';

describe('scheduler REST API: strategic merge patch, JSON patch and PUT', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('merges a strategic patch by the lists\' keys (kubectl apply, set image, rollout restart)', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web', { extraSpec: '' });
    // A second container by strategic patch: the first stays (a merge patch would replace the list).
    const added = await api(server, pki, 'PATCH', path, {
      token: tokens.api,
      contentType: SMP,
      body: JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'side', image: 'side:1', env: [{ name: 'A', value: '1' }] }] } } } }),
    });
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.body.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`), ['c=busybox:1', 'side=side:1']);
    // What kubectl rollout restart sends.
    const restarted = await api(server, pki, 'PATCH', path, {
      token: tokens.api,
      contentType: SMP,
      body: JSON.stringify({ spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } } } } }),
    });
    assert.equal(restarted.status, 200, restarted.text);
    assert.equal(restarted.body.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], '2026-01-01T00:00:00Z');
    assert.equal(restarted.body.metadata.generation, 3, 'each template change is a new generation');
    // The shape of kubectl apply's three-way patch: last-applied annotation, $setElementOrder, a deletion.
    const applied = await api(server, pki, 'PATCH', path, {
      token: tokens.api,
      contentType: SMP,
      body: JSON.stringify({
        metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"Deployment"}\n' } },
        spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'c' }], containers: [{ name: 'side', $patch: 'delete' }, { name: 'c', image: 'busybox:2' }] } } },
      }),
    });
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(applied.body.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`), ['c=busybox:2']);
    assert.equal(applied.body.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '{"kind":"Deployment"}\n');

    // What kubectl apply sends after a kubectl replace saved the whole object as last applied: system fields removed.
    const system = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: SMP, body: JSON.stringify({ metadata: { uid: null, creationTimestamp: null, generation: null }, spec: { replicas: 2 } }) });
    assert.equal(system.status, 200, system.text);
    assert.equal(system.body.metadata.uid, applied.body.metadata.uid, 'the uid stays');
    assert.equal(system.body.metadata.creationTimestamp, applied.body.metadata.creationTimestamp);
    const otherUid = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: SMP, body: JSON.stringify({ metadata: { uid: 'another' } }) });
    assert.equal(otherUid.status, 400);
    assert.match(otherUid.body.message, /metadata\.uid cannot be changed/);

    const bad = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: SMP, body: JSON.stringify({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }) });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /spec\.template\.spec\.containers\[0\]: the item has no "name"/);
    const invalid = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: SMP, body: JSON.stringify({ spec: { replicas: -2 } }) });
    assert.equal(invalid.status, 422, 'the result is validated as a manifest is');
    const unknown = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/xml', body: '<a/>' });
    assert.equal(unknown.status, 415);
    assert.match(unknown.body.message, /strategic-merge-patch\+json/);
  });

  it('applies an RFC 6902 JSON patch, failing whole on a failed test', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const json = (ops: unknown) => api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/json-patch+json', body: JSON.stringify(ops) });
    const ok = await json([
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 4 },
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
    ]);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.spec.replicas, 4);
    assert.equal(ok.body.metadata.labels.tier, 'front');
    const failed = await json([{ op: 'replace', path: '/spec/replicas', value: 9 }, { op: 'test', path: '/spec/replicas', value: 1 }]);
    assert.equal(failed.status, 422);
    assert.match(failed.body.message, /operation 1: test failed/);
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 4, 'nothing was written');
    const missing = await json([{ op: 'remove', path: '/spec/nothing' }]);
    assert.equal(missing.status, 422);
    assert.match(missing.body.message, /no value at \/spec\/nothing/);
  });

  it('kubectl scale: a merge patch of the scale subresource', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const scaled = await api(server, pki, 'PATCH', `${path}/scale`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"spec":{"replicas":3}}' });
    assert.equal(scaled.status, 200, scaled.text);
    assert.equal(scaled.body.kind, 'Scale');
    assert.equal(scaled.body.spec.replicas, 3);
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 3);
    const stale = await api(server, pki, 'PATCH', `${path}/scale`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"metadata":{"resourceVersion":"1"},"spec":{"replicas":5}}' });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
  });

  it('PUT replaces an object when its resourceVersion is current, else 409 Conflict', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const got = await api(server, pki, 'GET', path, { token: tokens.api });
    const edited = structuredClone(got.body);
    edited.spec.replicas = 2;
    edited.metadata.labels = { edited: 'yes' };
    edited.status = { replicas: 99 };
    const put = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(edited) });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.spec.replicas, 2);
    assert.deepEqual(put.body.metadata.labels, { edited: 'yes' });
    assert.notEqual(put.body.metadata.resourceVersion, got.body.metadata.resourceVersion);
    assert.equal(put.body.status?.replicas, got.body.status?.replicas, 'status is not written by a PUT of the object');
    assert.equal(put.headers.warning, undefined, 'what GET returned is accepted back without warnings');

    // The same body again: its resourceVersion is now stale.
    edited.spec.replicas = 7;
    const stale = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(edited) });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.equal(stale.body.message, 'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again');
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 2);

    // Without a resourceVersion: unconditional.
    delete edited.metadata.resourceVersion;
    const unconditional = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(edited) });
    assert.equal(unconditional.status, 200, unconditional.text);
    assert.equal(unconditional.body.spec.replicas, 7);

    const renamed = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify({ ...edited, metadata: { ...edited.metadata, name: 'other' } }) });
    assert.equal(renamed.status, 400);
    assert.match(renamed.body.message, /metadata\.name "other" does not match the URL's name "web"/);
    const missing = await api(server, pki, 'PUT', '/api/v1/namespaces/default/deployments/gone', { token: tokens.api, contentType: 'application/json', body: JSON.stringify({ ...edited, metadata: { name: 'gone' } }) });
    assert.equal(missing.status, 404);
  });

  it('a merge patch with a stale resourceVersion is a 409 Conflict', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const stale = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"metadata":{"resourceVersion":"1"},"spec":{"replicas":5}}' });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
  });

  it('server-side apply: creates, updates, conflicts with another manager (409) unless forced, and records plain writers', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const manifest = (replicas: number, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "${image}"}]
`;
    const apply = (query: string, body: string) => api(server, pki, 'PATCH', `${path}?${query}`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body });

    const created = await apply('fieldManager=alice', manifest(2, 'app:1'));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.spec.replicas, 2);
    assert.equal(created.body.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'defaulted as a POST is');
    assert.deepEqual(created.body.metadata.managedFields.map((e: any) => `${e.manager}/${e.operation}`), ['alice/Apply']);

    // A controller's write of an object it built (no managedFields) keeps them; an empty list clears them.
    store.mutate<any>('Deployment', 'default', 'web', (d) => {
      delete (d.metadata as any).managedFields;
      d.status = { replicas: 2 };
    });
    assert.deepEqual(store.get<any>('Deployment', 'default', 'web').metadata.managedFields, created.body.metadata.managedFields);
    const cleared = store.mutate<any>('Deployment', 'default', 'web', (d) => {
      (d.metadata as any).managedFields = [];
    });
    assert.equal((cleared.metadata as any).managedFields, undefined);
    store.mutate<any>('Deployment', 'default', 'web', (d) => {
      (d.metadata as any).managedFields = created.body.metadata.managedFields;
    });

    const again = await apply('fieldManager=alice', manifest(2, 'app:2'));
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.spec.template.spec.containers[0].image, 'app:2');

    // kubectl scale: a plain write by another manager owns spec.replicas now.
    const scaled = await api(server, pki, 'PATCH', `${path}/scale`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"spec":{"replicas":4}}' });
    assert.equal(scaled.status, 200, scaled.text);
    const conflicted = await apply('fieldManager=alice', manifest(3, 'app:2'));
    assert.equal(conflicted.status, 409, conflicted.text);
    assert.equal(conflicted.body.reason, 'Conflict');
    assert.match(conflicted.body.message, /Apply failed with 1 conflict: conflict with "unknown" with subresource "scale" using apps\/v1: \.spec\.replicas/);
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 4);
    const forced = await apply('fieldManager=alice&force=true', manifest(3, 'app:2'));
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.spec.replicas, 3);

    const stale = await apply('fieldManager=alice', manifest(3, 'app:2').replace('namespace: default}', 'namespace: default, resourceVersion: "1"}'));
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.body.reason, 'Conflict');
    const noManager = await apply('', manifest(3, 'app:2'));
    assert.equal(noManager.status, 400);
    assert.match(noManager.body.message, /fieldManager is required/);
    const wrongName = await apply('fieldManager=alice', manifest(3, 'app:2').replace('name: web', 'name: other'));
    assert.equal(wrongName.status, 400);
    assert.match(wrongName.body.message, /metadata\.name "other" does not match the URL's name "web"/);
  });

  it('server-side apply over an object kubectl applied client-side takes over what the last-applied configuration names', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const object = (image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } } },
    });
    const first = object('app:1');
    const csa = { ...first, metadata: { ...first.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(first) } } };
    const created = await api(server, pki, 'POST', '/api/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply', { token: tokens.api, contentType: 'application/json', body: JSON.stringify(csa) });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.metadata.managedFields.map((e: any) => `${e.manager}/${e.operation}`), ['kubectl-client-side-apply/Update']);
    const ssa = await api(server, pki, 'PATCH', `${path}?fieldManager=kubectl`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body: JSON.stringify(object('app:2')) });
    assert.equal(ssa.status, 200, ssa.text);
    assert.equal(ssa.body.spec.template.spec.containers[0].image, 'app:2');
    // A field someone changed since the last client-side apply stays a conflict.
    await api(server, pki, 'PATCH', `${path}/scale`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"spec":{"replicas":3}}' });
    const scaled = await api(server, pki, 'PATCH', `${path}?fieldManager=kubectl`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body: JSON.stringify(object('app:2')) });
    assert.equal(scaled.status, 409, scaled.text);
    assert.match(scaled.body.message, /\.spec\.replicas/);
    // A field the last-applied configuration does not name stays a conflict.
    await api(server, pki, 'PATCH', `${path}?fieldManager=someone`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"spec":{"paused":true}}' });
    const paused = await api(server, pki, 'PATCH', `${path}?fieldManager=kubectl`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body: JSON.stringify({ ...object('app:2'), spec: { ...object('app:2').spec, replicas: 3, paused: false } }) });
    assert.equal(paused.status, 409, paused.text);
    assert.match(paused.body.message, /conflict with "someone" using apps\/v1: \.spec\.paused/);
  });

  it('?dryRun=All answers as the write would and stores nothing (kubectl --dry-run=server, kubectl diff)', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const rv = store.resourceVersion();
    const patched = await api(server, pki, 'PATCH', `${path}?dryRun=All`, { token: tokens.api, contentType: SMP, body: '{"spec":{"replicas":6}}' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.spec.replicas, 6);
    const applied = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/deployments/new?dryRun=All&fieldManager=kubectl', {
      token: tokens.api,
      contentType: 'application/apply-patch+yaml',
      body: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: new}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}\n',
    });
    assert.equal(applied.status, 201, applied.text);
    const deleted = await api(server, pki, 'DELETE', `${path}?dryRun=All`, { token: tokens.api });
    assert.equal(deleted.status, 200, deleted.text);
    const invalid = await api(server, pki, 'PATCH', `${path}?dryRun=All`, { token: tokens.api, contentType: SMP, body: '{"spec":{"replicas":-1}}' });
    assert.equal(invalid.status, 422, 'a dry run still validates');
    const unsupported = await api(server, pki, 'PATCH', `${path}?dryRun=Some`, { token: tokens.api, contentType: SMP, body: '{}' });
    assert.equal(unsupported.status, 400);
    assert.match(unsupported.body.message, /dryRun: Unsupported value: "Some"/);
    assert.equal(store.resourceVersion(), rv, 'nothing was written');
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 1);
    assert.equal(store.get('Deployment', 'default', 'new'), undefined);
  });

  it('a pod re-applied (server-side, after a client-side create) keeps its spec; changing it is refused', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const pods = '/api/v1/namespaces/default/pods';
    const created = await api(server, pki, 'POST', `${pods}?fieldManager=kubectl-client-side-apply`, { token: tokens.api, contentType: 'application/yaml', body: podYaml('p', '0.5') });
    assert.equal(created.status, 201, created.text);
    store.bindPod('default', 'p', 'node-1');
    // The creator's fields (defaults included) handed to the applier, as kubectl's upgrade to server-side apply does.
    const live = store.get<any>('Pod', 'default', 'p');
    const moved = live.metadata.managedFields.map((e: any) => ({ ...e, manager: 'kubectl', operation: 'Apply' }));
    const upgraded = await api(server, pki, 'PATCH', `${pods}/p`, { token: tokens.api, contentType: 'application/json-patch+json', body: JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: moved }]) });
    assert.equal(upgraded.status, 200, upgraded.text);
    const labelled = podYaml('p', '0.5').replace('  name: p', '  name: p\n  labels: {a: b}');
    const applied = await api(server, pki, 'PATCH', `${pods}/p?fieldManager=kubectl`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body: labelled });
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(applied.body.metadata.labels, { a: 'b' });
    assert.deepEqual(applied.body.spec, live.spec, 'defaults dropped from the applied fields come back; the binding stays');
    const changed = await api(server, pki, 'PATCH', `${pods}/p?fieldManager=kubectl`, { token: tokens.api, contentType: 'application/apply-patch+yaml', body: labelled.replace('busybox', 'nginx') });
    assert.equal(changed.status, 422, 'Invalid, as kube-apiserver');
    assert.match(changed.body.message, /spec: Forbidden: pod updates may not change fields/);
  });

  it('the status subresource writes the status only', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const patched = await api(server, pki, 'PATCH', `${path}/status`, { token: tokens.api, contentType: 'application/merge-patch+json', body: '{"spec":{"replicas":9},"status":{"observedGeneration":1,"replicas":1}}' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.status.replicas, 1);
    assert.equal(patched.body.spec.replicas, 1, 'the spec is not the status subresource\'s');
    const got = await api(server, pki, 'GET', `${path}/status`, { token: tokens.api });
    assert.equal(got.body.status.replicas, 1);
    const stale = await api(server, pki, 'PUT', `${path}/status`, { token: tokens.api, contentType: 'application/json', body: JSON.stringify({ ...got.body, metadata: { ...got.body.metadata, resourceVersion: '1' }, status: { replicas: 5 } }) });
    assert.equal(stale.status, 409);
    const put = await api(server, pki, 'PUT', `${path}/status`, { token: tokens.api, contentType: 'application/json', body: JSON.stringify({ ...got.body, status: { replicas: 5 } }) });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.status, { replicas: 5 });
    const bad = await api(server, pki, 'PUT', `${path}/status`, { token: tokens.api, contentType: 'application/json', body: JSON.stringify({ status: 'fine' }) });
    assert.equal(bad.status, 400);
  });
});
