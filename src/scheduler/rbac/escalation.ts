/**
 * Escalation prevention, as Kubernetes does it: a user may create or change a Role or ClusterRole
 * only with rules they hold themselves (in that namespace, or cluster-wide for a ClusterRole), and
 * bind a role only when they hold all its rules, unless they have the "escalate" verb on roles /
 * "bind" on the role.
 */
import type { PolicyRule } from '../../api/index.js';
import type { UserInfo } from '../auth/index.js';
import { authorize, type Policy } from './authorizer.js';

/** Every (verb, group, resource, name) a rule grants, wildcards kept literal ("*" is only covered by "*"). */
function* grants(rule: PolicyRule, namespace: string): Generator<Parameters<typeof authorize>[2]> {
  if (rule.nonResourceURLs && rule.nonResourceURLs.length > 0) {
    for (const verb of rule.verbs) for (const path of rule.nonResourceURLs) yield { kind: 'nonResource', verb, path };
    return;
  }
  const names = rule.resourceNames && rule.resourceNames.length > 0 ? rule.resourceNames : [undefined];
  for (const verb of rule.verbs)
    for (const apiGroup of rule.apiGroups ?? [''])
      for (const combined of rule.resources ?? []) {
        const [resource, ...sub] = combined.split('/');
        for (const name of names) {
          yield { kind: 'resource', verb, apiGroup, resource, ...(sub.length ? { subresource: sub.join('/') } : {}), namespace, ...(name !== undefined ? { name } : {}) };
        }
      }
}

/**
 * The first permission in rules that user does not hold in namespace ('' = cluster-wide), as
 * "get pods", or undefined when the user holds them all.
 */
export function missingPermission(policy: Policy, user: UserInfo, rules: readonly PolicyRule[], namespace: string): string | undefined {
  for (const rule of rules) {
    for (const a of grants(rule, namespace)) {
      if (authorize(policy, user, a).allowed) continue;
      if (a.kind === 'nonResource') return `${a.verb} ${a.path}`;
      const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      return `${a.verb} ${res}${a.apiGroup ? `.${a.apiGroup}` : ''}${a.name ? ` named ${a.name}` : ''}`;
    }
  }
  return undefined;
}
