/**
 * Validation of RBAC objects and ServiceAccounts, as the API server checks them: every problem names
 * its field ("rules[0].verbs: required value"). Used by the manifest decoder and by the store.
 */
import { FieldReader, fieldPath as at, indexPath as idx, isMapping, describeValue, compact } from './field-reader.js';
import { checkDnsLabel, checkDnsSubdomain } from './names.js';
import { checkFormat, decodeMeta } from './pod-decode.js';
import type { DeclaredMeta } from './workload-types.js';
import { CLUSTER_SCOPED_RBAC_KINDS, RBAC_API_VERSIONS, RBAC_GROUP, type PolicyRule, type RbacKind, type RbacObject, type RoleRef, type Subject } from './rbac-types.js';

const ROLE_FIELDS = ['apiVersion', 'kind', 'metadata', 'rules'];
/** A ClusterRole's: a Role has no aggregationRule (Kubernetes' neither). */
const CLUSTER_ROLE_FIELDS = [...ROLE_FIELDS, 'aggregationRule'];
const BINDING_FIELDS = ['apiVersion', 'kind', 'metadata', 'subjects', 'roleRef'];
const SA_FIELDS = ['apiVersion', 'kind', 'metadata', 'secrets', 'imagePullSecrets', 'automountServiceAccountToken'];
const RULE_FIELDS = ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'];

/** The rules of a Role or ClusterRole; nonResourceURLs only in a ClusterRole. */
export function decodeRules(r: FieldReader, v: unknown, path: string, clusterRole: boolean): PolicyRule[] {
  const out: PolicyRule[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    if (!isMapping(raw)) return r.error(p, `expected a mapping, got ${describeValue(raw)}`);
    r.object(raw, p, RULE_FIELDS);
    const verbs = r.stringList(raw.verbs, at(p, 'verbs')) ?? [];
    if (verbs.length === 0) r.error(at(p, 'verbs'), 'required value: at least one verb');
    verbs.forEach((verb, j) => {
      if (verb === '') r.error(idx(at(p, 'verbs'), j), 'must not be empty');
    });
    const rule: PolicyRule = compact({
      verbs,
      apiGroups: r.stringList(raw.apiGroups, at(p, 'apiGroups')),
      resources: r.stringList(raw.resources, at(p, 'resources')),
      resourceNames: r.stringList(raw.resourceNames, at(p, 'resourceNames')),
      nonResourceURLs: r.stringList(raw.nonResourceURLs, at(p, 'nonResourceURLs')),
    });
    const hasResources = (rule.resources?.length ?? 0) > 0;
    const hasUrls = (rule.nonResourceURLs?.length ?? 0) > 0;
    if (hasUrls && !clusterRole) r.error(at(p, 'nonResourceURLs'), 'only ClusterRoles may have nonResourceURLs');
    if (hasUrls && hasResources) r.error(at(p, 'nonResourceURLs'), 'a rule has either resources or nonResourceURLs, not both');
    if (!hasUrls && !hasResources) r.error(at(p, 'resources'), 'required value: resources (or, in a ClusterRole, nonResourceURLs)');
    if (hasResources && rule.apiGroups === undefined) r.error(at(p, 'apiGroups'), 'required value: the API groups of the resources ("" for the core group: pods, services...)');
    out.push(rule);
  });
  return out;
}

function decodeRoleRef(r: FieldReader, v: unknown, path: string, clusterBinding: boolean): RoleRef {
  if (v === undefined || v === null) r.error(path, 'required value');
  const o = r.object(v, path, ['apiGroup', 'kind', 'name']) ?? {};
  const apiGroup = r.string(o.apiGroup, at(path, 'apiGroup')) ?? RBAC_GROUP;
  if (apiGroup !== RBAC_GROUP) r.error(at(path, 'apiGroup'), `unsupported value ${JSON.stringify(apiGroup)} (supported: ${RBAC_GROUP})`);
  const kind = r.requiredString(o.kind, at(path, 'kind'));
  const allowed = clusterBinding ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (kind !== undefined && !allowed.includes(kind)) r.error(at(path, 'kind'), `unsupported value ${JSON.stringify(kind)} (supported: ${allowed.join(', ')})`);
  const name = r.requiredString(o.name, at(path, 'name')) ?? '';
  if (name) checkFormat(r, at(path, 'name'), name, checkPathSegmentName);
  return { apiGroup: RBAC_GROUP, kind: (kind ?? 'ClusterRole') as RoleRef['kind'], name };
}

/** Role names may hold ":" (system:node) but not "/" or "%" (they are a path segment). */
function checkPathSegmentName(s: string): string | undefined {
  if (s === '.' || s === '..') return 'may not be "." or ".."';
  if (/[/%]/.test(s)) return 'may not contain "/" or "%"';
  return undefined;
}

