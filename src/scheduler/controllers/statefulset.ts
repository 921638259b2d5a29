/**
 * The StatefulSet controller: pods with stable identities (<set>-0, <set>-1, ...), each with its own
 * persistent local claims; started in ordinal order, each once the previous ones are Running and
 * Ready (OrderedReady) or all at once (Parallel); removed from the highest ordinal down; rolled to
 * a new template from the highest ordinal down, one pod at a time, above the partition.
 *
 * Revisions are named "<set>-<template hash>". Kubernetes keeps old templates in ControllerRevision
 * objects; corelet keeps the two it needs (current and update revision) in one store setting per
 * StatefulSet, so an ordinal below the partition that is deleted comes back at the old template.
 */
import { deletePod } from './pod-deletion.js';
import type { Pod, PodSpec, PodTemplateSpec, StatefulSet, StatefulSetStatus, Volume } from '../../api/index.js';
import { podFinished } from '../../api/index.js';
import type { ObjectInput, Store, Stored, StoredObject } from '../store/index.js';
import { claimNode } from './claims.js';
import { canonicalJson, controllerRef, createOwnedPod, CONTROLLER_REVISION_HASH_LABEL, isPodAvailable, isPodReady, recordEvent, shortHash } from './common.js';

const COMPONENT = 'statefulset-controller';

/** The label holding a StatefulSet pod's own name (so a Service can select exactly one ordinal). */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** The label holding a StatefulSet pod's ordinal. */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** A stored StatefulSet. */
export type StoredStatefulSet = Stored<StatefulSet>;

/** What one StatefulSet reconcile did. */
export interface StatefulSetReconcileResult {
  /** The status written to the StatefulSet. */
  status: StatefulSetStatus;
  /** Names of the pods created in this pass. */
  created: string[];
  /** Names of the pods deleted in this pass. */
  deleted: string[];
}

/** The claim ordinal `ordinal` of set `setName` gets from volumeClaimTemplate `template` (Kubernetes' PVC name). */
export function statefulSetClaimName(template: string, setName: string, ordinal: number): string {
  return `${template}-${setName}-${ordinal}`;
}

/** The revision name of a StatefulSet's current pod template: "<set>-<hash>". */
export function statefulSetRevision(set: { metadata: { name: string }; spec: { template: PodTemplateSpec } }): string {
  return `${set.metadata.name}-${shortHash(set.spec.template)}`;
}

/** The ordinal of a pod named "<setName>-<n>", or undefined when the name is not of that form. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  const prefix = `${setName}-`;
  if (!podName.startsWith(prefix)) return undefined;
  const digits = podName.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) return undefined;
  return Number(digits);
}

// ---- the templates of the current and update revisions, kept in a store setting ----

interface RevisionRecord {
  /** The StatefulSet these belong to; a new set of the same name starts afresh. */
  uid: string;
  templates: Record<string, PodTemplateSpec>;
}

function revisionsKey(namespace: string, name: string): string {
  return `statefulset-revisions/${namespace}/${name}`;
}

function loadTemplates(store: Store, set: StoredStatefulSet): Record<string, PodTemplateSpec> {
  const raw = store.getMeta(revisionsKey(set.metadata.namespace, set.metadata.name));
  if (raw === undefined) return {};
  try {
    const record = JSON.parse(raw) as RevisionRecord;
    return record.uid === set.metadata.uid ? { ...record.templates } : {};
  } catch {
    return {}; // unreadable: the old revision is lost, and the set rolls forward (see reconcile)
  }
}

function saveTemplates(store: Store, set: StoredStatefulSet, templates: Record<string, PodTemplateSpec>): void {
  const key = revisionsKey(set.metadata.namespace, set.metadata.name);
  const value = canonicalJson({ uid: set.metadata.uid, templates } satisfies RevisionRecord);
  if (store.getMeta(key) !== value) store.setMeta(key, value);
}

/** Forgets the revision templates kept for StatefulSet namespace/name (it was deleted). */
export function forgetStatefulSetRevisions(store: Store, namespace: string, name: string): void {
  store.setMeta(revisionsKey(namespace, name), undefined);
}

// ---- pods ----

function revisionOfPod(p: Pod): string | undefined {
  return p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}

