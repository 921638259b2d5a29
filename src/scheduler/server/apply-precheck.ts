/**
 * The cheap check made before an apply's body is read and decoded: apply is authorized object by
 * object, which needs the decoded objects, so without this any authenticated identity (a node, a
 * bootstrap token, a read-only user) could make the scheduler read and decode megabytes. The caller
 * must hold at least one rule, in some namespace or cluster-wide, that lets it create or patch one
 * of the kinds apply writes; each object is still authorized after decoding.
 */
import type { UserInfo } from '../auth/index.js';
import { groupOf, rulesFor, ruleAllowsResource, type Policy } from '../rbac/index.js';

const APPLY_VERBS = ['create', 'patch'] as const;

/** Whether some rule of user allows create or patch on one of resources, in some namespace or cluster-wide. */
export function maySomeApply(policy: Policy, user: UserInfo, resources: readonly string[]): boolean {
  for (const namespace of ['', ...policy.roleBindings.keys()]) {
    for (const { rule } of rulesFor(policy, user, namespace)) {
      for (const resource of resources) {
        for (const verb of APPLY_VERBS) {
          if (ruleAllowsResource(rule, { verb, apiGroup: groupOf(resource), resource, namespace })) return true;
        }
      }
    }
  }
  return false;
}
