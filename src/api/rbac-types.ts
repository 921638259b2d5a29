/**
 * RBAC objects (rbac.authorization.k8s.io/v1) and ServiceAccount (v1), shaped as Kubernetes serves
 * them: Roles and ClusterRoles hold rules; RoleBindings and ClusterRoleBindings grant a role to
 * subjects (users, groups, service accounts).
 */
import type { ObjectMeta } from './pod-types.js';
import { apiVersionOf } from './kinds.js';

/** One permission rule: verbs on resources of API groups (optionally only some names), or on URLs. */
export interface PolicyRule {
  verbs: string[];
  /** "" is the core group; "*" any group. */
  apiGroups?: string[];
  /** "pods", "pods/log", "*", "*\/scale". */
  resources?: string[];
  resourceNames?: string[];
  /** "/healthz", "/logs/*" (only in ClusterRoles). */
  nonResourceURLs?: string[];
}

export interface Role {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: ObjectMeta;
  rules: PolicyRule[];
}

export interface ClusterRole {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRole';
  metadata: ObjectMeta;
  rules: PolicyRule[];
}

/** Who a binding grants its role to. */
export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  /** ServiceAccount subjects only. */
  namespace?: string;
  apiGroup?: string;
}

/** The role a binding grants: a Role of the binding's namespace, or a ClusterRole. */
export interface RoleRef {
  apiGroup: 'rbac.authorization.k8s.io';
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface RoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

/** An identity for processes (CI, controllers); its tokens authenticate as system:serviceaccount:NS:NAME. */
export interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}

export type RbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding | ServiceAccount;
export type RbacKind = RbacObject['kind'];

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

/** apiVersion of each RBAC kind (the kind registry's, api/kinds.ts). */
export const RBAC_API_VERSIONS: Readonly<Record<RbacKind, string>> = {
  Role: apiVersionOf('Role'),
  ClusterRole: apiVersionOf('ClusterRole'),
  RoleBinding: apiVersionOf('RoleBinding'),
  ClusterRoleBinding: apiVersionOf('ClusterRoleBinding'),
  ServiceAccount: apiVersionOf('ServiceAccount'),
};

/** The cluster-scoped ones (no namespace). */
export const CLUSTER_SCOPED_RBAC_KINDS: readonly RbacKind[] = ['ClusterRole', 'ClusterRoleBinding'];

export function isRbacKind(s: unknown): s is RbacKind {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(RBAC_API_VERSIONS, s);
}