/** Ordinal `ordinal`'s pod at `revision`: its stable name, hostname, subdomain and claims. */
function podFor(set: StoredStatefulSet, ordinal: number, revision: string, template: PodTemplateSpec): ObjectInput {
  const setName = set.metadata.name;
  const name = `${setName}-${ordinal}`;
  const claims = set.spec.volumeClaimTemplates;
  const claimVolumes = new Set(claims.map((c) => c.metadata.name));
  // A template volume named like a claim template is replaced by the claim, as in Kubernetes.
  const volumes: Volume[] = [
    ...(template.spec.volumes ?? []).filter((v) => !claimVolumes.has(v.name)).map((v) => structuredClone(v)),
    ...claims.map((c) => ({ name: c.metadata.name, persistentLocal: { claimName: statefulSetClaimName(c.metadata.name, setName, ordinal) } })),
  ];
  const spec: PodSpec = { ...structuredClone(template.spec), hostname: name, volumes };
  if (set.spec.serviceName) spec.subdomain = set.spec.serviceName;
  else delete spec.subdomain;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: {
        ...template.metadata.labels,
        [STATEFULSET_POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
        [CONTROLLER_REVISION_HASH_LABEL]: revision,
      },
      annotations: { ...template.metadata.annotations },
      ownerReferences: [controllerRef(set)],
    },
    spec,
    status: { phase: 'Pending', conditions: [], initContainerStatuses: [], containerStatuses: [] },
  } as ObjectInput;
}

/**
 * Reconciles StatefulSet ns/name at `now`, making as much progress as its policy allows:
 *
 * 1. Ordinals 0..replicas-1: a finished pod is deleted and recreated; a missing one is created
 *    with the same name (at the current revision below a RollingUpdate partition, else at the
 *    update revision). With OrderedReady, the pass stops at the first pod it created or that is
 *    not Running and Ready (and available for minReadySeconds).
 * 2. Pods beyond replicas go highest ordinal first: one per pass with OrderedReady (and only once
 *    every remaining pod is healthy), all at once with Parallel.
 * 3. RollingUpdate: from the highest ordinal down to the partition, the first pod not at the update
 *    revision is deleted (recreated next pass at the new template); a not yet healthy updated pod
 *    stops the walk, so pods are replaced one at a time, each after the one before is Ready.
 *
 * Then writes status (replicas, readyReplicas, currentReplicas, updatedReplicas, availableReplicas,
 * currentRevision, updateRevision, observedGeneration); the current revision becomes the update
 * revision once every replica is updated and Ready. Returns undefined when the set does not exist.
 */
