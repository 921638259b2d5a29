/**
 * The REST API's write routes beyond apply/create/delete: merge patches on namespaced objects and
 * nodes (cordon) (strategic and JSON patches, PUT: server-api-patch.test.ts), the Scale subresource, Deployment rollback, node deletion, and what apply reports.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { reconcileDeployment } from '../../../src/scheduler/controllers/index.js';
import { mergePatch } from '../../../src/scheduler/server/rest-api.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment, setImage } from './controllers-helpers.js';
import { api, makePki, makeTokens, patch, podYaml, startApiServer } from './server-helpers.js';

const now = new Date('2026-01-01T00:10:00Z');

function addNode(store: Store, name: string): void {
  store.create('Node', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { taints: [], unschedulable: false },
    status: { capacity: { cpu: '4' }, allocatable: { cpu: '4' }, conditions: [], addresses: [], nodeInfo: {} },
  } as never);
}

describe('merge patch (RFC 7386)', () => {
  it('merges objects, removes keys set to null and replaces arrays and scalars', () => {
    // The examples of RFC 7386, section 3.
    const cases: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, p, want] of cases) assert.deepEqual(mergePatch(target, p), want, `${JSON.stringify(target)} + ${JSON.stringify(p)}`);
    const target = { a: { b: 1 } };
    mergePatch(target, { a: { b: 2 } });
    assert.deepEqual(target, { a: { b: 1 } }, 'the target is not changed');
  });
});

describe('scheduler REST API: writes', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('cordons and uncordons a node by merge patch, keeping its status, and wakes the control loop', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    let kicks = 0;
    const server = await startApiServer(t, store, pki, tokens.lookup, { onPodsChanged: () => kicks++ });
    addNode(store, 'n1');

    const cordoned = await patch(server, pki, '/api/v1/nodes/n1', tokens.api, { spec: { unschedulable: true }, status: { capacity: { cpu: '99' } } });
    assert.equal(cordoned.status, 200, cordoned.text);
    assert.equal(cordoned.body.spec.unschedulable, true);
    assert.equal(cordoned.body.status.capacity.cpu, '4', 'status belongs to the agent: a patch cannot change it');
    assert.equal(store.get<any>('Node', '', 'n1').spec.unschedulable, true);
    assert.equal(kicks, 1);

    const labelled = await patch(server, pki, '/api/v1/nodes/n1', tokens.api, { metadata: { labels: { 'kubernetes.io/hostname': null, zone: 'a' } } });
    assert.deepEqual(labelled.body.metadata.labels, { zone: 'a' });
    const uncordoned = await patch(server, pki, '/api/v1/nodes/n1', tokens.api, { spec: { unschedulable: false } });
    assert.equal(uncordoned.body.spec.unschedulable, false);

    const bad = await patch(server, pki, '/api/v1/nodes/n1', tokens.api, { spec: { unschedulable: 'yes' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /unschedulable must be true or false/);
    const badTaint = await patch(server, pki, '/api/v1/nodes/n1', tokens.api, { spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } });
    assert.equal(badTaint.status, 400);
    assert.match(badTaint.body.message, /taints\[0\]\.effect/);
    const missing = await patch(server, pki, '/api/v1/nodes/nope', tokens.api, { spec: { unschedulable: true } });
    assert.equal(missing.status, 404);
  });

  it('refuses patches that are not merge patches, not objects, or change identity', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const path = '/api/v1/namespaces/default/deployments/web';

    const yamlPatch = await api(server, pki, 'PATCH', path, { token: tokens.api, body: 'spec: {}', contentType: 'application/yaml' });
    assert.equal(yamlPatch.status, 415);
    assert.match(yamlPatch.body.message, /application\/merge-patch\+json/);
    const jsonPatch = await api(server, pki, 'PATCH', path, { token: tokens.api, body: '[{"op":"replace"}]', contentType: 'application/json-patch+json' });
    assert.equal(jsonPatch.status, 422);
    assert.match(jsonPatch.body.message, /JSON patch operation 0: path must be a JSON pointer/);
    const notJson = await api(server, pki, 'PATCH', path, { token: tokens.api, body: '{', contentType: 'application/merge-patch+json' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.message, /not valid JSON/);
    const array = await patch(server, pki, path, tokens.api, [1]);
    assert.equal(array.status, 400);
    const rename = await patch(server, pki, path, tokens.api, { metadata: { name: 'other' } });
    assert.equal(rename.status, 400);
    assert.match(rename.body.message, /metadata\.name cannot be changed/);
    const invalid = await patch(server, pki, path, tokens.api, { spec: { replicas: -1 } });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, 'Invalid');
    assert.match(invalid.body.message, /spec\.replicas/);
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 1, 'nothing was written');
  });

  it('patches a deployment spec (validated and defaulted), honours a resourceVersion precondition and keeps pods fixed', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const d = createDeployment(store, 'web');
    const path = '/api/v1/namespaces/default/deployments/web';

    const scaled = await patch(server, pki, path, tokens.api, { spec: { replicas: 4 }, metadata: { labels: { tier: 'front' } } });
    assert.equal(scaled.status, 200, scaled.text);
    assert.equal(scaled.body.spec.replicas, 4);
    assert.equal(scaled.body.metadata.generation, 2);
    assert.equal(scaled.body.metadata.labels.tier, 'front');
    assert.equal(scaled.body.metadata.uid, d.metadata.uid);
    const image = await patch(server, pki, path, tokens.api, { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } } } });
    assert.equal(image.status, 200, image.text);
    assert.equal(image.body.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'the replaced container list is defaulted as a manifest is');

    const stale = await patch(server, pki, path, tokens.api, { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { replicas: 1 } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');

    await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podYaml('p') });
    const podPath = '/api/v1/namespaces/default/pods/p';
    const relabel = await patch(server, pki, podPath, tokens.api, { metadata: { labels: { a: 'b' } } });
    assert.equal(relabel.status, 200, relabel.text);
    assert.deepEqual(relabel.body.metadata.labels, { a: 'b' });
    const respec = await patch(server, pki, podPath, tokens.api, { spec: { nodeName: 'n1' } });
    assert.equal(respec.status, 422, 'Invalid, as kube-apiserver');
    assert.match(respec.body.message, /spec: Forbidden: pod updates may not change fields other than metadata\.labels and metadata\.annotations/);
  });

  it('gets and puts the Scale of deployments and statefulsets', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    let kicks = 0;
    const server = await startApiServer(t, store, pki, tokens.lookup, { onPodsChanged: () => kicks++ });
    createDeployment(store, 'web', { replicas: 2 });
    const path = '/api/v1/namespaces/default/deployments/web/scale';

    const scale = await api(server, pki, 'GET', path, { token: tokens.api });
    assert.equal(scale.status, 200);
    assert.equal(scale.body.kind, 'Scale');
    assert.equal(scale.body.apiVersion, 'autoscaling/v1');
    assert.equal(scale.body.spec.replicas, 2);
    assert.equal(scale.body.status.selector, 'app=web');

    const put = await api(server, pki, 'PUT', path, { token: tokens.api, body: JSON.stringify({ spec: { replicas: 5 } }), contentType: 'application/json' });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.spec.replicas, 5);
    assert.equal(store.get<any>('Deployment', 'default', 'web').spec.replicas, 5);
    assert.equal(kicks, 1);

    for (const body of ['{"spec":{"replicas":-1}}', '{"spec":{"replicas":"3"}}', '{}', '']) {
      const bad = await api(server, pki, 'PUT', path, { token: tokens.api, body, contentType: 'application/json' });
      assert.equal(bad.status, 400, body);
      assert.match(bad.body.message, /spec\.replicas/);
    }
    assert.equal((await api(server, pki, 'GET', '/api/v1/namespaces/default/deployments/nope/scale', { token: tokens.api })).status, 404);
    assert.equal((await api(server, pki, 'GET', '/api/v1/namespaces/default/jobs/x/scale', { token: tokens.api })).status, 404);
  });

  it('rolls a deployment back to the previous revision or a named one', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    reconcileDeployment(store, 'default', 'web', now);
    setImage(store, 'web', 'busybox:2');
    reconcileDeployment(store, 'default', 'web', now);
    const path = '/api/v1/namespaces/default/deployments/web/rollback';
    const image = () => store.get<any>('Deployment', 'default', 'web').spec.template.spec.containers[0].image;

    const back = await api(server, pki, 'POST', path, { token: tokens.api });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.kind, 'Deployment');
    assert.equal(image(), 'busybox:1');
    reconcileDeployment(store, 'default', 'web', now);

    const to2 = await api(server, pki, 'POST', path, { token: tokens.api, body: '{"toRevision": 2}', contentType: 'application/json' });
    assert.equal(to2.status, 200, to2.text);
    assert.equal(image(), 'busybox:2');
    const none = await api(server, pki, 'POST', path, { token: tokens.api, body: '{"toRevision": 9}', contentType: 'application/json' });
    assert.equal(none.status, 404);
    assert.match(none.body.message, /no revision 9/);
    const bad = await api(server, pki, 'POST', path, { token: tokens.api, body: '{"toRevision": "two"}', contentType: 'application/json' });
    assert.equal(bad.status, 400);
  });

  it('deletes a node with the pods bound to it', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    addNode(store, 'n1');
    addNode(store, 'n2');
    await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: `${podYaml('a')}---\n${podYaml('b')}---\n${podYaml('c')}` });
    store.bindPod('default', 'a', 'n1');
    store.bindPod('default', 'b', 'n2');

    const gone = await api(server, pki, 'DELETE', '/api/v1/nodes/n1', { token: tokens.api });
    assert.equal(gone.status, 200);
    assert.equal(gone.body.metadata.name, 'n1');
    assert.deepEqual(store.list('Node').map((n) => n.metadata.name), ['n2']);
    assert.deepEqual(store.list('Pod').map((p) => p.metadata.name), ['b', 'c']);
    assert.equal((await api(server, pki, 'DELETE', '/api/v1/nodes/n1', { token: tokens.api })).status, 404);
  });

  it('says what apply did to each object, and keeps what controllers added (a Job selector, a revision)', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const job = `apiVersion: batch/v1
kind: Job
metadata: { name: once }
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: c, image: busybox }]
`;
    const first = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: `${podYaml('a')}---\n${job}` });
    assert.equal(first.headers['corelet-apply-results'], 'created,created');
    // The Job controller gives the Job its selector; applying the same manifest again leaves it be.
    const { reconcileJob } = await import('../../../src/scheduler/controllers/index.js');
    reconcileJob(store, 'default', 'once', now);
    const selector = store.get<any>('Job', 'default', 'once').spec.selector;
    assert.ok(selector);
    const second = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: `${podYaml('a', '200m')}---\n${job}` });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers['corelet-apply-results'], 'configured,unchanged');
    assert.deepEqual(store.get<any>('Job', 'default', 'once').spec.selector, selector);

    // A Deployment keeps the revision annotation its controller wrote.
    createDeployment(store, 'web');
    reconcileDeployment(store, 'default', 'web', now);
    assert.equal(store.get<any>('Deployment', 'default', 'web').metadata.annotations['deployment.kubernetes.io/revision'], '1');
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, annotations: { note: hi } }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: c, image: "busybox:1" }] }
`;
    const third = await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: manifest });
    assert.equal(third.headers['corelet-apply-results'], 'configured');
    assert.deepEqual(store.get<any>('Deployment', 'default', 'web').metadata.annotations, { 'deployment.kubernetes.io/revision': '1', note: 'hi' });
  });
});
