/**
 * The API's bounds against hostile requests (review of issue 15): JSON patch amplification, watch
 * history memory and replay, status validation, immutable fields, dryRun on every mutating route,
 * nesting depth, Tables sent in slices.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempStore } from './store-helpers.js';
import { createDeployment, setImage } from './controllers-helpers.js';
import { reconcileDeployment } from '../../../src/scheduler/controllers/index.js';
import { api, makePki, makeTokens, openWatch, podYaml, startApiServer } from './server-helpers.js';
import { startWatchHistory } from '../../../src/scheduler/server/watch-history.js';
import { encodeContinue } from '../../../src/scheduler/server/list-chunks.js';

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
    assert.equal(amplified.status, 422, amplified.text);
    assert.match(amplified.body.message, /JSON patch operation \d+ \(copy\) would make the object larger than 1572864 bytes/);
    assert.equal(store.get<any>('Deployment', 'default', 'web')?.metadata.annotations?.a, undefined, 'nothing was written');

    // Within the bounds a patch still works: many operations, a copy, a move.
    const fine = [...Array.from({ length: 9_000 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' })), { op: 'add', path: '/metadata/labels', value: { a: '1' } }, { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/b' }, { op: 'move', from: '/metadata/labels/a', path: '/metadata/labels/c' }];
    const ok = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: JSON_PATCH, body: JSON.stringify(fine) });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.metadata.labels, { b: '1', c: '1' });
  });

  it('bounds the watch history by bytes; a resume filters by namespace before parsing and gets 410 Expired past the replay bound', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const history = startWatchHistory(store, 10_000, 2 * 1024 * 1024);
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const web = createDeployment(store, 'web') as any;
    const { metadata: _m, ...rest } = web;
    store.create('Deployment', { ...rest, metadata: { name: 'sys', namespace: 'kube-system' } } as never);
    const rv = store.resourceVersion();
    store.mutate<any>('Deployment', 'kube-system', 'sys', (d) => {
      d.spec.replicas = 3;
    });
    // 100 KiB of annotation per write, 25 writes: 2.5 MiB of changes in namespace default.
    for (let i = 0; i < 25; i++) {
      store.mutate<any>('Deployment', 'default', 'web', (d) => {
        d.metadata.annotations = { big: String(i).padEnd(100 * 1024, 'x') };
      });
    }
    assert.ok(history.keptBytes() <= 2 * 1024 * 1024, `the history holds ${history.keptBytes()} bytes`);
    // Within the byte bound, the oldest went: rv can no longer be resumed from.
    const old = await openWatch(server, pki, `/apis/apps/v1/namespaces/kube-system/deployments?watch=1&resourceVersion=${rv}`, tokens.api);
    t.after(() => old.close());
    const [gone] = await old.next(1);
    assert.equal(gone.type, 'ERROR');
    assert.equal(gone.object.code, 410);

    // ~6 MB of changes in default (a history of 64 MiB keeps them), one change in kube-system.
    const big = startWatchHistory(store);
    const from = store.resourceVersion();
    store.mutate<any>('Deployment', 'kube-system', 'sys', (d) => {
      d.spec.replicas = 4;
    });
    for (let i = 0; i < 60; i++) {
      store.mutate<any>('Deployment', 'default', 'web', (d) => {
        d.metadata.annotations = { big: String(i).padEnd(100 * 1024, 'x') };
      });
    }
    assert.ok(big.keptBytes() > 5 * 1024 * 1024, `${big.keptBytes()}`);
    // The namespaced resume reads only kube-system's change.
    const ns = await openWatch(server, pki, `/apis/apps/v1/namespaces/kube-system/deployments?watch=1&resourceVersion=${from}`, tokens.api);
    t.after(() => ns.close());
    const [modified] = await ns.next(1);
    assert.equal(`${modified.type} ${modified.object.metadata.name} ${modified.object.spec.replicas}`, 'MODIFIED sys 4');
    // Every namespace: more than a replay may be; 410 Expired (the client lists again) rather than ~6 MB at once.
    const all = await openWatch(server, pki, `/apis/apps/v1/deployments?watch=1&resourceVersion=${from}`, tokens.api);
    t.after(() => all.close());
    const [expired] = await all.next(1);
    assert.equal(expired.type, 'ERROR');
    assert.equal(expired.object.code, 410);
    assert.equal(expired.object.reason, 'Expired');
    assert.match(expired.object.message, /more than 4 MiB to replay; list again/);
  });

  it('checks a status before storing it (the field named), and a list of objects with a bad stored status still prints', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podYaml('p') });
    const merge = 'application/merge-patch+json';
    const pod = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/pods/p/status', { token: tokens.api, contentType: merge, body: JSON.stringify({ status: { phase: 'Bogus', podIP: '10.96.0.1', conditions: 'boom', containerStatuses: 7 } }) });
    assert.equal(pod.status, 422, pod.text);
    assert.equal(pod.body.reason, 'Invalid');
    assert.deepEqual(pod.body.details.causes.map((c: any) => c.field).sort(), ['status.conditions', 'status.containerStatuses', 'status.phase']);
    assert.match(pod.body.message, /status\.phase: Unsupported value "Bogus"/);
    const deployment = await api(server, pki, 'PATCH', `${path}/status`, { token: tokens.api, contentType: merge, body: JSON.stringify({ status: { conditions: { a: 1 }, replicas: 'many', readyReplicas: -1 } }) });
    assert.equal(deployment.status, 422, deployment.text);
    assert.match(deployment.body.message, /status\.replicas: must be an integer of 0 or more, got "many"/);
    assert.match(deployment.body.message, /status\.readyReplicas: must be an integer of 0 or more, got -1/);
    assert.match(deployment.body.message, /status\.conditions: must be a list/);
    const condition = await api(server, pki, 'PATCH', `${path}/status`, { token: tokens.api, contentType: merge, body: JSON.stringify({ status: { conditions: [{ status: 'True' }] } }) });
    assert.equal(condition.status, 422, condition.text);
    assert.match(condition.body.message, /status\.conditions\[0\]\.type: Required value/);
    const good = await api(server, pki, 'PATCH', `${path}/status`, { token: tokens.api, contentType: merge, body: JSON.stringify({ status: { replicas: 2, readyReplicas: 1, conditions: [{ type: 'Available', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }) });
    assert.equal(good.status, 200, good.text);
    const podOk = await api(server, pki, 'PATCH', '/api/v1/namespaces/default/pods/p/status', { token: tokens.api, contentType: merge, body: JSON.stringify({ status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] } }) });
    assert.equal(podOk.status, 200, podOk.text);

    // A bad status stored another way (before this check): the Tables still answer, the row says <unknown>.
    store.mutate<any>('Pod', 'default', 'p', (p) => {
      p.status = { phase: 'Running', conditions: 'boom', containerStatuses: 7 };
    });
    store.mutate<any>('Deployment', 'default', 'web', (d) => {
      d.status = { conditions: { a: 1 }, readyReplicas: { x: 1 } };
    });
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    const pods = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods', { token: tokens.api, accept: table });
    assert.equal(pods.status, 200, pods.text);
    assert.equal(pods.body.rows[0].cells[0], 'p');
    const deployments = await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/deployments', { token: tokens.api, accept: table });
    assert.equal(deployments.status, 200, deployments.text);
    assert.equal(deployments.body.rows[0].cells[0], 'web');
  });

  it('PUT of a Pod changes what PATCH may change and no more; a workload\'s selector is immutable on PUT and PATCH (422)', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podYaml('p') });
    const podPath = '/api/v1/namespaces/default/pods/p';
    const got = await api(server, pki, 'GET', podPath, { token: tokens.api });
    const evil = structuredClone(got.body);
    evil.spec.containers[0].image = 'evil';
    const put = await api(server, pki, 'PUT', podPath, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(evil) });
    assert.equal(put.status, 422, put.text);
    assert.equal(put.body.reason, 'Invalid');
    assert.match(put.body.message, /spec: Forbidden: pod updates may not change fields other than metadata\.labels and metadata\.annotations/);
    assert.equal(store.get<any>('Pod', 'default', 'p')?.spec.containers[0].image, got.body.spec.containers[0].image);
    const relabelled = structuredClone(got.body);
    relabelled.metadata.labels = { a: 'b' };
    const ok = await api(server, pki, 'PUT', podPath, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(relabelled) });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.metadata.labels, { a: 'b' });

    createDeployment(store, 'web');
    const current = await api(server, pki, 'GET', path, { token: tokens.api });
    const sneaky = structuredClone(current.body);
    sneaky.spec.selector = { matchLabels: { app: 'other' } };
    sneaky.spec.template.metadata.labels = { app: 'other' };
    const replaced = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(sneaky) });
    assert.equal(replaced.status, 422, replaced.text);
    assert.match(replaced.body.message, /spec\.selector: Invalid value: .*field is immutable/);
    assert.equal(replaced.body.details.causes[0].field, 'spec.selector');
    const patched = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/merge-patch+json', body: JSON.stringify({ spec: { selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } } } } }) });
    assert.equal(patched.status, 422, patched.text);
    assert.match(patched.body.message, /field is immutable/);
    // The same selector written again (another key order) is no change.
    const same = structuredClone(current.body);
    same.spec.replicas = 2;
    const kept = await api(server, pki, 'PUT', path, { token: tokens.api, contentType: 'application/json', body: JSON.stringify(same) });
    assert.equal(kept.status, 200, kept.text);
  });

  it('?dryRun=All writes nothing through apply and rollback, and runs no exec', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const execs: unknown[] = [];
    const podProxy = { exec: async (_pod: unknown, o: unknown) => (execs.push(o), { exitCode: 0, stdout: '', stderr: '' }), logs: async () => {} };
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: podProxy as never });
    const sa = JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dry-sa', namespace: 'default' } });
    const dry = await api(server, pki, 'POST', '/api/v1/apply?dryRun=All', { token: tokens.api, contentType: 'application/json', body: sa });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.items[0].metadata.name, 'dry-sa', 'answered as a real apply would');
    assert.equal(store.get('ServiceAccount', 'default', 'dry-sa'), undefined, 'nothing stored');

    const now = new Date('2026-01-01T00:00:00Z');
    createDeployment(store, 'web');
    reconcileDeployment(store, 'default', 'web', now);
    setImage(store, 'web', 'busybox:2');
    reconcileDeployment(store, 'default', 'web', now);
    const rv = store.get<any>('Deployment', 'default', 'web').metadata.resourceVersion;
    const rollback = await api(server, pki, 'POST', '/apis/apps/v1/namespaces/default/deployments/web/rollback?dryRun=All', { token: tokens.api, contentType: 'application/json', body: '{}' });
    assert.equal(rollback.status, 200, rollback.text);
    assert.equal(rollback.body.spec.template.spec.containers[0].image, 'busybox:1', 'the answer is the rolled-back Deployment');
    const stored = store.get<any>('Deployment', 'default', 'web');
    assert.equal(stored.spec.template.spec.containers[0].image, 'busybox:2', 'not rolled back');
    assert.equal(stored.metadata.resourceVersion, rv);

    await api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body: podYaml('p') });
    store.bindPod('default', 'p', 'n1');
    const exec = await api(server, pki, 'POST', '/api/v1/namespaces/default/pods/p/exec?dryRun=All', { token: tokens.api, contentType: 'application/json', body: '{"command":["rm","-rf","/data"]}' });
    assert.equal(exec.status, 400, exec.text);
    assert.match(exec.body.message, /dryRun is not supported by pods\/exec/);
    assert.deepEqual(execs, [], 'nothing ran');
  });

  it('refuses bodies nested deeper than 1000 levels with 400 naming the depth, never a 500 from a stack overflow', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'web');
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const deepList = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const cases: [string, string, string, string][] = [
      ['PATCH', path, 'application/merge-patch+json', `{"metadata":{"annotations":{"x":${deep(100_000)}}}}`],
      ['PATCH', path, 'application/strategic-merge-patch+json', `{"spec":{"template":${deep(100_000)}}}`],
      ['PATCH', path, JSON_PATCH, `[{"op":"add","path":"/spec/zz","value":${deepList(100_000)}}]`],
      ['PATCH', `${path}/status`, 'application/merge-patch+json', `{"status":${deep(100_000)}}`],
      ['PATCH', `${path}/scale`, 'application/merge-patch+json', `{"spec":${deep(100_000)}}`],
      ['PUT', path, 'application/json', `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},"spec":${deep(100_000)}}`],
      ['POST', '/apis/apps/v1/namespaces/default/deployments', 'application/json', `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w2"},"spec":${deep(100_000)}}`],
    ];
    for (const [method, url, contentType, body] of cases) {
      const r = await api(server, pki, method, url, { token: tokens.api, contentType, body });
      assert.equal(r.status, 400, `${method} ${url} ${contentType}: ${r.text.slice(0, 300)}`);
      assert.match(r.body.message, /nested deeper than 1000 levels/);
    }
    // Strings may hold brackets: only the structure counts.
    const brackets = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/merge-patch+json', body: JSON.stringify({ metadata: { annotations: { x: '['.repeat(5000) } } }) });
    assert.equal(brackets.status, 200, brackets.text);
  });

  it('sends a Table of many rows in slices, as a big list (chunked, no content-length)', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    for (let i = 0; i < 250; i++) {
      store.create('Pod', { metadata: { name: `p${i}`, namespace: 'default' }, spec: { initContainers: [], containers: [{ name: 'c', image: 'x', resources: { requests: {}, limits: {} } }] } } as never);
    }
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    const big = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods?includeObject=Object', { token: tokens.api, accept: table });
    assert.equal(big.status, 200);
    assert.equal(big.headers['content-length'], undefined, 'written in slices');
    assert.equal(big.headers['transfer-encoding'], 'chunked');
    assert.equal(big.body.kind, 'Table');
    assert.ok(big.body.columnDefinitions.length > 0);
    assert.equal(big.body.rows.length, 250);
    assert.equal(new Set(big.body.rows.map((r: any) => r.object.metadata.name)).size, 250, 'every pod once, each row with its object');
    const small = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods?limit=10', { token: tokens.api, accept: table });
    assert.equal(small.body.rows.length, 10);
    assert.ok(small.headers['content-length'], 'a small Table is sent whole');
  });

  it('answers a watch from a future resourceVersion "Too large resource version" and refuses continue tokens from the future', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    createDeployment(store, 'a');
    createDeployment(store, 'b');
    const deployments = '/apis/apps/v1/namespaces/default/deployments';
    const future = Number(store.resourceVersion()) + 1000;
    const watch = await api(server, pki, 'GET', `${deployments}?watch=1&resourceVersion=${future}`, { token: tokens.api });
    assert.equal(watch.status, 504);
    const status = JSON.parse(watch.text);
    assert.equal(status.reason, 'Timeout');
    assert.match(status.message, new RegExp(`^Too large resource version: ${future}, current: \\d+$`));
    assert.deepEqual(status.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);

    const first = await api(server, pki, 'GET', `${deployments}?limit=1`, { token: tokens.api });
    assert.ok(first.body.metadata.continue);
    const never = encodeContinue({ rv: store.resourceVersion(), namespace: 'default', name: 'a', issuedAt: Math.floor(Date.now() / 1000) + 365 * 24 * 3600 });
    const forged = await api(server, pki, 'GET', `${deployments}?limit=1&continue=${never}`, { token: tokens.api });
    assert.equal(forged.status, 400, forged.text);
    assert.match(forged.body.message, /continue: the token is not one this server gave/);
    const ahead = encodeContinue({ rv: String(future), namespace: 'default', name: 'a', issuedAt: Math.floor(Date.now() / 1000) });
    assert.equal((await api(server, pki, 'GET', `${deployments}?limit=1&continue=${ahead}`, { token: tokens.api })).status, 400);
    const next = await api(server, pki, 'GET', `${deployments}?limit=1&continue=${first.body.metadata.continue}`, { token: tokens.api });
    assert.equal(next.status, 200, 'a token it gave still works');
    assert.equal(next.body.items[0].metadata.name, 'b');
  });

  it('keeps at most 10 Update managers in managedFields, folding the oldest into ancient-changes, and bounds what a patch may set', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const server = await startApiServer(t, store, pki, tokens.lookup, { now: () => new Date((clock += 1000)) });
    createDeployment(store, 'web');
    for (let i = 0; i < 15; i++) {
      const r = await api(server, pki, 'PATCH', `${path}?fieldManager=m${i}`, { token: tokens.api, contentType: 'application/merge-patch+json', body: JSON.stringify({ metadata: { labels: { [`l${i}`]: 'x' } } }) });
      assert.equal(r.status, 200, r.text);
    }
    const entries = store.get<any>('Deployment', 'default', 'web').metadata.managedFields;
    const updates = entries.filter((e: any) => e.operation === 'Update');
    assert.equal(updates.length, 10, JSON.stringify(entries.map((e: any) => e.manager)));
    const ancient = updates.find((e: any) => e.manager === 'ancient-changes');
    assert.ok(ancient, 'the oldest folded into one');
    for (const i of [0, 1, 5]) assert.ok(ancient.fieldsV1['f:metadata']['f:labels'][`f:l${i}`], `ancient-changes owns l${i}`);
    assert.deepEqual(updates.filter((e: any) => /^m\d+$/.test(e.manager)).map((e: any) => e.manager), ['m6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12', 'm13', 'm14']);

    const many = Array.from({ length: 101 }, (_, i) => ({ manager: `x${i}`, operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }));
    const set = await api(server, pki, 'PATCH', path, { token: tokens.api, contentType: 'application/merge-patch+json', body: JSON.stringify({ metadata: { managedFields: many } }) });
    assert.equal(set.status, 400, set.text);
    assert.match(set.body.message, /metadata\.managedFields has 101 entries, more than the 100 accepted/);
  });
});
