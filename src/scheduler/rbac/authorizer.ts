/**
 * RBAC as Kubernetes decides it (pure): a request is allowed when a rule of a role bound to the user
 * (by name, by one of its groups, or as its service account) covers it. ClusterRoleBindings grant
 * their ClusterRole everywhere; RoleBindings grant a Role or ClusterRole only in their namespace.
 * system:masters is allowed everything (Kubernetes' privileged group); a node may read its own Node.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '../../api/index.js';
import { BOOTSTRAPPERS_GROUP, BOOTSTRAP_USER_PREFIX, MASTERS_GROUP, nodeNameOf, type UserInfo } from '../auth/index.js';
import type { NonResourceAttributes, RequestAttributes, ResourceAttributes } from './attributes.js';

/** The RBAC objects a decision reads. */
export interface Policy {
  clusterRoles: ReadonlyMap<string, Pick<ClusterRole, 'rules'>>;
  /** Keyed "namespace/name". */
  roles: ReadonlyMap<string, Pick<Role, 'rules'>>;
  clusterRoleBindings: readonly Pick<ClusterRoleBinding, 'subjects' | 'roleRef' | 'metadata'>[];
  /** By namespace. */
  roleBindings: ReadonlyMap<string, readonly Pick<RoleBinding, 'subjects' | 'roleRef' | 'metadata'>[]>;
}

export interface Decision {
  allowed: boolean;
  /** Why, for allowed requests: the binding and role. */
  reason: string;
}

/** The service-account user name Kubernetes uses. */
export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export function serviceAccountUser(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/** True when a binding's subject is this user. */
export function subjectMatches(s: Subject, user: UserInfo): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.username;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.username === serviceAccountUser(s.namespace ?? '', s.name);
    default:
      return false;
  }
}

const has = (list: readonly string[] | undefined, v: string) => list !== undefined && (list.includes('*') || list.includes(v));

/** Kubernetes' ResourceMatches: "*", the exact "resource/subresource", or "*\/subresource". */
function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r.startsWith('*/') && r.slice(2) === subresource) return true;
  }
  return false;
}

/** True when one rule allows a resource request. */
export function ruleAllowsResource(rule: PolicyRule, a: ResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  if (!resourceMatches(rule, a.resource, a.subresource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && a.name !== '' && rule.resourceNames.includes(a.name);
  return true;
}

/** True when one rule allows a non-resource request ("/healthz", "/logs/*", "*"). */
export function ruleAllowsNonResource(rule: PolicyRule, a: NonResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
}

export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  return a.kind === 'resource' ? ruleAllowsResource(rule, a) : ruleAllowsNonResource(rule, a);
}

function isBootstrapUser(user: UserInfo): boolean {
  return user.username.startsWith(BOOTSTRAP_USER_PREFIX) && user.groups.includes(BOOTSTRAPPERS_GROUP);
}

/**
 * The rules that apply to a user in a namespace ('' = cluster scope: ClusterRoleBindings only), each
 * with where it comes from. A bootstrap-token user only gets what is bound to system:bootstrappers.
 */
export function* rulesFor(policy: Policy, user: UserInfo, namespace: string): Generator<{ rule: PolicyRule; from: string }> {
  const bootstrap = isBootstrapUser(user);
  const matches = (subjects: readonly Subject[] | undefined) =>
    (subjects ?? []).some((s) => (bootstrap ? s.kind === 'Group' && s.name === BOOTSTRAPPERS_GROUP : subjectMatches(s, user)));
  for (const b of policy.clusterRoleBindings) {
    if (!matches(b.subjects)) continue;
    const role = policy.clusterRoles.get(b.roleRef.name);
    for (const rule of role?.rules ?? []) yield { rule, from: `ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}"` };
  }
  if (!namespace) return;
  for (const b of policy.roleBindings.get(namespace) ?? []) {
    if (!matches(b.subjects)) continue;
    const role = b.roleRef.kind === 'Role' ? policy.roles.get(`${namespace}/${b.roleRef.name}`) : policy.clusterRoles.get(b.roleRef.name);
    for (const rule of role?.rules ?? []) yield { rule, from: `RoleBinding "${namespace}/${b.metadata.name}" of ${b.roleRef.kind} "${b.roleRef.name}"` };
  }
}

/** Decides one request. */
export function authorize(policy: Policy, user: UserInfo, a: RequestAttributes): Decision {
  if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `${MASTERS_GROUP} may do everything` };
  // The node authorizer's part that RBAC cannot say: a node reads its own Node object.
  const node = nodeNameOf(user);
  if (node !== undefined && a.kind === 'resource' && a.resource === 'nodes' && a.apiGroup === '' && !a.subresource && a.name === node && ['get', 'watch'].includes(a.verb)) {
    return { allowed: true, reason: `node ${node} may read its own Node` };
  }
  const namespace = a.kind === 'resource' ? (a.namespace ?? '') : '';
  for (const { rule, from } of rulesFor(policy, user, namespace)) {
    if (ruleAllows(rule, a)) return { allowed: true, reason: `allowed by ${from}` };
  }
  return { allowed: false, reason: '' };
}

/** "deployments.apps" as Kubernetes qualifies a resource in messages ("pods" for the core group). */
export function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

/**
 * Kubernetes' message for a refused request:
 * `pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "default"`.
 */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes, reason = ''): string {
  const why = reason ? `: ${reason}` : '';
  if (a.kind === 'nonResource') return `forbidden: User ${JSON.stringify(user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}${why}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  const who = `User ${JSON.stringify(user.username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${scope}`;
  const what = qualifiedResource(a.resource, a.apiGroup);
  return a.name ? `${what} ${JSON.stringify(a.name)} is forbidden: ${who}${why}` : `${what} is forbidden: ${who}${why}`;
}
