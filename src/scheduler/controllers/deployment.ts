/**
 * The Deployment controller: keeps one ReplicaSet per pod template (its revisions), rolls pods
 * from old revisions to the current one (RollingUpdate or Recreate), and reports status.
 */
import { notFound } from '../../lib/index.js';
import { resolveIntOrPercent, type Deployment, type DeploymentStatus, type WorkloadCondition } from '../../api/index.js';
import type { Store, Stored } from '../store/index.js';
import { controllerRef, canonicalJson, recordEvent, rfc3339, shortHash } from './common.js';
import {
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  replicaSetPods,
  revisionOf,
  syncReplicaSetPods,
  type ReplicaSet,
  type StoredReplicaSet,
} from './replica-set.js';

const COMPONENT = 'deployment-controller';

/** A stored Deployment. */
export type StoredDeployment = Stored<Deployment>;

/** What one reconcile saw and did. */
export interface DeploymentReconcileResult {
  /** The current revision's ReplicaSet name (undefined while paused before the first rollout). */
  newReplicaSet?: string;
  /** The status written to the Deployment. */
  status: DeploymentStatus;
  /** True when every pod runs the current template and all are available. */
  complete: boolean;
}

type Condition = WorkloadCondition<'Available' | 'Progressing' | 'ReplicaFailure'>;

/** The pod-template hash naming the ReplicaSet of a template. */
export function templateHash(d: Pick<Deployment, 'spec'>): string {
  return shortHash(d.spec.template);
}

/** The ReplicaSets a Deployment owns, by revision (oldest first). */
export function ownedReplicaSets(store: Store, d: StoredDeployment): StoredReplicaSet[] {
  return store
    .list<StoredReplicaSet>('ReplicaSet', { namespace: d.metadata.namespace, ownerUid: d.metadata.uid })
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}

function scale(store: Store, d: StoredDeployment, rs: StoredReplicaSet, to: number, now: Date): StoredReplicaSet {
  const from = rs.spec.replicas;
  if (from === to) return rs;
  const updated = store.mutate<ReplicaSet>('ReplicaSet', rs.metadata.namespace, rs.metadata.name, (cur) => {
    cur.spec.replicas = to;
  });
  const verb = to > from ? 'up' : 'down';
  recordEvent(store, d, 'ScalingReplicaSet', `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${to}`, COMPONENT, now);
  return updated;
}

/** Where a ReplicaSet whose revision was reused (a rollback) keeps its earlier revisions: "1,3". */
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';

/** Deployment annotations that stay the Deployment's own (the controller's, kubectl apply's), never copied to its ReplicaSets. */
const NOT_COPIED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/**
 * The Deployment's annotations its current ReplicaSet carries (kubernetes.io/change-cause among
 * them, which `kubectl rollout history` shows per revision, and `rollout undo` copies back).
 */
export function copiedAnnotations(d: Pick<StoredDeployment, 'metadata'>): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED_ANNOTATIONS.has(k)));
}

/**
 * Finds the ReplicaSet of the current template, creating it (with replicas 0) or giving it the
 * newest revision (the one it had before goes to its revision-history); it carries the
 * Deployment's copied annotations.
 */
