import type { ContainerConfig__Output, LinuxContainerResources__Output, PodSandboxConfig__Output } from '../cri/index.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { SandboxManager } from './sandbox/sandbox-manager.js';
import type { ContainerManager } from './container/container-manager.js';
import { createContainer } from './container/container-create.js';
import { startContainer } from './container/container-start.js';
import { stopContainer } from './container/container-stop.js';
import { removeContainer } from './container/container-remove.js';
import { updateContainerResources } from './container/container-update.js';
import { runPodSandbox } from './sandbox/sandbox-run.js';
import { stopPodSandbox } from './sandbox/sandbox-stop.js';
import { removePodSandbox } from './sandbox/sandbox-remove.js';

/**
 * The sandbox and container verbs that change state, bound to what each needs. The one place they
 * are wired to each other (StopPodSandbox stops the pod's containers, RemovePodSandbox removes
 * them): the verbs themselves, like the two managers, import nothing of the other side.
 */
export interface LifecycleVerbs {
  runPodSandbox(config: PodSandboxConfig__Output | null, runtimeHandler: string): Promise<string>;
  stopPodSandbox(idOrPrefix: string): Promise<void>;
  removePodSandbox(idOrPrefix: string): Promise<void>;
  createContainer(sandboxId: string, config: ContainerConfig__Output | null, sandboxConfig: PodSandboxConfig__Output | null): Promise<string>;
  startContainer(idOrPrefix: string): Promise<void>;
  stopContainer(idOrPrefix: string, timeoutSeconds: number): Promise<void>;
  removeContainer(idOrPrefix: string): Promise<void>;
  updateContainerResources(idOrPrefix: string, resources: LinuxContainerResources__Output | null): Promise<void>;
}

/** The verbs over these dependencies and managers. */
export function lifecycleVerbs(deps: LifecycleDeps, sandboxes: SandboxManager, containers: ContainerManager): LifecycleVerbs {
  const c = { ...deps, sandboxes, containers };
  const verbs: LifecycleVerbs = {
    runPodSandbox: (config, runtimeHandler) => runPodSandbox(c, config, runtimeHandler),
    stopPodSandbox: (id) => stopPodSandbox({ ...c, stopContainer: verbs.stopContainer }, id),
    removePodSandbox: (id) => removePodSandbox({ ...c, stopContainer: verbs.stopContainer, removeContainer: verbs.removeContainer }, id),
    createContainer: (sandboxId, config, sandboxConfig) => createContainer(c, sandboxId, config, sandboxConfig),
    startContainer: (id) => startContainer(c, id),
    stopContainer: (id, timeoutSeconds) => stopContainer(c, id, timeoutSeconds),
    removeContainer: (id) => removeContainer(c, id),
    updateContainerResources: (id, resources) => updateContainerResources(c, id, resources),
  };
  return verbs;
}
