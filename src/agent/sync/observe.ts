/**
 * Observing a pod in the runtime (the kubelet's GetPodStatus): its sandboxes from ListPodSandbox
 * (by the pod-uid label, newest first), and one sandbox's state and containers from
 * PodSandboxStatus, ListContainers and ContainerStatus — per container name the newest instance and
 * the one before it (for lastState). Reads only.
 */
import type { ContainerStatus__Output as CriContainerStatus, CriClient, PodSandbox__Output as CriSandbox } from '../../cri/index.js';
import { ANNOTATIONS, LABELS } from '../cri-config.js';
import type { ObservedContainer, PodObservation } from '../pod-status.js';
import type { ObservedSandbox, RuntimeContainer } from './pod-actions.js';

/** The pod's sandboxes, newest first. */
export async function listPodSandboxes(cri: Pick<CriClient, 'runtime'>, podUid: string): Promise<CriSandbox[]> {
  const res = await cri.runtime.ListPodSandbox({ filter: { label_selector: { [LABELS.podUid]: podUid } } });
  return res.items.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)));
}

/** A listed sandbox as computePodActions sees it. */
export function observedSandbox(s: CriSandbox): ObservedSandbox {
  return { id: s.id, ready: s.state === 'SANDBOX_READY', attempt: s.metadata?.attempt ?? 0 };
}

export interface SandboxObservation {
  sandbox: PodObservation['sandbox'];
  containers: Map<string, { current: RuntimeContainer; previous?: ObservedContainer }>;
  /** The CRI's container statuses, newest first. */
  raw: CriContainerStatus[];
}

/** One sandbox and its containers; no sandbox id: nothing. */
export async function observeSandbox(cri: Pick<CriClient, 'runtime'>, sandboxId: string | undefined): Promise<SandboxObservation> {
  const containers: SandboxObservation['containers'] = new Map();
  const raw: CriContainerStatus[] = [];
  if (!sandboxId) return { sandbox: undefined, containers, raw };
  const st = await cri.runtime.PodSandboxStatus({ pod_sandbox_id: sandboxId });
  const sandbox = { id: sandboxId, ready: st.status?.state === 'SANDBOX_READY', ip: st.status?.network?.ip ?? '', createdAt: st.status?.created_at ?? '0' };
  const list = await cri.runtime.ListContainers({ filter: { pod_sandbox_id: sandboxId } });
  const statuses = await Promise.all(list.containers.map((c) => cri.runtime.ContainerStatus({ container_id: c.id })));
  for (const s of statuses) if (s.status) raw.push(s.status);
  raw.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)));
  for (const s of raw) {
    const name = s.labels[LABELS.containerName] ?? s.metadata?.name ?? '';
    const o = runtimeContainer(s);
    const seen = containers.get(name);
    if (!seen) containers.set(name, { current: o });
    else if (!seen.previous) seen.previous = o;
  }
  return { sandbox, containers, raw };
}

function runtimeContainer(s: CriContainerStatus): RuntimeContainer {
  return {
    id: s.id,
    state: s.state === 'CONTAINER_RUNNING' ? 'running' : s.state === 'CONTAINER_EXITED' ? 'exited' : s.state === 'CONTAINER_CREATED' ? 'created' : 'unknown',
    exitCode: s.exit_code,
    reason: s.reason,
    message: s.message,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    restartCount: Number(s.annotations[ANNOTATIONS.restartCount] ?? s.metadata?.attempt ?? 0),
    image: s.image?.image ?? '',
    imageRef: s.image_ref,
    hash: s.annotations[ANNOTATIONS.hash],
  };
}