function ensureNewReplicaSet(store: Store, d: StoredDeployment, owned: StoredReplicaSet[], now: Date): StoredReplicaSet {
  const hash = templateHash(d);
  const name = `${d.metadata.name}-${hash}`;
  const maxRevision = owned.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
  const existing = owned.find((rs) => rs.metadata.name === name);
  const copied = copiedAnnotations(d);
  if (existing) {
    const annotationsCopied = Object.entries(copied).every(([k, v]) => existing.metadata.annotations?.[k] === v);
    // A rollback reuses an old revision's ReplicaSet; it becomes the newest revision, as in Kubernetes.
    if (revisionOf(existing) === maxRevision && existing.spec.minReadySeconds === d.spec.minReadySeconds && annotationsCopied) return existing;
    return store.mutate<ReplicaSet>('ReplicaSet', d.metadata.namespace, name, (cur) => {
      const old = revisionOf(cur);
      cur.metadata.annotations = { ...cur.metadata.annotations, ...copied };
      if (old !== maxRevision) {
        const history = cur.metadata.annotations[REVISION_HISTORY_ANNOTATION];
        if (old > 0) cur.metadata.annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${old}` : String(old);
        cur.metadata.annotations[REVISION_ANNOTATION] = String(maxRevision + 1);
      }
      cur.spec.minReadySeconds = d.spec.minReadySeconds;
    });
  }
  const labels = { ...d.spec.template.metadata.labels, [POD_TEMPLATE_HASH_LABEL]: hash };
  const rs = store.create<ReplicaSet>('ReplicaSet', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: d.metadata.namespace,
      labels,
      annotations: { ...copied, [REVISION_ANNOTATION]: String(maxRevision + 1) },
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: {
        matchLabels: { ...d.spec.selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash },
        ...(d.spec.selector.matchExpressions ? { matchExpressions: d.spec.selector.matchExpressions } : {}),
      },
      template: { metadata: { labels, annotations: { ...d.spec.template.metadata.annotations } }, spec: structuredClone(d.spec.template.spec) },
    },
  });
  recordEvent(store, d, 'NewReplicaSetCreated', `Created new replica set "${name}"`, COMPONENT, now);
  return rs;
}

/**
 * One RollingUpdate step: grow the new ReplicaSet up to replicas + maxSurge pods in total, shrink
 * old ones while at least replicas − maxUnavailable pods stay available (unavailable old pods go
 * first, as they cost no availability).
 */
function rollingStep(store: Store, d: StoredDeployment, newRs: StoredReplicaSet, olds: StoredReplicaSet[], now: Date): void {
  const replicas = d.spec.replicas;
  const strategy = d.spec.strategy.type === 'RollingUpdate' ? d.spec.strategy.rollingUpdate : { maxSurge: '25%', maxUnavailable: '25%' };
  const maxSurge = resolveIntOrPercent(strategy.maxSurge, replicas, true);
  let maxUnavailable = resolveIntOrPercent(strategy.maxUnavailable, replicas, false);
  // Both zero would stall the rollout; Kubernetes rejects that, and treats it as 1 unavailable.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const minAvailable = Math.max(0, replicas - maxUnavailable);

  // Scale up the new revision within the surge budget (or down if the Deployment shrank).
  const specTotal = () => olds.reduce((n, rs) => n + rs.spec.replicas, 0) + newRs.spec.replicas;
  if (newRs.spec.replicas > replicas) newRs = scale(store, d, newRs, replicas, now);
  else if (newRs.spec.replicas < replicas) {
    const room = Math.max(0, replicas + maxSurge - specTotal());
    newRs = scale(store, d, newRs, Math.min(replicas, newRs.spec.replicas + room), now);
  }

  // Scale down old revisions, counting what is really running now.
  const newPods = replicaSetPods(store, newRs, now);
  const oldPods = olds.map((rs) => replicaSetPods(store, rs, now));
  const totalAvailable = newPods.available + oldPods.reduce((n, p) => n + p.available, 0);
  let budget = totalAvailable - minAvailable;
  for (let i = 0; i < olds.length; i++) {
    const rs = olds[i]!;
    if (rs.spec.replicas === 0) continue;
    // Pods the set wants but that are not available (or not even created) can go for free.
    const unavailable = Math.max(0, rs.spec.replicas - oldPods[i]!.available);
    const cut = Math.min(rs.spec.replicas, unavailable + Math.max(0, budget));
    if (cut <= 0) continue;
    budget -= Math.max(0, cut - unavailable);
    olds[i] = scale(store, d, rs, rs.spec.replicas - cut, now);
  }
}

/**
 * Reconciles Deployment ns/name at `now`: ensures the ReplicaSet of its current template (revision
 * annotation, owner reference), scales ReplicaSets per the strategy, creates/deletes their pods,
 * prunes old revisions beyond revisionHistoryLimit and writes status. Call it again whenever the
 * Deployment, its ReplicaSets or pods change; each call makes as much progress as readiness allows.
 * When the Deployment no longer exists, deletes its ReplicaSets and their pods and returns undefined.
 */
export function reconcileDeployment(store: Store, ns: string, name: string, now: Date): DeploymentReconcileResult | undefined {
  return store.transaction(() => {
    const d = store.get<StoredDeployment>('Deployment', ns, name);
    if (!d) {
      collectOrphans(store, ns, name);
      return undefined;
    }
    if (d.metadata.deletionTimestamp) return undefined;
    let owned = ownedReplicaSets(store, d);
    const hash = templateHash(d);
    let newRs = d.spec.paused ? owned.find((rs) => rs.metadata.name === `${name}-${hash}`) : ensureNewReplicaSet(store, d, owned, now);
    owned = ownedReplicaSets(store, d);
    if (newRs) newRs = owned.find((rs) => rs.metadata.uid === newRs!.metadata.uid)!;
    let olds = owned.filter((rs) => rs.metadata.uid !== newRs?.metadata.uid);

    if (!newRs) {
      // Paused before this template was ever rolled out: only keep the newest revision's count.
      const latest = owned.at(-1);
      if (latest) scale(store, d, latest, d.spec.replicas, now);
    } else if (d.spec.paused) {
      if (olds.every((rs) => rs.spec.replicas === 0)) scale(store, d, newRs, d.spec.replicas, now);
    } else if (d.spec.strategy.type === 'Recreate') {
      const oldPodCount = olds.reduce((n, rs) => n + replicaSetPods(store, rs, now).pods.length, 0);
      for (const rs of olds) scale(store, d, rs, 0, now);
      // New pods start only once every old pod is gone (deleted in an earlier pass).
      if (oldPodCount === 0) scale(store, d, newRs, d.spec.replicas, now);
    } else {
      rollingStep(store, d, newRs, olds, now);
    }

    // Let every ReplicaSet catch up with its (possibly new) replica count.
    owned = ownedReplicaSets(store, d);
    const pods = new Map(owned.map((rs) => [rs.metadata.uid, syncReplicaSetPods(store, rs, now)]));
    newRs = owned.find((rs) => rs.metadata.uid === newRs?.metadata.uid);
    olds = owned.filter((rs) => rs.metadata.uid !== newRs?.metadata.uid);

    // Keep at most revisionHistoryLimit idle old revisions, dropping the oldest.
    const idle = olds.filter((rs) => rs.spec.replicas === 0 && pods.get(rs.metadata.uid)!.pods.length === 0);
    const limit = d.spec.revisionHistoryLimit ?? 10;
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) store.delete('ReplicaSet', ns, rs.metadata.name);

    return writeStatus(store, d, pods, newRs, now);
  });
}

/** Deletes the ReplicaSets (and their pods) of a deleted Deployment: a cascading delete. */
function collectOrphans(store: Store, ns: string, name: string): void {
  const ownedByDeleted = (o: { kind: string; name: string }) => o.kind === 'Deployment' && o.name === name;
  for (const rs of store.list<StoredReplicaSet>('ReplicaSet', { namespace: ns })) {
    if (!rs.metadata.ownerReferences?.some(ownedByDeleted)) continue;
    for (const p of store.list('Pod', { namespace: ns, ownerUid: rs.metadata.uid })) store.delete('Pod', ns, p.metadata.name);
    store.delete('ReplicaSet', ns, rs.metadata.name);
  }
}

function writeStatus(
  store: Store,
  d: StoredDeployment,
  pods: Map<string, ReturnType<typeof replicaSetPods>>,
  newRs: StoredReplicaSet | undefined,
  now: Date,
): DeploymentReconcileResult {
  const all = [...pods.values()];
  const total = all.reduce((n, p) => n + p.pods.length, 0);
  const ready = all.reduce((n, p) => n + p.ready, 0);
  const available = all.reduce((n, p) => n + p.available, 0);
  const updated = newRs ? pods.get(newRs.metadata.uid)!.pods.length : 0;
  const newAvailable = newRs ? pods.get(newRs.metadata.uid)!.available : 0;
  const replicas = d.spec.replicas;
  const complete = newRs !== undefined && updated === replicas && total === replicas && newAvailable === replicas;

  const strategy = d.spec.strategy;
  const maxUnavailable =
    strategy.type === 'RollingUpdate' ? resolveIntOrPercent(strategy.rollingUpdate.maxUnavailable, replicas, false) : 0;
  const ts = rfc3339(now);
  const prev = d.status?.conditions ?? [];
  const cond = (type: Condition['type'], status: Condition['status'], reason: string, message: string, progressed: boolean): Condition => {
    const old = prev.find((c) => c.type === type);
    const same = old && old.status === status;
    return {
      type,
      status,
      reason,
      message,
      lastUpdateTime: same && old.reason === reason && !progressed ? (old.lastUpdateTime ?? ts) : ts,
      lastTransitionTime: same ? (old.lastTransitionTime ?? ts) : ts,
    };
  };
  const isAvailable = available >= replicas - maxUnavailable;
  const availableCond = isAvailable
    ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', false)
    : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', false);

  const rsName = newRs?.metadata.name ?? '';
  const oldProgress = prev.find((c) => c.type === 'Progressing');
  const before = d.status;
  // Progress: any count moved since the last status (Kubernetes compares replica counts the same way).
  const progressed =
    !before || before.updatedReplicas !== updated || before.availableReplicas !== available || before.replicas !== total || before.readyReplicas !== ready;
  let progressing: Condition;
  if (d.spec.paused) {
    progressing = cond('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', false);
  } else if (complete) {
    progressing = cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`, false);
  } else {
    const lastProgress = progressed || !oldProgress?.lastUpdateTime ? now.getTime() : Date.parse(oldProgress.lastUpdateTime);
    const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    progressing =
      now.getTime() - lastProgress > deadline
        ? cond('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`, false)
        : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, progressed);
  }
  if (progressing.reason === 'ProgressDeadlineExceeded' && oldProgress?.reason !== 'ProgressDeadlineExceeded') {
    recordEvent(store, d, 'ProgressDeadlineExceeded', progressing.message ?? '', COMPONENT, now, 'Warning');
  }

  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: total,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, Math.max(replicas, total) - available),
    conditions: [availableCond, progressing],
  };
  if (canonicalJson(status) !== canonicalJson(d.status)) {
    store.mutate<Deployment>('Deployment', d.metadata.namespace, d.metadata.name, (cur) => {
      cur.status = status;
      // The Deployment shows its current revision, as kubectl rollout history expects.
      if (newRs) cur.metadata.annotations = { ...cur.metadata.annotations, [REVISION_ANNOTATION]: String(revisionOf(newRs)) };
    });
  }
  return { newReplicaSet: newRs?.metadata.name, status, complete };
}

