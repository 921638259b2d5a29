/**
 * What `corelet create role|clusterrole|rolebinding|clusterrolebinding` and `auth can-i` send, from
 * kubectl's flags (pure): "--verb get,list --resource pods,deployments.apps,pods/log".
 */
import { RESOURCE_GROUPS } from '../api/index.js'; // the data, not the scheduler: every CLI command loads this file

/** Resources that have no namespace (a can-i about them is asked at the cluster scope). */
const CLUSTER_SCOPED = new Set(['nodes', 'namespaces', 'clusterroles', 'clusterrolebindings', 'certificatesigningrequests', 'persistentvolumes', 'bootstraptokens', 'tokenreviews', 'subjectaccessreviews', 'selfsubjectaccessreviews', 'users', 'groups']);

/** Short names kubectl knows for resources ("po" → "pods"). */
const SHORT: Record<string, string> = { po: 'pods', no: 'nodes', ns: 'namespaces', deploy: 'deployments', rs: 'replicasets', sts: 'statefulsets', ds: 'daemonsets', sa: 'serviceaccounts', ev: 'events', csr: 'certificatesigningrequests' };


const SINGULAR_TO_PLURAL = (r: string) => (r.endsWith('s') || r === '*' ? r : r.endsWith('y') ? `${r.slice(0, -1)}ies` : `${r}s`);

/** "deployments.apps/scale", "po/log", "pods" → resource, subresource, group. */
export function parseResource(text: string): { resource: string; subresource?: string; group: string } {
  const t = text.trim().toLowerCase();
  if (t === '') throw new Error('a resource is required, like pods or deployments.apps');
  const [head, ...sub] = t.split('/');
  const dot = head.indexOf('.');
  const rawName = dot >= 0 ? head.slice(0, dot) : head;
  const resource = SINGULAR_TO_PLURAL(SHORT[rawName] ?? rawName);
  const group = dot >= 0 ? head.slice(dot + 1) : (RESOURCE_GROUPS[resource] ?? '');
  return { resource, ...(sub.length > 0 ? { subresource: sub.join('/') } : {}), group };
}

/** Whether a resource has no namespace. */
export function isClusterScoped(resource: string): boolean {
  return CLUSTER_SCOPED.has(resource);
}

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate', 'bind', 'escalate', 'use', 'approve', 'sign', '*'];

/** Flag values that may each be a comma list ("--verb get,list --verb watch"). */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** The rules of `create role|clusterrole`, grouped by API group as kubectl groups them. */
export function roleRules(opts: { verbs: string[]; resources: string[]; resourceNames: string[]; nonResourceUrls?: string[] }): Record<string, unknown>[] {
  if (opts.verbs.length === 0) throw new Error('--verb is required: the verbs the role allows (get, list, watch, create, update, patch, delete, or *)');
  for (const v of opts.verbs) if (!VERBS.includes(v)) throw new Error(`--verb: unknown verb "${v}" (known: ${VERBS.join(', ')})`);
  const nonResource = opts.nonResourceUrls ?? [];
  if (opts.resources.length === 0 && nonResource.length === 0) throw new Error('--resource is required: what the verbs apply to (pods, pods/log, deployments.apps, *)');
  const byGroup = new Map<string, string[]>();
  for (const r of opts.resources) {
    const p = parseResource(r);
    const full = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
    const list = byGroup.get(p.group) ?? [];
    if (!list.includes(full)) list.push(full);
    byGroup.set(p.group, list);
  }
  const rules: Record<string, unknown>[] = [...byGroup].map(([group, resources]) => ({
    verbs: opts.verbs,
    apiGroups: [group],
    resources,
    ...(opts.resourceNames.length > 0 ? { resourceNames: opts.resourceNames } : {}),
  }));
  if (nonResource.length > 0) rules.push({ verbs: opts.verbs, nonResourceURLs: nonResource });
  return rules;
}

/** The subjects of `create rolebinding|clusterrolebinding` (--serviceaccount NS:NAME). */
export function bindingSubjects(opts: { users: string[]; groups: string[]; serviceAccounts: string[] }): Record<string, unknown>[] {
  const subjects: Record<string, unknown>[] = [
    ...opts.users.map((name) => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name })),
    ...opts.groups.map((name) => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name })),
  ];
  for (const sa of opts.serviceAccounts) {
    const m = /^([^:]+):([^:]+)$/.exec(sa);
    if (!m) throw new Error(`--serviceaccount "${sa}": expected NAMESPACE:NAME`);
    subjects.push({ kind: 'ServiceAccount', namespace: m[1], name: m[2] });
  }
  return subjects;
}

/** The resourceAttributes of a SelfSubjectAccessReview for `auth can-i VERB RESOURCE [NAME]`. */
export function canIAttributes(verb: string, resourceText: string, name: string | undefined, namespace: string): Record<string, string> {
  const { resource, subresource, group } = parseResource(resourceText);
  // As the API sees it: cluster-scoped resources have no namespace; namespaces/NAME is "in" NAME.
  const ns = resource === 'namespaces' ? (name ?? '') : isClusterScoped(resource) ? '' : namespace;
  return { verb, resource, group, ...(subresource ? { subresource } : {}), ...(name ? { name } : {}), ...(ns ? { namespace: ns } : {}) };
}

/** `--duration 1h`, `30m`, `3600s`, `3600` → seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`${flag} must be a duration like 1h, 30m or 3600s, got "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}
