/**
 * persistentLocal is corelet's internal stand-in for a PersistentVolumeClaim: only the StatefulSet
 * controller sets it, on the pods it makes for an ordinal (claim <template>-<set>-<ordinal>), and
 * writes those pods to the store directly. Through the API nobody may write it, in a pod or in a
 * workload's pod template: a user naming a claim would get that claim's data (a StatefulSet's
 * volumeClaimTemplates are the way to ask for persistent storage).
 *
 * An update may keep the persistentLocal volumes the object already has (re-applying a StatefulSet
 * pod's manifest to change a label), not add or change one.
 */
import { invalidArgument } from '../../lib/index.js';
import { POD_TEMPLATE_KINDS } from './pod-security.js';

interface VolumeLike {
  name?: unknown;
  persistentLocal?: { claimName?: unknown };
}

interface WithSpec {
  metadata: { name?: string; generateName?: string; namespace?: string };
  spec?: unknown;
}

/** The volumes of a pod (kind Pod) or a workload's pod template, with the path of the list. */
function volumesOf(kind: string, obj: { spec?: unknown } | undefined): { path: string; volumes: VolumeLike[] } | undefined {
  const spec = obj?.spec as { volumes?: unknown; template?: { spec?: { volumes?: unknown } } } | undefined;
  if (kind === 'Pod') return { path: 'spec.volumes', volumes: Array.isArray(spec?.volumes) ? spec.volumes : [] };
  if (POD_TEMPLATE_KINDS.has(kind)) {
    const volumes = spec?.template?.spec?.volumes;
    return { path: 'spec.template.spec.volumes', volumes: Array.isArray(volumes) ? volumes : [] };
  }
  return undefined;
}

const key = (v: VolumeLike) => JSON.stringify([v.name, v.persistentLocal?.claimName]);

/**
 * Throws InvalidArgument naming the field (`spec.volumes[0].persistentLocal: ...`) when a pod or
 * pod template written through the API sets persistentLocal that `current` (the stored object an
 * update replaces) did not already have.
 */
export function refuseInternalVolumes(kind: string, obj: WithSpec, current?: { spec?: unknown }): void {
  const mine = volumesOf(kind, obj);
  if (!mine) return;
  const kept = new Set((volumesOf(kind, current)?.volumes ?? []).filter((v) => v?.persistentLocal !== undefined).map(key));
  const problems: string[] = [];
  mine.volumes.forEach((v, i) => {
    if (v?.persistentLocal === undefined || kept.has(key(v))) return;
    problems.push(
      `${mine.path}[${i}].persistentLocal: may not be set through the API: only the StatefulSet controller sets it, ` +
        "for its pods' claims (ask for persistent storage with a StatefulSet's volumeClaimTemplates)",
    );
  });
  if (problems.length === 0) return;
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
  throw invalidArgument(`${kind} ${JSON.stringify(`${ns}${obj.metadata.name || obj.metadata.generateName || ''}`)}: ${problems.join('\n')}`);
}
