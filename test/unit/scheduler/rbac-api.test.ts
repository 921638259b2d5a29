/**
 * RBAC through the real HTTPS API (an in-process scheduler server): for every built-in role and
 * every verb on pods, pods/log, pods/exec, deployments, roles, rolebindings, nodes and namespaces,
 * `auth can-i` (a SelfSubjectAccessReview) agrees with what the API does; the view/edit story; access
 * reviews; users' and service accounts' tokens; impersonation; escalation; apply; the audit log.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Pod } from '../../../src/api/index.js';
import { newTokenRecord, type Pki, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { AuditLog } from '../../../src/scheduler/rbac/index.js';
import { startSchedulerServer, type PodExecOptions, type PodLogOptions, type PodProxy } from '../../../src/scheduler/server/index.js';
import { handleApiRequest } from '../../../src/scheduler/server/rest-api.js';
import { canIAttributes } from '../../../src/cli/rbac-objects.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore, pod } from './store-helpers.js';
import { api, makePki, podYaml } from './server-helpers.js';
import { testKeyPairSync } from '../../helpers/test-keys.js';

class FakeProxy implements PodProxy {
  async logs(_p: Pod, _o: PodLogOptions, out: Writable): Promise<void> {
    out.write('hello\n');
  }
  async exec(_p: Pod, opts: PodExecOptions) {
    return { stdout: `ran ${opts.command.join(' ')}\n`, stderr: '', exitCode: 0 };
  }
}

/** A server with a token map that POST users / service-account tokens can add to. */
async function cluster(t: TestContext, pki: Pki, opts: { audit?: AuditLog; mode?: 'RBAC' | 'AlwaysAllow' } = {}) {
  const { store } = tempStore(t);
  // Namespaces must exist before objects go in them (NamespaceLifecycle).
  for (const name of ['team', 'other']) store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as never);
  const records = new Map<string, TokenRecord>();
  const server = await startSchedulerServer({
    store,
    pki,
    address: '127.0.0.1',
    port: 0,
    tokenLookup: (id) => records.get(id),
    addToken: (r) => records.set(r.id, r),
    audit: opts.audit,
    authorizationMode: opts.mode,
  });
  t.after(() => server.close());
  // The pod routes need a proxy: serve the same handler once more with a fake one.
  const withProxy = https.createServer({ ...(await import('../../../src/scheduler/auth/index.js')).serverTlsOptions(pki) }, (req, res) => {
    void handleApiRequest(req, res, {
      store,
      sessions: server.sessions,
      tokenLookup: (id) => records.get(id),
      logger: (await0()).logger,
      now: () => new Date(),
      podProxy: new FakeProxy(),
      addToken: (r) => records.set(r.id, r),
      audit: opts.audit,
      authorizationMode: opts.mode,
      pki,
    });
  });
  await new Promise<void>((r) => withProxy.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => withProxy.close(() => r())));
  const url = `https://127.0.0.1:${(withProxy.address() as { port: number }).port}`;
  const token = (user: string, groups: string[] = []) => {
    const { token, record } = newTokenRecord('api', { user, groups });
    records.set(record.id, record);
    return token;
  };
  const admin = token('root', ['system:masters']);
  return { store, server: { url }, records, token, admin };
}

const silent = { logger: { debug() {}, info() {}, warn() {}, error() {}, child() { return silent.logger; } } };
const await0 = () => silent as any;

