/**
 * Pod Security on the node: before a pod runs, the agent checks it against a Pod Security Standards
 * level, whatever the scheduler decided. Pods from the scheduler are judged by the level the
 * scheduler states for their namespace in the `assign` message (baseline when it states none);
 * static pods by the agent's --static-pod-security level. Pure.
 */
import { checkPodSecurity, violationMessage, type Pod, type PodSecurityLevel } from '../../api/index.js';
import type { AdmitResult } from './admit.js';

/**
 * Admitted, or rejected with reason PodSecurity and the API server's wording:
 * `pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`.
 */
export function admitPodSecurity(pod: Pod, level: PodSecurityLevel): AdmitResult {
  const violations = checkPodSecurity(level, pod);
  if (violations.length === 0) return { admit: true };
  return { admit: false, reason: 'PodSecurity', message: `pods ${JSON.stringify(pod.metadata.name)} is forbidden: ${violationMessage(level, violations)}` };
}
