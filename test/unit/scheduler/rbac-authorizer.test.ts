/**
 * The RBAC authorizer (pure): request attributes from URLs, rule matching (wildcards, resourceNames,
 * subresources), bindings to users, groups and service accounts, namespaced vs cluster bindings,
 * built-in roles, Kubernetes' forbidden message, escalation checks, the audit log's rotation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterRoleBinding, PolicyRule, RoleBinding, Subject } from '../../../src/api/index.js';
import {
  AuditLog,
  BUILTIN_CLUSTER_ROLES,
  BUILTIN_CLUSTER_ROLE_BINDINGS,
  authorize,
  forbiddenMessage,
  groupOf,
  missingPermission,
  requestAttributes,
  ruleAllowsResource,
  type Policy,
  type RequestAttributes,
  type ResourceAttributes,
} from '../../../src/scheduler/rbac/index.js';
import type { UserInfo } from '../../../src/scheduler/auth/index.js';

const R = (verb: string, resource: string, namespace = "", extra: { name?: string; subresource?: string; apiGroup?: string } = {}): RequestAttributes & ResourceAttributes & { kind: "resource" } => ({
  kind: 'resource',
  verb,
  resource,
  apiGroup: extra.apiGroup ?? (['deployments', 'statefulsets'].includes(resource) ? 'apps' : resource.startsWith('role') || resource.startsWith('cluster') ? 'rbac.authorization.k8s.io' : ''),
  namespace,
  ...(extra.name ? { name: extra.name } : {}),
  ...(extra.subresource ? { subresource: extra.subresource } : {}),
});

const user = (username: string, ...groups: string[]): UserInfo => ({ username, groups: [...groups, 'system:authenticated'] });
const U = (name: string): Subject => ({ kind: 'User', name, apiGroup: 'rbac.authorization.k8s.io' });
const G = (name: string): Subject => ({ kind: 'Group', name, apiGroup: 'rbac.authorization.k8s.io' });
const SA = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', namespace, name });

function policy(opts: {
  clusterRoles?: Record<string, PolicyRule[]>;
  roles?: Record<string, PolicyRule[]>;
  crbs?: { name: string; role: string; subjects: Subject[] }[];
  rbs?: { ns: string; name: string; role: string; roleKind?: 'Role' | 'ClusterRole'; subjects: Subject[] }[];
}): Policy {
  const clusterRoles = new Map(BUILTIN_CLUSTER_ROLES.map((r) => [r.name, { rules: r.rules }]));
  for (const [n, rules] of Object.entries(opts.clusterRoles ?? {})) clusterRoles.set(n, { rules });
  const crbs = [...BUILTIN_CLUSTER_ROLE_BINDINGS.map((b) => ({ name: b.name, role: b.role, subjects: b.subjects })), ...(opts.crbs ?? [])].map(
    (b) => ({ metadata: { name: b.name }, subjects: b.subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role } }) as unknown as ClusterRoleBinding,
  );
  const roleBindings = new Map<string, RoleBinding[]>();
  for (const b of opts.rbs ?? []) {
    const list = roleBindings.get(b.ns) ?? [];
    list.push({ metadata: { name: b.name, namespace: b.ns }, subjects: b.subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: b.roleKind ?? 'Role', name: b.role } } as unknown as RoleBinding);
    roleBindings.set(b.ns, list);
  }
  return { clusterRoles, roles: new Map(Object.entries(opts.roles ?? {}).map(([k, rules]) => [k, { rules }])), clusterRoleBindings: crbs, roleBindings };
}

describe('RBAC: request attributes from URLs', () => {
  it('reads verb, group, resource, subresource, namespace and name as Kubernetes does', () => {
    const cases: [string, string, boolean, Partial<RequestAttributes>][] = [
      ['GET', '/api/v1/namespaces/team/pods', false, { verb: 'list', resource: 'pods', namespace: 'team', apiGroup: '' }],
      ['GET', '/api/v1/namespaces/team/pods', true, { verb: 'watch', resource: 'pods', namespace: 'team' }],
      ['GET', '/api/v1/pods', false, { verb: 'list', resource: 'pods', namespace: '' }],
      ['GET', '/api/v1/namespaces/team/pods/web', false, { verb: 'get', name: 'web' }],
      ['GET', '/api/v1/namespaces/team/pods/web/log', false, { verb: 'get', resource: 'pods', subresource: 'log', name: 'web' }],
      ['POST', '/api/v1/namespaces/team/pods/web/exec', false, { verb: 'create', subresource: 'exec' }],
      ['PUT', '/api/v1/namespaces/team/deployments/web/scale', false, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }],
      ['POST', '/api/v1/namespaces/team/deployments/web/rollback', false, { verb: 'create', subresource: 'rollback' }],
      ['PATCH', '/api/v1/nodes/n1', false, { verb: 'patch', resource: 'nodes', name: 'n1', namespace: '' }],
      ['DELETE', '/api/v1/namespaces/team/pods', false, { verb: 'deletecollection' }],
      ['GET', '/api/v1/namespaces/team', false, { verb: 'get', resource: 'namespaces', name: 'team', namespace: 'team' }],
      ['GET', '/api/v1/namespaces', false, { verb: 'list', resource: 'namespaces', namespace: '' }],
      ['POST', '/api/v1/clusterroles', false, { verb: 'create', resource: 'clusterroles', apiGroup: 'rbac.authorization.k8s.io' }],
      ['POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', false, { verb: 'create', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io' }],
      ['POST', '/api/v1/certificatesigningrequests', false, { verb: 'create', apiGroup: 'certificates.k8s.io' }],
      ['GET', '/api/v1/bootstraptokens/abcdef', false, { verb: 'get', resource: 'bootstraptokens', name: 'abcdef', apiGroup: '' }],
    ];
    for (const [method, path, watch, want] of cases) {
      const got = requestAttributes(method, path, watch);
      assert.equal(got.kind, 'resource', path);
      for (const [k, v] of Object.entries(want)) assert.equal((got as any)[k], v, `${method} ${path}: ${k}`);
    }
    assert.deepEqual(requestAttributes('GET', '/healthz', false), { kind: 'nonResource', verb: 'get', path: '/healthz' });
  });
});

describe('RBAC: rules', () => {
  it('matches verbs, groups and resources exactly or by "*"', () => {
    const rule: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] };
    assert.ok(ruleAllowsResource(rule, R('get', 'pods', 'a')));
    assert.ok(!ruleAllowsResource(rule, R('delete', 'pods', 'a')));
    assert.ok(!ruleAllowsResource(rule, R('get', 'deployments', 'a')));
    assert.ok(!ruleAllowsResource(rule, R('get', 'pods', 'a', { apiGroup: 'apps' })));
    assert.ok(ruleAllowsResource({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, R('escalate', 'anything', '', { apiGroup: 'x.io' })));
  });

  it('treats subresources as their own resource: "pods" does not cover "pods/log"; "*/scale" covers every scale', () => {
    const pods: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'create'] };
    assert.ok(!ruleAllowsResource(pods, R('get', 'pods', 'a', { name: 'p', subresource: 'log' })));
    assert.ok(!ruleAllowsResource(pods, R('create', 'pods', 'a', { name: 'p', subresource: 'exec' })));
    assert.ok(ruleAllowsResource({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, R('get', 'pods', 'a', { name: 'p', subresource: 'log' })));
    assert.ok(!ruleAllowsResource({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, R('get', 'pods', 'a', { name: 'p' })));
    const scale: PolicyRule = { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] };
    assert.ok(ruleAllowsResource(scale, R('update', 'deployments', 'a', { name: 'd', subresource: 'scale' })));
    assert.ok(ruleAllowsResource(scale, R('update', 'statefulsets', 'a', { name: 's', subresource: 'scale' })));
    assert.ok(!ruleAllowsResource(scale, R('update', 'deployments', 'a', { name: 'd' })));
  });

  it('limits by resourceNames: only requests naming one of them (never a list or a create without a name)', () => {
    const rule: PolicyRule = { apiGroups: [''], resources: ['pods'], resourceNames: ['web'], verbs: ['get', 'list', 'delete'] };
    assert.ok(ruleAllowsResource(rule, R('get', 'pods', 'a', { name: 'web' })));
    assert.ok(!ruleAllowsResource(rule, R('get', 'pods', 'a', { name: 'db' })));
    assert.ok(!ruleAllowsResource(rule, R('list', 'pods', 'a')));
  });
});