export function reconcileStatefulSet(store: Store, ns: string, name: string, now: Date): StatefulSetReconcileResult | undefined {
  return store.transaction(() => {
    const set = store.get<StoredStatefulSet>('StatefulSet', ns, name);
    if (!set || set.metadata.deletionTimestamp) return undefined;
    const spec = set.spec;
    const updateRevision = statefulSetRevision(set);
    const templates = loadTemplates(store, set);
    let currentRevision = set.status?.currentRevision ?? updateRevision;
    // Without its template the old revision cannot be recreated, so everything rolls forward.
    if (currentRevision !== updateRevision && !templates[currentRevision]) currentRevision = updateRevision;
    templates[updateRevision] = spec.template;
    const rolling = spec.updateStrategy.type === 'RollingUpdate';
    const partition = spec.updateStrategy.type === 'RollingUpdate' ? spec.updateStrategy.rollingUpdate.partition : 0;
    const ordered = spec.podManagementPolicy !== 'Parallel';
    const healthy = (p: Pod) => p.status?.phase === 'Running' && isPodAvailable(p, spec.minReadySeconds, now);
    const created: string[] = [];
    const deleted: string[] = [];

    const remove = (p: Pod) => {
      // Graceful: the pod stays (Terminating) until its node confirms, so its ordinal never runs twice.
      deletePod(store, ns, p.metadata.name, now);
      deleted.push(p.metadata.name);
      recordEvent(store, set, 'SuccessfulDelete', `delete Pod ${p.metadata.name} in StatefulSet ${name} successful`, COMPONENT, now);
    };
    const create = (ordinal: number): (Pod & StoredObject) | undefined => {
      const podName = `${name}-${ordinal}`;
      if (store.get('Pod', ns, podName)) {
        // Someone else's pod holds the name; ours can only come once it is gone.
        const message = `create Pod ${podName} in StatefulSet ${name} failed: a pod of that name not owned by the StatefulSet exists; delete it`;
        recordEvent(store, set, 'FailedCreate', message, COMPONENT, now, 'Warning');
        return undefined;
      }
      const revision = rolling && ordinal < partition ? currentRevision : updateRevision;
      const pod = createOwnedPod(store, set, podFor(set, ordinal, revision, templates[revision]!), COMPONENT, now) as unknown as (Pod & StoredObject) | undefined;
      if (!pod) return undefined;
      for (const c of spec.volumeClaimTemplates) {
        const claim = statefulSetClaimName(c.metadata.name, name, ordinal);
        if (claimNode(store, ns, claim) === undefined) {
          recordEvent(store, set, 'SuccessfulCreate', `create Claim ${claim} Pod ${podName} in StatefulSet ${name} success`, COMPONENT, now);
        }
      }
      created.push(podName);
      recordEvent(store, set, 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${name} successful`, COMPONENT, now);
      return pod;
    };

    const owned = store.list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: set.metadata.uid });
    const slots: ((Pod & StoredObject) | undefined)[] = new Array<undefined>(spec.replicas).fill(undefined);
    const condemned: (Pod & StoredObject)[] = [];
    for (const p of owned) {
      const ordinal = ordinalOf(name, p.metadata.name);
      if (ordinal !== undefined && ordinal < spec.replicas) slots[ordinal] = p;
      else condemned.push(p);
    }
    // Highest ordinal first; pods whose names carry no ordinal are not members and go first.
    const rank = (p: Pod) => ordinalOf(name, p.metadata.name) ?? Number.MAX_SAFE_INTEGER;
    condemned.sort((a, b) => rank(b) - rank(a));

    let waiting = false;
    for (let i = 0; i < slots.length && !waiting; i++) {
      let p = slots[i];
      if (p && podFinished(p)) {
        remove(p);
        p = slots[i] = undefined;
      }
      if (!p) {
        slots[i] = create(i);
        // OrderedReady: the next ordinal waits until this one is Running and Ready.
        if (ordered) waiting = true;
        continue;
      }
      if (ordered && (p.metadata.deletionTimestamp || !healthy(p))) waiting = true;
    }

    if (!waiting) {
      for (const p of condemned) {
        if (ordered && p.metadata.deletionTimestamp) {
          waiting = true;
          break;
        }
        if (!p.metadata.deletionTimestamp) remove(p);
        if (ordered) {
          waiting = true;
          break;
        }
      }
    }

    if (!waiting && rolling) {
      for (let i = slots.length - 1; i >= partition; i--) {
        const p = slots[i];
        if (!p) break;
        if (revisionOfPod(p) !== updateRevision) {
          if (!p.metadata.deletionTimestamp) remove(p);
          break;
        }
        if (!healthy(p)) break;
      }
    }

    return writeStatus(store, set, templates, currentRevision, updateRevision, now, { created, deleted });
  });
}

function writeStatus(
  store: Store,
  set: StoredStatefulSet,
  templates: Record<string, PodTemplateSpec>,
  currentRevision: string,
  updateRevision: string,
  now: Date,
  done: { created: string[]; deleted: string[] },
): StatefulSetReconcileResult {
  const ns = set.metadata.namespace;
  const pods = store
    .list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: set.metadata.uid })
    .filter((p) => !podFinished(p) && !p.metadata.deletionTimestamp);
  const replicas = set.spec.replicas;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: pods.length,
    readyReplicas: pods.filter((p) => p.status?.phase === 'Running' && isPodReady(p)).length,
    currentReplicas: pods.filter((p) => revisionOfPod(p) === currentRevision).length,
    updatedReplicas: pods.filter((p) => revisionOfPod(p) === updateRevision).length,
    availableReplicas: pods.filter((p) => p.status?.phase === 'Running' && isPodAvailable(p, set.spec.minReadySeconds, now)).length,
    currentRevision,
    updateRevision,
    conditions: set.status?.conditions ?? [],
  };
  // The rollout is complete once every replica runs the update revision and is Ready.
  if (status.updatedReplicas === replicas && status.readyReplicas === replicas && status.replicas === replicas) {
    status.currentRevision = updateRevision;
    status.currentReplicas = status.updatedReplicas;
  }
  saveTemplates(store, set, { [status.currentRevision!]: templates[status.currentRevision!]!, [updateRevision]: set.spec.template });
  if (canonicalJson(status) !== canonicalJson(set.status)) {
    store.mutate<StatefulSet>('StatefulSet', ns, set.metadata.name, (cur) => {
      cur.status = status;
    });
  }
  return { status, ...done };
}
