import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { newTokenRecord } from '../../../src/scheduler/auth/index.js';
import { reconcileBuiltinRbac } from '../../../src/scheduler/rbac/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, openWatch, podYaml, startApiServer } from './server-helpers.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: c, image: nginx }] }
`;

/** Protobuf: a length-delimited field. */
const ld = (no: number, value: Buffer | string) => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([(no << 3) | 2, bytes.length]), bytes]);
};

describe('scheduler REST API: discovery, group paths, Tables, Status', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  async function setup(t: Parameters<typeof tempStore>[0]) {
    const { store } = tempStore(t);
    reconcileBuiltinRbac(store);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const user = (name: string, groups: string[] = []) => {
      const { token, record } = newTokenRecord('api', { user: name, groups });
      tokens.records.set(record.id, record);
      return token;
    };
    return { store, server, admin: user('root', ['system:masters']), user };
  }

  it('serves /version, /api, /apis, each group-version and the health checks, to any authenticated user', async (t) => {
    const { server, user } = await setup(t);
    const token = user('nobody');
    const version = await api(server, pki, 'GET', '/version', { token });
    assert.equal(version.status, 200);
    assert.equal(version.body.major, '1');
    assert.match(version.body.gitVersion, /^v1\.\d+\.0\+corelet\./);
    assert.deepEqual((await api(server, pki, 'GET', '/api', { token })).body.versions, ['v1']);
    const groups = await api(server, pki, 'GET', '/apis', { token });
    assert.equal(groups.body.kind, 'APIGroupList');
    const names = groups.body.groups.map((g: any) => g.name);
    for (const g of ['apps', 'batch', 'discovery.k8s.io', 'rbac.authorization.k8s.io', 'authorization.k8s.io']) assert.ok(names.includes(g), g);
    assert.deepEqual(groups.body.groups.find((g: any) => g.name === 'apps').preferredVersion, { groupVersion: 'apps/v1', version: 'v1' });

    const core = await api(server, pki, 'GET', '/api/v1', { token });
    assert.equal(core.body.kind, 'APIResourceList');
    assert.equal(core.body.groupVersion, 'v1');
    const pods = core.body.resources.find((r: any) => r.name === 'pods');
    assert.deepEqual(pods, { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'], categories: ['all'] });
    assert.ok(core.body.resources.some((r: any) => r.name === 'pods/log'));
    for (const sub of ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/status']) assert.ok(core.body.resources.some((r: any) => r.name === sub), sub);
    assert.deepEqual(core.body.resources.find((r: any) => r.name === 'nodes').verbs, ['delete', 'get', 'list', 'patch', 'update', 'watch'], 'nodes are created by their agents');
    assert.deepEqual(core.body.resources.find((r: any) => r.name === 'events').verbs, ['get', 'list', 'watch']);
    assert.ok(!core.body.resources.some((r: any) => r.name === 'deployments'), 'deployments are listed under apps/v1 only');

    const apps = await api(server, pki, 'GET', '/apis/apps/v1', { token });
    assert.equal(apps.body.groupVersion, 'apps/v1');
    assert.deepEqual(apps.body.resources.map((r: any) => r.name).sort(), ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/rollback', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']);
    assert.deepEqual(apps.body.resources.find((r: any) => r.name === 'deployments/scale'), { name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    const rbac = await api(server, pki, 'GET', '/apis/rbac.authorization.k8s.io/v1', { token });
    assert.equal(rbac.body.resources.find((r: any) => r.name === 'clusterroles').namespaced, false);
    assert.equal((await api(server, pki, 'GET', '/apis/apps', { token })).body.kind, 'APIGroup');
    for (const health of ['/healthz', '/livez', '/readyz']) {
      const res = await api(server, pki, 'GET', health, { token });
      assert.deepEqual([res.status, res.text, res.headers['content-type']], [200, 'ok', 'text/plain; charset=utf-8'], health);
    }
    const missing = await api(server, pki, 'GET', '/apis/nosuch.io/v1', { token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');
    assert.match(missing.body.message, /no API group nosuch\.io/);
  });

  it('answers aggregated discovery (apidiscovery.k8s.io/v2) when the Accept header asks for it', async (t) => {
    const { server, admin } = await setup(t);
    const apis = await api(server, pki, 'GET', '/apis', { token: admin, accept: AGGREGATED });
    assert.equal(apis.status, 200);
    assert.equal(apis.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(apis.body.kind, 'APIGroupDiscoveryList');
    const apps = apis.body.items.find((i: any) => i.metadata.name === 'apps');
    const deployments = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
    assert.deepEqual(deployments.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(deployments.scope, 'Namespaced');
    assert.deepEqual(deployments.shortNames, ['deploy']);
    assert.deepEqual(deployments.subresources.find((s: any) => s.subresource === 'scale').responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const core = await api(server, pki, 'GET', '/api', { token: admin, accept: AGGREGATED });
    assert.deepEqual(core.body.items.map((i: any) => i.metadata.name), ['']);
    assert.equal(core.body.items[0].versions[0].resources.find((r: any) => r.resource === 'nodes').scope, 'Cluster');
  });

  it('serves each kind at its group path and refuses it under another group; /api/v1 keeps every kind', async (t) => {
    const { server, admin } = await setup(t);
    const created = await api(server, pki, 'POST', '/apis/apps/v1/namespaces/default/deployments', { token: admin, body: deployment });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/deployments/web', { token: admin })).body.metadata.name, 'web');
    assert.equal((await api(server, pki, 'GET', '/apis/apps/v1/deployments', { token: admin })).body.items.length, 1);
    assert.equal((await api(server, pki, 'GET', '/api/v1/namespaces/default/deployments/web', { token: admin })).status, 200, 'the corelet CLI path');
    const wrong = await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/pods', { token: admin });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.body.kind, 'Status');
    assert.match(wrong.body.message, /no pods in API group apps \(pods are served under \/api\/v1\)/);
    assert.equal((await api(server, pki, 'GET', '/apis/batch/v1/namespaces/default/deployments', { token: admin })).status, 404);
    assert.equal((await api(server, pki, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', { token: admin })).body.kind, 'ClusterRole');
    assert.equal((await api(server, pki, 'GET', '/apis/discovery.k8s.io/v1/endpointslices', { token: admin })).body.kind, 'EndpointSliceList');
  });

  it('answers errors with a Status carrying the resource in details', async (t) => {
    const { server, admin, user } = await setup(t);
    const missing = await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/deployments/nosuch', { token: admin });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body.details, { name: 'nosuch', group: 'apps', kind: 'deployments' });
    const denied = await api(server, pki, 'DELETE', '/api/v1/namespaces/default/pods/p', { token: user('viewer') });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, 'Forbidden');
    assert.deepEqual(denied.body.details, { name: 'p', kind: 'pods' });
    const invalid = await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: admin, body: podYaml('Bad_Name') });
    assert.equal(invalid.body.reason, 'Invalid');
    assert.equal(invalid.body.details.kind, 'Pod', 'an invalid object is named by its kind, as kubectl prints it');
    assert.equal(invalid.body.details.causes[0].field, 'metadata.name');
    assert.equal(invalid.body.details.causes[0].reason, 'FieldValueInvalid');
  });

  it('prints Tables with kubectl columns when asked, wide ones at priority 1, rows with the object metadata', async (t) => {
    const { server, admin } = await setup(t);
    await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: admin, body: podYaml('p1') });
    await api(server, pki, 'POST', '/apis/apps/v1/namespaces/default/deployments', { token: admin, body: deployment });
    const pods = await api(server, pki, 'GET', '/api/v1/pods', { token: admin, accept: TABLE });
    assert.equal(pods.body.kind, 'Table');
    assert.equal(pods.body.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(
      pods.body.columnDefinitions.map((c: any) => `${c.name}${c.priority ? '*' : ''}`),
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP*', 'Node*', 'Nominated Node*', 'Readiness Gates*'],
    );
    const row = pods.body.rows.find((r: any) => r.cells[0] === 'p1');
    assert.deepEqual(row.cells.slice(0, 4), ['p1', '0/1', 'Pending', '0']);
    assert.deepEqual(row.cells.slice(5), ['<none>', '<none>', '<none>', '<none>']);
    assert.equal(row.object.kind, 'PartialObjectMetadata');
    assert.equal(row.object.metadata.namespace, 'default');

    const deploys = await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/deployments/web?includeObject=Object', { token: admin, accept: TABLE });
    assert.deepEqual(deploys.body.columnDefinitions.map((c: any) => c.name), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
    assert.deepEqual([...deploys.body.rows[0].cells.slice(0, 4), ...deploys.body.rows[0].cells.slice(5)], ['web', '0/2', 0, 0, 'c', 'nginx', 'app=web']);
    assert.equal(deploys.body.rows[0].object.kind, 'Deployment');
    const plain = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods', { token: admin, accept: 'application/json' });
    assert.equal(plain.body.kind, 'PodList', 'without the Table type: the List');
    const meta = await api(server, pki, 'GET', '/apis/apps/v1/namespaces/default/deployments', { token: admin, accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' });
    assert.equal(meta.body.kind, 'PartialObjectMetadataList');
    assert.deepEqual(meta.body.items.map((o: any) => `${o.kind} ${o.metadata.name}`), ['PartialObjectMetadata web']);
    assert.equal(meta.body.items[0].spec, undefined);
    const bad = await api(server, pki, 'GET', '/api/v1/pods?includeObject=All', { token: admin, accept: TABLE });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /includeObject must be None, Metadata or Object/);
  });

  it('streams a watch as one-row Tables when asked, the columns in the first event only', async (t) => {
    const { server, admin } = await setup(t);
    const w = await openWatch(server, pki, '/api/v1/namespaces/default/pods?watch=true', admin, TABLE);
    t.after(() => w.close());
    await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: admin, body: podYaml('a') });
    await api(server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: admin, body: podYaml('b') });
    const [first, second] = await w.next(2);
    assert.equal(first.type, 'ADDED');
    assert.equal(first.object.kind, 'Table');
    assert.equal(first.object.columnDefinitions[0].name, 'Name');
    assert.deepEqual(first.object.rows.map((r: any) => r.cells[0]), ['a']);
    assert.deepEqual(second.object.columnDefinitions, []);
    assert.deepEqual(second.object.rows.map((r: any) => r.cells[0]), ['b']);
  });

  it('reads a SelfSubjectAccessReview sent as Kubernetes protobuf (kubectl auth can-i) and refuses other protobuf bodies with 415', async (t) => {
    const { server, user, admin } = await setup(t);
    const typeMeta = ld(1, Buffer.concat([ld(1, 'authorization.k8s.io/v1'), ld(2, 'SelfSubjectAccessReview')]));
    const attrs = Buffer.concat([ld(1, 'default'), ld(2, 'create'), ld(3, 'apps'), ld(5, 'deployments')]);
    const object = ld(2, ld(1, attrs)); // SelfSubjectAccessReview{spec: {resourceAttributes}}
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), typeMeta, ld(2, object)]);
    const ask = (token: string) =>
      api(server, pki, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { token, body, contentType: 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf,application/json' });
    const yes = await ask(admin);
    assert.equal(yes.status, 201, JSON.stringify(yes.body));
    assert.equal(yes.body.status.allowed, true);
    assert.deepEqual(yes.body.spec.resourceAttributes, { namespace: 'default', verb: 'create', group: 'apps', resource: 'deployments' });
    assert.equal((await ask(user('nobody'))).body.status.allowed, false);

    const svcMeta = ld(1, Buffer.concat([ld(1, 'v1'), ld(2, 'Service')]));
    const svc = Buffer.concat([Buffer.from('k8s\0', 'latin1'), svcMeta, ld(2, ld(1, ld(1, 'x')))]);
    const refused = await api(server, pki, 'POST', '/api/v1/namespaces/default/services', { token: admin, body: svc, contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(refused.status, 415);
    assert.equal(refused.body.reason, 'UnsupportedMediaType');
    assert.match(refused.body.message, /Service \(v1\) as JSON only/);
  });

  it('answers who the caller is (SelfSubjectReview: kubectl auth whoami), in JSON or protobuf', async (t) => {
    const { server, user } = await setup(t);
    const token = user('carol', ['devs']);
    const json = await api(server, pki, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token, body: '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}', contentType: 'application/json' });
    assert.equal(json.status, 201, JSON.stringify(json.body));
    assert.deepEqual(json.body.status.userInfo, { username: 'carol', groups: ['devs', 'system:authenticated'] });
    const proto = Buffer.concat([Buffer.from('k8s\0', 'latin1'), ld(1, Buffer.concat([ld(1, 'authentication.k8s.io/v1'), ld(2, 'SelfSubjectReview')])), ld(2, Buffer.concat([ld(1, Buffer.alloc(0)), ld(2, Buffer.alloc(0))]))]);
    const viaProto = await api(server, pki, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token, body: proto, contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(viaProto.body.status.userInfo.username, 'carol');
  });

  it('creates objects sent as protobuf (kubectl create namespace|role|...), keeping empty list entries, refusing fields it cannot read', async (t) => {
    const { server, admin, store } = await setup(t);
    const envelope = (apiVersion: string, kind: string, object: Buffer) => Buffer.concat([Buffer.from('k8s\0', 'latin1'), ld(1, Buffer.concat([ld(1, apiVersion), ld(2, kind)])), ld(2, object)]);
    const post = (path: string, body: Buffer) => api(server, pki, 'POST', path, { token: admin, body, contentType: 'application/vnd.kubernetes.protobuf' });
    // Namespace{metadata: {name: team, labels: {a: b}}, spec: {}, status: {}} with gogo's empty messages.
    const ns = await post('/api/v1/namespaces', envelope('v1', 'Namespace', Buffer.concat([ld(1, Buffer.concat([ld(1, 'team'), ld(11, Buffer.concat([ld(1, 'a'), ld(2, 'b')]))])), ld(2, Buffer.alloc(0)), ld(3, Buffer.alloc(0))])));
    assert.equal(ns.status, 201, JSON.stringify(ns.body));
    assert.deepEqual(store.get('Namespace', '', 'team')?.metadata.labels, { a: 'b' });
    // Role{metadata: {name: r}, rules: [{verbs: [get], apiGroups: [""], resources: [pods]}]}
    const rule = Buffer.concat([ld(1, 'get'), ld(2, ''), ld(3, 'pods')]);
    const role = await post('/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', envelope('rbac.authorization.k8s.io/v1', 'Role', Buffer.concat([ld(1, ld(1, 'r')), ld(2, rule)])));
    assert.equal(role.status, 201, JSON.stringify(role.body));
    assert.deepEqual((store.get('Role', 'team', 'r') as any).rules, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    // A typed client's DELETE carries protobuf DeleteOptions (kubectl drain): gracePeriodSeconds -1 is read, and refused.
    await api(server, pki, 'POST', '/api/v1/namespaces/team/pods', { token: admin, body: podYaml('p') });
    const minusOne = Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const del = await api(server, pki, 'DELETE', '/api/v1/namespaces/team/pods/p', { token: admin, body: envelope('v1', 'DeleteOptions', minusOne), contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(del.status, 400, del.text);
    assert.match(del.body.message, /DeleteOptions\.gracePeriodSeconds: must be a whole number of seconds between 0 and \d+, got -1/);
    const zero = await api(server, pki, 'DELETE', '/api/v1/namespaces/team/pods/p', { token: admin, body: envelope('v1', 'DeleteOptions', Buffer.from([0x08, 0x00])), contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(zero.status, 200, JSON.stringify(zero.body));
    assert.equal(store.get('Pod', 'team', 'p'), undefined);
    // ObjectMeta field 13 (ownerReferences) is not read: refused, not dropped.
    const owned = await post('/api/v1/namespaces', envelope('v1', 'Namespace', ld(1, Buffer.concat([ld(1, 'other'), ld(13, ld(1, 'x'))]))));
    assert.equal(owned.status, 415);
    assert.match(owned.body.message, /field 13 of ObjectMeta is not read from protobuf/);
  });
});
