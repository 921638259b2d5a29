import type { Pod } from '../api/index.js';
import type { ObservedContainer } from './pod-status.js';

/** What the agent does when its pod's sandbox is no longer ready (the kubelet's computePodActions). */
export interface SandboxChangeActions {
  /** Make a new sandbox (attempt + 1) and start the containers in it again. */
  createSandbox: boolean;
  /** App containers not started again in the new sandbox (OnFailure: those that succeeded). */
  skip: Set<string>;
  /** Restart count each container gets in the new sandbox: its count in the dead one + 1. */
  restartCounts: Map<string, number>;
}

/**
 * The kubelet's rules for a changed (dead) sandbox: its containers are killed; a new sandbox is
 * made unless the pod must not restart: with restartPolicy Never once any container ran (the pod
 * ends with what it has), or when no app container is left to start (OnFailure: every one
 * succeeded). Containers that ran carry their restart count + 1 into the new sandbox; init
 * containers run again from the first.
 */
export function sandboxChangeActions(pod: Pod, previous: ReadonlyMap<string, { current: ObservedContainer }>): SandboxChangeActions {
  const restartCounts = new Map<string, number>();
  for (const [name, { current }] of previous) restartCounts.set(name, current.restartCount + 1);
  const skip = new Set<string>();
  if (pod.spec.restartPolicy === 'Never' && previous.size > 0) return { createSandbox: false, skip, restartCounts };
  if (pod.spec.restartPolicy === 'OnFailure') {
    for (const c of pod.spec.containers) {
      const cur = previous.get(c.name)?.current;
      if (cur?.state === 'exited' && cur.exitCode === 0) skip.add(c.name);
    }
    if (pod.spec.containers.length > 0 && skip.size === pod.spec.containers.length) return { createSandbox: false, skip, restartCounts };
  }
  return { createSandbox: true, skip, restartCounts };
}
