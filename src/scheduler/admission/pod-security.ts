/**
 * Pod Security admission in the scheduler: the level a namespace's labels set
 * (`pod-security.kubernetes.io/enforce`, baseline when unlabelled) judges every pod written through
 * the API and every pod a controller makes from a template. A violating pod is refused (403
 * Forbidden); a workload whose template violates is accepted with a warning, as Kubernetes' warn
 * mode does for workloads, and its controller then records FailedCreate instead of making pods.
 */
import {
  checkPodSecurity,
  namespacePodSecurity,
  violationMessage,
  warningMessage,
  type Namespace,
  type NamespacePodSecurity,
  type PodSecurityInput,
  type PodSecurityLevel,
} from '../../api/index.js';
import { permissionDenied } from '../../lib/index.js';
import type { Store } from '../store/index.js';

/** Kinds whose spec.template is a pod template. */
export const POD_TEMPLATE_KINDS: ReadonlySet<string> = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']);

/** The policy of a namespace as stored now (a namespace that does not exist: the defaults). */
export function namespacePolicy(store: Store, namespace: string): NamespacePodSecurity {
  const ns = store.get<Namespace>('Namespace', '', namespace);
  return namespacePodSecurity(ns?.metadata.labels);
}

/** The level the namespace enforces (what the scheduler tells agents with each pod). */
export function enforcedLevel(store: Store, namespace: string): PodSecurityLevel {
  return namespacePolicy(store, namespace).enforce;
}

interface PodLike extends PodSecurityInput {
  metadata: { name?: string; generateName?: string; namespace?: string; annotations?: Readonly<Record<string, string>> };
}

/**
 * The refusal of a pod by its namespace's enforce level, worded as the API server's:
 * `pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`;
 * undefined when the pod passes.
 */
export function podSecurityRefusal(store: Store, pod: PodLike): string | undefined {
  const level = enforcedLevel(store, pod.metadata.namespace ?? 'default');
  const violations = checkPodSecurity(level, pod);
  if (violations.length === 0) return undefined;
  const name = pod.metadata.name || pod.metadata.generateName || '';
  return `pods ${JSON.stringify(name)} is forbidden: ${violationMessage(level, violations)}`;
}

/** Throws 403 Forbidden (PermissionDenied) when the pod violates its namespace's enforce level. */
export function admitPod(store: Store, pod: PodLike): void {
  const refusal = podSecurityRefusal(store, pod);
  if (refusal !== undefined) throw permissionDenied(refusal);
}

/**
 * Warnings for a pod or a workload's pod template: violations of the warn level (any kind), and for
 * workloads also of the enforce level (their pods would be refused). Empty for other kinds.
 */
export function podSecurityWarnings(store: Store, kind: string, obj: { metadata: { namespace?: string }; spec?: unknown }): string[] {
  const isPod = kind === 'Pod';
  if (!isPod && !POD_TEMPLATE_KINDS.has(kind)) return [];
  const policy = namespacePolicy(store, obj.metadata.namespace ?? 'default');
  const template = isPod ? (obj as PodSecurityInput) : ((obj.spec as { template?: PodSecurityInput } | undefined)?.template ?? {});
  const levels = new Set<PodSecurityLevel>();
  if (!isPod) levels.add(policy.enforce);
  if (policy.warn !== undefined) levels.add(policy.warn);
  const out: string[] = [];
  for (const level of levels) {
    const violations = checkPodSecurity(level, template);
    if (violations.length > 0) out.push(warningMessage(level, violations));
  }
  return out;
}

/** At most this many pods are named when a namespace's new level makes existing pods violate it. */
const MAX_PODS_NAMED = 10;

/**
 * Warnings when a namespace's enforce level is about to change, as the API server gives them:
 * `existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest"`,
 * then one `pod: reason, reason` per violating pod. Existing pods keep running.
 */
export function namespaceLevelWarnings(store: Store, name: string, labels: Readonly<Record<string, string>> | undefined): string[] {
  const before = namespacePolicy(store, name).enforce;
  const after = namespacePodSecurity(labels).enforce;
  if (before === after) return [];
  const violating: string[] = [];
  for (const pod of store.list<PodLike & { metadata: { name: string } }>('Pod', { namespace: name })) {
    const violations = checkPodSecurity(after, pod);
    if (violations.length > 0) violating.push(`${pod.metadata.name}: ${violations.map((v) => v.reason).join(', ')}`);
  }
  if (violating.length === 0) return [];
  const shown = violating.slice(0, MAX_PODS_NAMED);
  if (violating.length > shown.length) shown.push(`(and ${violating.length - shown.length} other pods)`);
  return [`existing pods in namespace ${JSON.stringify(name)} violate the new PodSecurity enforce level ${JSON.stringify(`${after}:latest`)}`, ...shown];
}

/**
 * The one check point of the controllers: true when the pod they are about to create passes its
 * namespace's enforce level; otherwise a FailedCreate Warning event on the owner says why (as the
 * ReplicaSet controller reports `Error creating: pods "web-..." is forbidden: ...`) and no pod is made.
 */
export function controllerMayCreatePod(
  store: Store,
  pod: PodLike,
  record: (reason: string, message: string, type: 'Warning') => void,
): boolean {
  const refusal = podSecurityRefusal(store, pod);
  if (refusal === undefined) return true;
  record('FailedCreate', `Error creating: ${refusal}`, 'Warning');
  return false;
}