describe('RBAC: bindings', () => {
  const reader: PolicyRule[] = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }];
  const p = policy({
    roles: { 'team/reader': reader },
    clusterRoles: { 'node-reader': [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] },
    rbs: [
      { ns: 'team', name: 'alice-reads', role: 'reader', subjects: [U('alice')] },
      { ns: 'team', name: 'devs-edit', role: 'edit', roleKind: 'ClusterRole', subjects: [G('devs')] },
      { ns: 'team', name: 'ci-view', role: 'view', roleKind: 'ClusterRole', subjects: [SA('ci', 'deployer')] },
      { ns: 'team', name: 'nodes-in-ns', role: 'node-reader', roleKind: 'ClusterRole', subjects: [U('carol')] },
    ],
    crbs: [{ name: 'ops-view', role: 'view', subjects: [G('ops')] }],
  });

  it('grants a Role to a user in its namespace only', () => {
    assert.ok(authorize(p, user('alice'), R('list', 'pods', 'team')).allowed);
    assert.ok(!authorize(p, user('alice'), R('list', 'pods', 'other')).allowed);
    assert.ok(!authorize(p, user('alice'), R('list', 'pods', '')).allowed, 'not across all namespaces');
    assert.ok(!authorize(p, user('alice'), R('delete', 'pods', 'team', { name: 'x' })).allowed);
    assert.ok(!authorize(p, user('bob'), R('list', 'pods', 'team')).allowed);
  });

  it('grants to groups and service accounts (system:serviceaccount:NS:NAME)', () => {
    assert.ok(authorize(p, user('dan', 'devs'), R('create', 'deployments', 'team')).allowed);
    assert.ok(authorize(p, user('dan', 'devs'), R('create', 'pods', 'team', { name: 'p', subresource: 'exec' })).allowed);
    assert.ok(!authorize(p, user('dan', 'devs'), R('create', 'roles', 'team')).allowed);
    const ci = user('system:serviceaccount:ci:deployer', 'system:serviceaccounts', 'system:serviceaccounts:ci');
    assert.ok(authorize(p, ci, R('get', 'pods', 'team', { name: 'p', subresource: 'log' })).allowed);
    assert.ok(!authorize(p, ci, R('create', 'pods', 'team')).allowed);
    assert.ok(!authorize(p, user('system:serviceaccount:other:deployer'), R('get', 'pods', 'team', { name: 'p' })).allowed);
  });

  it('a ClusterRoleBinding grants everywhere; a ClusterRole bound in a namespace gives nothing cluster-scoped', () => {
    for (const ns of ['team', 'other', '']) assert.ok(authorize(p, user('eve', 'ops'), R('list', 'pods', ns)).allowed, ns);
    assert.ok(!authorize(p, user('eve', 'ops'), R('list', 'nodes', '')).allowed);
    assert.ok(!authorize(p, user('carol'), R('get', 'nodes', '', { name: 'n1' })).allowed);
  });

  it('system:masters may do everything; a node only reads its own Node and asks for certificates and reviews', () => {
    assert.ok(authorize(p, user('root', 'system:masters'), R('delete', 'nodes', '', { name: 'n1' })).allowed);
    const node = user('system:node:n1', 'system:nodes');
    assert.ok(authorize(p, node, R('get', 'nodes', '', { name: 'n1' })).allowed);
    assert.ok(!authorize(p, node, R('get', 'nodes', '', { name: 'n2' })).allowed);
    assert.ok(!authorize(p, node, R('list', 'nodes', '')).allowed);
    assert.ok(!authorize(p, node, R('patch', 'nodes', '', { name: 'n1' })).allowed);
    assert.ok(authorize(p, node, R('create', 'certificatesigningrequests', '', { apiGroup: 'certificates.k8s.io' })).allowed);
    assert.ok(authorize(p, node, R('create', 'subjectaccessreviews', '', { apiGroup: 'authorization.k8s.io' })).allowed);
    assert.ok(authorize(p, node, R('create', 'tokenreviews', '', { apiGroup: 'authentication.k8s.io' })).allowed);
    assert.ok(!authorize(p, node, R('list', 'pods', '')).allowed);
  });

  it('a bootstrap token may only create CSRs (not even what system:authenticated is granted)', () => {
    const b = user('system:bootstrap:abcdef', 'system:bootstrappers');
    assert.ok(authorize(p, b, R('create', 'certificatesigningrequests', '', { apiGroup: 'certificates.k8s.io' })).allowed);
    assert.ok(!authorize(p, b, R('create', 'selfsubjectaccessreviews', '', { apiGroup: 'authorization.k8s.io' })).allowed);
    assert.ok(!authorize(p, b, R('get', 'nodes', '', { name: 'abcdef' })).allowed);
    assert.ok(authorize(p, user('zed'), R('create', 'selfsubjectaccessreviews', '', { apiGroup: 'authorization.k8s.io' })).allowed, 'anyone else may ask');
  });

  it('the built-in roles: view reads but not secrets; edit writes workloads but not roles; admin manages roles', () => {
    const bound = (role: string) =>
      policy({ rbs: [{ ns: 'team', name: 'b', role, roleKind: 'ClusterRole', subjects: [U('u')] }] });
    const can = (role: string, a: RequestAttributes) => authorize(bound(role), user('u'), a).allowed;
    assert.ok(can('view', R('get', 'pods', 'team', { name: 'p', subresource: 'log' })));
    assert.ok(!can('view', R('get', 'secrets', 'team', { name: 's' })));
    assert.ok(!can('view', R('create', 'pods', 'team')));
    assert.ok(!can('view', R('list', 'roles', 'team')));
    assert.ok(can('edit', R('create', 'deployments', 'team')));
    assert.ok(can('edit', R('update', 'deployments', 'team', { name: 'd', subresource: 'scale' })));
    assert.ok(!can('edit', R('create', 'rolebindings', 'team')));
    assert.ok(can('admin', R('create', 'rolebindings', 'team')));
    assert.ok(!can('admin', R('create', 'clusterroles', '')));
    assert.ok(!can('admin', R('list', 'nodes', '')));
  });
});

