import type { PodSandbox, PodSandboxStatus } from '../../cri/index.js';
import type { SandboxRecord } from '../store/index.js';
import { namespaceModes } from './namespace-modes.js';

const STATE = { ready: 'SANDBOX_READY', notready: 'SANDBOX_NOTREADY', creating: 'SANDBOX_NOTREADY' } as const;

/** The CRI PodSandbox (ListPodSandbox item) of a record. */
export function podSandbox(rec: SandboxRecord): PodSandbox {
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state: STATE[rec.state],
    created_at: rec.createdAt,
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    runtime_handler: rec.runtimeHandler,
  };
}

/** The CRI PodSandboxStatus of a record. */
export function podSandboxStatus(rec: SandboxRecord): PodSandboxStatus {
  const modes = namespaceModes(rec.config);
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state: STATE[rec.state],
    created_at: rec.createdAt,
    network: rec.netnsPath ? { ip: rec.ip, additional_ips: rec.additionalIps.map((ip) => ({ ip })) } : { ip: '' },
    linux: { namespaces: { options: { network: modes.network, pid: modes.pid, ipc: modes.ipc } } },
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    runtime_handler: rec.runtimeHandler,
  };
}

/** Verbose info for `crictl inspectp`: what corelet knows beyond the CRI status. */
export function sandboxInfo(rec: SandboxRecord): Record<string, string> {
  return {
    info: JSON.stringify({
      pid: rec.pausePid,
      netnsPath: rec.netnsPath,
      cgroupParent: rec.cgroupParent,
      runtimeHandler: rec.runtimeHandler,
      config: rec.config,
    }),
  };
}