function decodeSubjects(r: FieldReader, v: unknown, path: string, namespace: string | undefined): Subject[] {
  const out: Subject[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    if (!isMapping(raw)) return r.error(p, `expected a mapping, got ${describeValue(raw)}`);
    r.object(raw, p, ['kind', 'name', 'namespace', 'apiGroup']);
    const kind = r.requiredString(raw.kind, at(p, 'kind'));
    const name = r.requiredString(raw.name, at(p, 'name')) ?? '';
    let ns = r.string(raw.namespace, at(p, 'namespace'));
    const apiGroup = r.string(raw.apiGroup, at(p, 'apiGroup'));
    if (kind === 'ServiceAccount') {
      if (apiGroup) r.error(at(p, 'apiGroup'), `must be "" for a ServiceAccount, got ${JSON.stringify(apiGroup)}`);
      if (!ns) {
        if (namespace === undefined) r.error(at(p, 'namespace'), 'required value: the ServiceAccount\'s namespace');
        ns = namespace;
      }
      if (ns) checkFormat(r, at(p, 'namespace'), ns, checkDnsLabel);
      if (name) checkFormat(r, at(p, 'name'), name, checkDnsSubdomain);
      out.push({ kind, name, namespace: ns ?? '' });
    } else if (kind === 'User' || kind === 'Group') {
      if (apiGroup !== undefined && apiGroup !== RBAC_GROUP) r.error(at(p, 'apiGroup'), `unsupported value ${JSON.stringify(apiGroup)} (supported: ${RBAC_GROUP})`);
      if (ns) r.error(at(p, 'namespace'), `a ${kind} has no namespace`);
      out.push({ kind, name, apiGroup: RBAC_GROUP });
    } else if (kind !== undefined) {
      r.error(at(p, 'kind'), `unsupported value ${JSON.stringify(kind)} (supported: User, Group, ServiceAccount)`);
    }
  });
  return out;
}

/**
 * Decodes and checks one RBAC object or ServiceAccount of a manifest (apiVersion and kind already
 * checked). Cluster-scoped kinds get namespace "". Undefined when it had errors (reported in r).
 */
export function decodeRbacObject(
  r: FieldReader,
  o: Record<string, unknown>,
  base: string,
  source: string,
  kind: RbacKind,
): (Omit<RbacObject, 'metadata'> & { metadata: DeclaredMeta }) | undefined {
  const before = r.errors.length;
  const fields = kind === 'ServiceAccount' ? SA_FIELDS : kind.endsWith('Binding') ? BINDING_FIELDS : kind === 'ClusterRole' ? CLUSTER_ROLE_FIELDS : ROLE_FIELDS;
  r.object(o, base, fields);
  const metaPath = at(base, 'metadata');
  if (o.metadata === undefined || o.metadata === null) r.error(metaPath, 'required value');
  const clusterScoped = CLUSTER_SCOPED_RBAC_KINDS.includes(kind);
  // RBAC names are path segments ("system:node"), not DNS subdomains: checked here, not by decodeMeta.
  const pathSegmentName = kind !== 'ServiceAccount' && isMapping(o.metadata) && typeof o.metadata.name === 'string' && o.metadata.name !== '';
  const rawName = pathSegmentName ? ((o.metadata as Record<string, unknown>).name as string) : undefined;
  if (rawName !== undefined) checkFormat(r, at(metaPath, 'name'), rawName, checkPathSegmentName);
  const meta = decodeMeta(r, rawName !== undefined ? { ...(o.metadata as Record<string, unknown>), name: 'placeholder' } : o.metadata, metaPath, source);
  if (rawName !== undefined) meta.name = rawName;
  const given = isMapping(o.metadata) && typeof o.metadata.uid === 'string' && o.metadata.uid !== '';
  const { uid, ...rest } = meta;
  const metadata: DeclaredMeta = { ...rest, ...(given ? { uid } : {}), namespace: clusterScoped ? '' : meta.namespace };
  const apiVersion = RBAC_API_VERSIONS[kind];
  let object: Omit<RbacObject, 'metadata'> & { metadata: DeclaredMeta };
  switch (kind) {
    case 'Role':
    case 'ClusterRole':
      if (kind === 'ClusterRole' && o.aggregationRule !== undefined) r.warnings.push(`${at(base, 'aggregationRule')}: not supported, ignored`);
      object = { apiVersion, kind, metadata, rules: decodeRules(r, o.rules, at(base, 'rules'), kind === 'ClusterRole') } as typeof object;
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const subjects = decodeSubjects(r, o.subjects, at(base, 'subjects'), clusterScoped ? undefined : meta.namespace);
      const roleRef = decodeRoleRef(r, o.roleRef, at(base, 'roleRef'), kind === 'ClusterRoleBinding');
      object = { apiVersion, kind, metadata, subjects, roleRef } as typeof object;
      break;
    }
    case 'ServiceAccount':
      object = { apiVersion, kind, metadata } as typeof object;
      break;
  }
  return r.errors.length > before ? undefined : object;
}

/**
 * Checks a stored RBAC object (what the store is handed by the API or by code), as a manifest
 * would be: returns the problems, each naming its field, prefixed with `ref`.
 */
export function rbacObjectProblems(kind: RbacKind, obj: Record<string, unknown>, ref: string): string[] {
  const r = new FieldReader();
  const clusterRole = kind === 'ClusterRole';
  if (kind === 'Role' || kind === 'ClusterRole') decodeRules(r, obj.rules ?? [], 'rules', clusterRole);
  else if (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
    const ns = isMapping(obj.metadata) && typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : undefined;
    decodeSubjects(r, obj.subjects, 'subjects', kind === 'ClusterRoleBinding' ? undefined : ns);
    decodeRoleRef(r, obj.roleRef, 'roleRef', kind === 'ClusterRoleBinding');
  }
  return r.errors.map((e) => `${ref}: ${e}`);
}
