/**
 * What placement needs to know about a pod, read once: its requests (exact, for the fit check, and
 * "non-zero", for scoring), its host ports and the key of the owner whose replicas it spreads with.
 */
import type { Pod } from '../../api/index.js';
import { podRequests } from '../../api/index.js';
import { wrap } from '../../lib/index.js';

/**
 * What a pod that requests no cpu or memory counts as when scoring (kube-scheduler's
 * DefaultMilliCPURequest / DefaultMemoryRequest). Without it, best-effort pods would look free and
 * least-allocated scoring would never move them off the first node; the fit check still uses 0.
 */
export const DEFAULT_SCORE_CPU_MILLIS = 100;
export const DEFAULT_SCORE_MEMORY_BYTES = 200 * 1024 * 1024;

/** The host IP a port binds when none is given; it conflicts with every other IP on that port. */
export const WILDCARD_IP = '0.0.0.0';

/** One host port a pod claims. `key` is "protocol/port", the unit of conflict. */
export interface HostPort {
  key: string;
  hostIP: string;
}

/** What a pod adds to the node it is bound to; kept so removal subtracts exactly what was added. */
export interface PodFacts {
  cpuMillis: number;
  memoryBytes: number;
  scoreCpuMillis: number;
  scoreMemoryBytes: number;
  hostPorts: HostPort[];
  /** Pods with the same key are replicas of one owner and are spread across nodes. */
  ownerKey: string | undefined;
}

/**
 * The owner a pod spreads with: its controller's uid (a ReplicaSet, a StatefulSet), else its
 * namespace and `app` label, else none.
 */
export function ownerKeyOf(pod: Pod): string | undefined {
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (controller) return `uid:${controller.uid}`;
  const app = pod.metadata.labels?.app;
  return app === undefined ? undefined : `app:${pod.metadata.namespace}/${app}`;
}

/** Host ports of the app containers (hostPort > 0), with the protocol and the wildcard IP defaulted. */
function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ key: `${p.protocol || 'TCP'}/${p.hostPort}`, hostIP: p.hostIP || WILDCARD_IP });
    }
  }
  return out;
}

/**
 * The annotation a controller puts on a pod that must run on one particular node (a DaemonSet's pod
 * for that node). Placement treats every other node as not matching the pod's node selector.
 */
export const PINNED_NODE_ANNOTATION = 'corelet.io/pinned-node';

/** The node a pod is pinned to by {@link PINNED_NODE_ANNOTATION}, if any. */
export function pinnedNodeOf(pod: Pod): string | undefined {
  const node = pod.metadata.annotations?.[PINNED_NODE_ANNOTATION];
  return node ? node : undefined;
}

/**
 * The claims of a pod's persistentLocal volumes (in volume order, without repeats): data kept on
 * one node, so the pod may only run where those claims are bound.
 */
export function localClaimsOf(pod: Pod): string[] {
  const claims: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    const claim = v.persistentLocal?.claimName;
    if (claim && !claims.includes(claim)) claims.push(claim);
  }
  return claims;
}

/** Reads a pod's placement facts. Throws InvalidArgument when its quantities cannot be read. */
export function podFacts(pod: Pod): PodFacts {
  let req;
  try {
    req = podRequests(pod);
  } catch (err) {
    throw wrap(err, `pod ${pod.metadata.namespace}/${pod.metadata.name}: resources`);
  }
  return {
    cpuMillis: req.cpuMillis,
    memoryBytes: req.memoryBytes,
    scoreCpuMillis: req.cpuMillis || DEFAULT_SCORE_CPU_MILLIS,
    scoreMemoryBytes: req.memoryBytes || DEFAULT_SCORE_MEMORY_BYTES,
    hostPorts: hostPortsOf(pod),
    ownerKey: ownerKeyOf(pod),
  };
}
