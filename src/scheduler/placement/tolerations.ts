/** Taint and toleration matching, with Kubernetes' semantics (k8s.io/api/core/v1 ToleratesTaint). */
import type { Taint, Toleration } from '../../api/index.js';

/** The taint a cordoned node behaves as if it had; pods tolerating it may still land there. */
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/**
 * Whether one toleration tolerates one taint: an empty effect matches every effect, an empty key
 * matches every key (validation only allows that with Exists, so `{operator: Exists}` tolerates
 * everything), Exists ignores the value and Equal (the default operator) compares it.
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** Whether any of the tolerations tolerates the taint. */
export function tolerated(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first of the taints none of the tolerations tolerates, if any. */
export function firstUntolerated(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint | undefined {
  for (const taint of taints) if (!tolerated(tolerations, taint)) return taint;
  return undefined;
}

/** Whether the taint keeps new pods off a node (NoSchedule, NoExecute), rather than being a preference. */
export function isHardTaint(taint: Taint): boolean {
  return taint.effect === 'NoSchedule' || taint.effect === 'NoExecute';
}