function bindRole(store: Store, ns: string, role: string, user: string): void {
  store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${user}-${role}`, namespace: ns }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role } } as any);
}

/** Only the status of a request (a watch is cut off once its headers came). */
function status(server: { url: string }, pki: Pki, method: string, path: string, token: string, body?: string, contentType?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (contentType) headers['content-type'] = contentType;
    // One connection per request: each answer stands on its own.
    const req = https.request(`${server.url}${path}`, { method, ca: pki.ca.certPem, headers, agent: false }, (res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      if (path.includes('watch=')) req.destroy();
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end(body);
  });
}

const deploymentYaml = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: c, image: busybox }] }
`;

describe('RBAC through the API', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('auth can-i agrees with the API for every built-in role, verb and resource', async (t) => {
    const c = await cluster(t, pki);
    const NS = 'team';
    const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
    const METHOD: Record<string, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE' };
    const RESOURCES = ['pods', 'pods/log', 'pods/exec', 'deployments', 'roles', 'rolebindings', 'nodes', 'namespaces'];
    const bodies: Record<string, string> = {
      pods: podYaml('made'),
      deployments: deploymentYaml('made'),
      roles: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'made', namespace: NS }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }),
      rolebindings: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'made', namespace: NS }, subjects: [{ kind: 'User', name: 'x' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' } }),
    };
    const disagreements: string[] = [];
    let checked = 0;
    for (const role of ['view', 'edit', 'admin', 'cluster-admin']) {
      const user = `u-${role}`;
      if (role === 'cluster-admin') {
        c.store.create('ClusterRoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: user }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role } } as any);
      } else bindRole(c.store, NS, role, user);
      const token = c.token(user);
      for (const res of RESOURCES) {
        for (const verb of VERBS) {
          const [resource, sub] = res.split('/');
          if (sub && (verb === 'list' || verb === 'watch')) continue; // no URL lists a subresource
          // Fresh objects for every request: a delete must not turn the next get into a 404 that hides nothing.
          c.store.transaction(() => {
            for (const [k, n] of [['Pod', 'p1'], ['Role', 'r1'], ['RoleBinding', 'rb1']] as const) if (c.store.get(k, NS, n)) c.store.delete(k, NS, n);
            c.store.create('Pod', pod('p1', NS));
            c.store.create('Role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r1', namespace: NS }, rules: [] } as any);
            c.store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb1', namespace: NS }, subjects: [], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' } } as any);
          });
          const named = !['list', 'watch', 'create'].includes(verb) || sub !== undefined;
          const name = resource === 'namespaces' ? NS : resource === 'nodes' ? 'n1' : resource === 'pods' ? 'p1' : resource === 'roles' ? 'r1' : resource === 'rolebindings' ? 'rb1' : 'd1';
          const base = resource === 'nodes' || resource === 'namespaces' ? `/api/v1/${resource}` : `/api/v1/namespaces/${NS}/${resource}`;
          const path = `${base}${named ? `/${name}` : ''}${sub ? `/${sub}` : ''}${verb === 'watch' ? '?watch=true' : ''}`;
          const body = verb === 'create' && !sub ? bodies[resource] : verb === 'patch' ? '{}' : sub === 'exec' ? '{"command":["ls"]}' : undefined;
          const code = await status(c.server, pki, METHOD[verb], path, token, body, verb === 'patch' ? 'application/merge-patch+json' : undefined);
          const ssar = await api(c.server, pki, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
            token,
            body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: canIAttributes(verb, res, named ? name : undefined, NS) } }),
          });
          assert.equal(ssar.status, 201, ssar.text);
          checked++;
          if ((code !== 403) !== ssar.body.status.allowed) disagreements.push(`${role}: ${verb} ${res} → HTTP ${code}, can-i ${ssar.body.status.allowed ? 'yes' : 'no'}`);
        }
      }
    }
    assert.deepEqual(disagreements, []);
    assert.equal(checked, 4 * (6 * 7 + 2 * 5));
  });

  it('the built-in roles allow what Kubernetes allows them (spot checks of the table)', async (t) => {
    const c = await cluster(t, pki);
    const ask = async (token: string, verb: string, res: string, ns = 'team', name?: string) =>
      (await api(c.server, pki, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { token, body: JSON.stringify({ spec: { resourceAttributes: canIAttributes(verb, res, name, ns) } }) })).body.status.allowed;
    for (const role of ['view', 'edit', 'admin']) bindRole(c.store, 'team', role, role);
    const [view, edit, admin] = ['view', 'edit', 'admin'].map((r) => c.token(r));
    assert.equal(await ask(view, 'get', 'pods/log', 'team', 'p'), true);
    assert.equal(await ask(view, 'create', 'pods/exec', 'team', 'p'), false);
    assert.equal(await ask(edit, 'create', 'pods/exec', 'team', 'p'), true);
    assert.equal(await ask(edit, 'create', 'rolebindings'), false);
    assert.equal(await ask(admin, 'create', 'rolebindings'), true);
    for (const token of [view, edit, admin]) {
      assert.equal(await ask(token, 'list', 'pods', 'other'), false);
      assert.equal(await ask(token, 'list', 'nodes'), false);
    }
    assert.equal(await ask(c.admin, 'delete', 'nodes', '', 'n1'), true);
  });

  it('a view user lists pods and reads logs in its namespace; 403 on create, delete, exec and other namespaces; an edit user deploys but cannot change roles', async (t) => {
    const c = await cluster(t, pki);
    c.store.create('Pod', pod('web', 'team'));
    c.store.bindPod('team', 'web', 'n1');
    c.store.create('Pod', pod('db', 'other'));
    bindRole(c.store, 'team', 'view', 'vera');
    bindRole(c.store, 'team', 'edit', 'ed');
    const vera = c.token('vera');
    const ed = c.token('ed');

    const list = await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods', { token: vera });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((p: any) => p.metadata.name), ['web']);
    const logs = await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods/web/log', { token: vera });
    assert.equal(logs.status, 200);
    assert.equal(logs.text, 'hello\n');

    const refused: [string, string, string | undefined, RegExp][] = [
      ['POST', '/api/v1/namespaces/team/pods', podYaml('x'), /^pods is forbidden: User "vera" cannot create resource "pods" in API group "" in the namespace "team"$/],
      ['DELETE', '/api/v1/namespaces/team/pods/web', undefined, /^pods "web" is forbidden: User "vera" cannot delete resource "pods" in API group "" in the namespace "team"$/],
      ['POST', '/api/v1/namespaces/team/pods/web/exec', '{"command":["sh"]}', /cannot create resource "pods\/exec" in API group "" in the namespace "team"/],
      ['GET', '/api/v1/namespaces/other/pods', undefined, /cannot list resource "pods" in API group "" in the namespace "other"/],
      ['GET', '/api/v1/pods', undefined, /cannot list resource "pods" in API group "" at the cluster scope/],
      // A small manifest is decoded and each object authorized: the refusal names the pod's resource.
      ['POST', '/api/v1/apply', podYaml('y'), /cannot create resource "pods" in API group "" in the namespace "default"/],
    ];
    for (const [method, path, body, message] of refused) {
      const r = await api(c.server, pki, method, path, { token: vera, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.kind, 'Status');
      assert.equal(r.body.reason, 'Forbidden');
      assert.match(r.body.message, message);
    }
    assert.ok(c.store.get('Pod', 'team', 'web'), 'nothing was deleted');

    const deploy = await api(c.server, pki, 'POST', '/api/v1/apply', { token: ed, body: deploymentYaml('shop').replace('metadata: { name: shop }', 'metadata: { name: shop, namespace: team }') });
    assert.equal(deploy.status, 200, deploy.text);
    const exec = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/pods/web/exec', { token: ed, body: '{"command":["ls"]}' });
    assert.equal(exec.status, 200);
    const role = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/roles', { token: ed, body: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'mine' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }) });
    assert.equal(role.status, 403);
    assert.match(role.body.message, /User "ed" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "team"/);
    const binding = await api(c.server, pki, 'DELETE', '/api/v1/namespaces/team/rolebindings/ed-edit', { token: ed });
    assert.equal(binding.status, 403);
  });

  it('prevents escalation: an admin of a namespace cannot grant what it does not hold', async (t) => {
    const c = await cluster(t, pki);
    bindRole(c.store, 'team', 'admin', 'ana');
    const ana = c.token('ana');
    const role = (rules: unknown) => JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules });
    const ok = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/roles', { token: ana, body: role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] }]) });
    assert.equal(ok.status, 201, ok.text);
    const tooMuch = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/roles', { token: ana, body: role([{ apiGroups: [''], resources: ['nodes'], verbs: ['delete'] }]).replace('"r"', '"r2"') });
    assert.equal(tooMuch.status, 403);
    assert.match(tooMuch.body.message, /attempting to grant RBAC permissions not currently held: delete nodes/);
    const bindAdmin = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/rolebindings', { token: ana, body: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b' }, subjects: [{ kind: 'User', name: 'bo' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' } }) });
    assert.equal(bindAdmin.status, 201, bindAdmin.text);
    const bindClusterAdmin = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/rolebindings', { token: ana, body: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b2' }, subjects: [{ kind: 'User', name: 'bo' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' } }) });
    assert.equal(bindClusterAdmin.status, 403);
    assert.match(bindClusterAdmin.body.message, /not currently held/);
  });

  it('validates RBAC objects naming the field, and serves cluster roles and bindings', async (t) => {
    const c = await cluster(t, pki);
    const bad = await api(c.server, pki, 'POST', '/api/v1/apply', { token: c.admin, body: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'] }] }) });
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /rules\[0\]\.verbs: required value/);
    const badRef = await api(c.server, pki, 'POST', '/api/v1/clusterrolebindings', { token: c.admin, body: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' }, subjects: [{ kind: 'Robot', name: 'r' }], roleRef: { kind: 'Role', name: 'view' } }) });
    assert.equal(badRef.status, 422);
    assert.match(badRef.body.message, /subjects\[0\]\.kind: unsupported value "Robot"/);
    assert.match(badRef.body.message, /roleRef\.kind: unsupported value "Role"/);
    const roles = await api(c.server, pki, 'GET', '/api/v1/clusterroles', { token: c.admin });
    assert.deepEqual(roles.body.items.map((r: any) => r.metadata.name).filter((n: string) => ['admin', 'cluster-admin', 'edit', 'view'].includes(n)).sort(), ['admin', 'cluster-admin', 'edit', 'view']);
    const view = await api(c.server, pki, 'GET', '/api/v1/clusterroles/view', { token: c.admin });
    assert.equal(view.body.kind, 'ClusterRole');
    assert.equal(view.body.apiVersion, 'rbac.authorization.k8s.io/v1');
  });

  it('creates users (token or client certificate), service accounts and their tokens; tokens die with their service account', async (t) => {
    const c = await cluster(t, pki);
    const made = await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: c.admin, body: JSON.stringify({ metadata: { name: 'carla' }, spec: { groups: ['ops'] } }) });
    assert.equal(made.status, 201, made.text);
    const carla = made.body.status.token as string;
    c.store.create('ClusterRoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ops-view' }, subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ops' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' } } as any);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/pods', { token: carla })).status, 200);
    const record = [...c.records.values()].find((r) => r.user === 'carla')!;
    assert.ok(record.hash.startsWith('sha256:') && !JSON.stringify(record).includes(carla.split('.')[1]), 'stored hashed');
    // Only admins make users.
    const refused = await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: carla, body: JSON.stringify({ metadata: { name: 'evil' }, spec: { groups: ['system:masters'] } }) });
    assert.equal(refused.status, 403);

    const { publicKeyPem: publicKey } = testKeyPairSync();
    const cert = await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: c.admin, body: JSON.stringify({ metadata: { name: 'dora' }, spec: { groups: ['devs'], publicKeyPem: publicKey } }) });
    assert.equal(cert.status, 201, cert.text);
    assert.match(cert.body.status.certificate, /BEGIN CERTIFICATE/);

    c.store.create('ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ci', namespace: 'team' } } as any);
    bindRole(c.store, 'team', 'edit', 'unused');
    c.store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ci-edit', namespace: 'team' }, subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'team' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } } as any);
    const tr = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/serviceaccounts/ci/token', { token: c.admin, body: JSON.stringify({ spec: { expirationSeconds: 3600 } }) });
    assert.equal(tr.status, 201, tr.text);
    const ci = tr.body.status.token as string;
    assert.equal((await api(c.server, pki, 'POST', '/api/v1/namespaces/team/pods', { token: ci, body: podYaml('from-ci') })).status, 201);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/namespaces/other/pods', { token: ci })).status, 403);
    const review = await api(c.server, pki, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { token: c.admin, body: JSON.stringify({ spec: { token: ci } }) });
    assert.deepEqual(review.body.status, { authenticated: true, user: { username: 'system:serviceaccount:team:ci', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'] } });
    c.store.delete('ServiceAccount', 'team', 'ci');
    const gone = await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods', { token: ci });
    assert.equal(gone.status, 401);
    assert.match(gone.body.message, /service account team\/ci no longer exists/);
  });

  it('answers SubjectAccessReviews for callers allowed to create them (masters and nodes), and impersonates only with the impersonate verb', async (t) => {
    const c = await cluster(t, pki);
    bindRole(c.store, 'team', 'view', 'vic');
    const sar = (token: string, spec: unknown) => api(c.server, pki, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { token, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec }) });
    const spec = { user: 'vic', groups: [], resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'team' } };
    const byAdmin = await sar(c.admin, spec);
    assert.equal(byAdmin.status, 201);
    assert.equal(byAdmin.body.status.allowed, true);
    const nodeToken = c.token('system:node:n1', ['system:nodes']);
    assert.equal((await sar(nodeToken, { ...spec, resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'n1' } })).body.status.allowed, false);
    const vic = c.token('vic');
    assert.equal((await sar(vic, spec)).status, 403);

    const asVic = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(`${c.server.url}/api/v1/namespaces/team/pods`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${token}`, 'impersonate-user': 'vic' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await asVic(c.admin), 200);
    const other = c.token('olga');
    assert.equal(await asVic(other), 403);
  });

  it('records writes, exec and refusals in the audit log, not reads', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rbac-audit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const audit = new AuditLog(join(dir, 'audit.log'));
    t.after(() => audit.close());
    const c = await cluster(t, pki, { audit });
    bindRole(c.store, 'team', 'view', 'vera');
    const vera = c.token('vera');
    await api(c.server, pki, 'POST', '/api/v1/apply', { token: c.admin, body: podYaml('a').replace('name: a', 'name: a\n  namespace: team') });
    await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods', { token: vera });
    await api(c.server, pki, 'DELETE', '/api/v1/namespaces/team/pods/a', { token: vera });
    await api(c.server, pki, 'DELETE', '/api/v1/namespaces/team/pods/a', { token: c.admin });
    await new Promise((r) => setTimeout(r, 50)); // 'finish' runs after the client has its answer
    const lines = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => `${l.user} ${l.verb} ${l.resource} ${l.namespace}/${l.name} ${l.code} ${l.result}`),
      ['root create pods team/a 200 allowed', 'vera delete pods team/a 403 denied', 'root delete pods team/a 200 allowed'],
    );
    assert.match(lines[1].reason, /User "vera" cannot delete resource "pods"/);
    assert.deepEqual(lines[0].groups, ['system:masters', 'system:authenticated']);
  });

  it('with --authorization-mode AlwaysAllow, any authenticated user may do anything', async (t) => {
    const c = await cluster(t, pki, { mode: 'AlwaysAllow' });
    const nobody = c.token('nobody');
    assert.equal((await api(c.server, pki, 'POST', '/api/v1/namespaces/default/pods', { token: nobody, body: podYaml('x') })).status, 201);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/pods', {})).status, 401);
  });
});

describe('RBAC objects through the API', () => {
  it("keeps a binding's roleRef: a patch or apply that changes it is refused", async (t) => {
    const pki = await makePki();
    const c = await cluster(t, pki);
    bindRole(c.store, 'team', 'view', 'val');
    const patched = await api(c.server, pki, 'PATCH', '/api/v1/namespaces/team/rolebindings/val-view', { token: c.admin, body: JSON.stringify({ roleRef: { name: 'admin' } }), contentType: 'application/merge-patch+json' });
    assert.equal(patched.status, 422);
    assert.match(patched.body.message, /roleRef: Invalid value: .*: cannot change roleRef/);
    const subjects = await api(c.server, pki, 'PATCH', '/api/v1/namespaces/team/rolebindings/val-view', { token: c.admin, body: JSON.stringify({ subjects: [{ kind: 'User', name: 'vic' }] }), contentType: 'application/merge-patch+json' });
    assert.equal(subjects.status, 200, subjects.text);
  });

  it('server-side apply creates only for a caller who may create; patch alone updates', async (t) => {
    const pki = await makePki();
    const c = await cluster(t, pki);
    c.store.create('Role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'patcher', namespace: 'team' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }] } as any);
    c.store.create('RoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'pat', namespace: 'team' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'pat' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patcher' } } as any);
    const pat = c.token('pat');
    const apply = (token: string, image: string) =>
      api(c.server, pki, 'PATCH', '/api/v1/namespaces/team/deployments/web?fieldManager=pat', { token, contentType: 'application/apply-patch+yaml', body: deploymentYaml('web').replace('image: busybox', `image: "${image}"`) });
    const refused = await apply(pat, 'busybox:1');
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.message, /cannot create resource "deployments"/);
    const created = await apply(c.admin, 'busybox:1');
    assert.equal(created.status, 201, created.text);
    const updated = await apply(pat, 'busybox:2');
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.spec.template.spec.containers[0].image, 'busybox:2');
  });
});

describe('RBAC names', () => {
  it('accepts path-segment names such as "system:custom" for roles and bindings, and refuses "/" in them', async (t) => {
    const pki = await makePki();
    const c = await cluster(t, pki);
    const role = (name: string) => JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
    const ok = await api(c.server, pki, 'POST', '/api/v1/apply', { token: c.admin, body: role('system:custom-reader') });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/clusterroles/system:custom-reader', { token: c.admin })).body.metadata.name, 'system:custom-reader');
    const bad = await api(c.server, pki, 'POST', '/api/v1/apply', { token: c.admin, body: role('a/b') });
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /metadata\.name: .*may not contain "\/"/);
  });
});
