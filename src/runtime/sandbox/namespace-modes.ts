import type { PodSandboxConfig__Output } from '../../cri/index.js';

/** Namespace mode of a pod or container (CRI NamespaceMode). */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export function namespaceModes(config: PodSandboxConfig__Output): { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode } {
  const ns = config.linux?.security_context?.namespace_options;
  return {
    network: (ns?.network as NamespaceMode) ?? 'POD',
    pid: (ns?.pid as NamespaceMode) ?? 'POD',
    ipc: (ns?.ipc as NamespaceMode) ?? 'POD',
  };
}