/**
 * Rolls Deployment ns/name back: sets its pod template (and the annotations that revision carries)
 * to that of revision `toRevision`, or of the
 * revision before the current one when omitted or 0. The next reconcile rolls the pods. NotFound
 * when the Deployment or the revision does not exist; returns the updated Deployment.
 */
export function rolloutUndo(store: Store, ns: string, name: string, toRevision?: number, now: Date = new Date()): StoredDeployment {
  return store.transaction(() => {
    const d = store.get<StoredDeployment>('Deployment', ns, name);
    if (!d) throw notFound(`Deployment ${ns}/${name} not found`);
    const owned = ownedReplicaSets(store, d);
    const current = owned.find((rs) => rs.metadata.name === `${name}-${templateHash(d)}`);
    let target: StoredReplicaSet | undefined;
    if (toRevision === undefined || toRevision === 0) {
      target = owned.filter((rs) => rs !== current).at(-1);
      if (!target) throw notFound(`Deployment ${ns}/${name} has no previous revision to roll back to`);
    } else {
      target = owned.find((rs) => revisionOf(rs) === toRevision);
      if (!target) throw notFound(`Deployment ${ns}/${name} has no revision ${toRevision}`);
    }
    const labels = { ...target.spec.template.metadata.labels };
    delete labels[POD_TEMPLATE_HASH_LABEL];
    const template = { metadata: { ...target.spec.template.metadata, labels }, spec: structuredClone(target.spec.template.spec) };
    const updated = store.mutate<Deployment>('Deployment', ns, name, (cur) => {
      cur.spec.template = template;
      // The revision's annotations come back (its change-cause), as kubectl rollout undo restores them.
      const own = Object.fromEntries(Object.entries(cur.metadata.annotations ?? {}).filter(([k]) => NOT_COPIED_ANNOTATIONS.has(k)));
      cur.metadata.annotations = { ...own, ...Object.fromEntries(Object.entries(target.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED_ANNOTATIONS.has(k))) };
    });
    recordEvent(store, d, 'DeploymentRollback', `Rolled back deployment "${name}" to revision ${revisionOf(target)}`, COMPONENT, now);
    return updated;
  });
}