describe('RBAC: messages and escalation', () => {
  it("words a refusal as Kubernetes does", () => {
    assert.equal(
      forbiddenMessage({ username: 'bob', groups: [] }, R('create', 'pods', 'default')),
      'pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "default"',
    );
    assert.equal(
      forbiddenMessage({ username: 'bob', groups: [] }, R('get', 'pods', 'default', { name: 'web', subresource: 'log' })),
      'pods "web" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "default"',
    );
    assert.equal(
      forbiddenMessage({ username: 'bob', groups: [] }, R('list', 'deployments', '')),
      'deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
  });

  it('finds the first permission a user does not hold; "*" is only covered by "*"', () => {
    const p = policy({ rbs: [{ ns: 'team', name: 'b', role: 'edit', roleKind: 'ClusterRole', subjects: [U('u')] }] });
    assert.equal(missingPermission(p, user('u'), [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] }], 'team'), undefined);
    assert.equal(missingPermission(p, user('u'), [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], 'other'), 'get pods');
    assert.equal(missingPermission(p, user('u'), [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }], 'team'), 'get pods'.replace('get', '*'));
    assert.equal(missingPermission(p, user('u'), [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['create'] }], 'team'), 'create roles.rbac.authorization.k8s.io');
  });
});

describe('audit log', () => {
  it('writes JSON lines to a 0600 file and rotates it by size, keeping two backups', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'audit.log');
    const log = new AuditLog(path, 400, 2);
    for (let i = 0; i < 20; i++) log.write({ time: 't', user: `u${i}`, groups: [], verb: 'create', resource: 'pods', namespace: 'default', code: 201, result: 'allowed' });
    log.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`) && !existsSync(`${path}.3`));
    for (const f of [path, `${path}.1`, `${path}.2`]) assert.ok(statSync(f).size <= 400, f);
    const last = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(last.at(-1).user, 'u19');
  });
});

describe('groupOf', () => {
  it('knows the registry\'s groups and gives "" for a resource named like an Object property', () => {
    assert.equal(groupOf('deployments'), 'apps');
    assert.equal(groupOf('pods'), '');
    for (const r of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) assert.equal(groupOf(r), '', r);
  });
});
