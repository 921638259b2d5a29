import type { SandboxRecord } from '../store/index.js';
import type { PodNetworkArgs } from '../ports.js';

/** What CNI is told about a sandbox (ADD at RunPodSandbox, DEL at StopPodSandbox and at rollback). */
export function networkArgs(rec: SandboxRecord): PodNetworkArgs {
  const meta = rec.config.metadata!;
  return {
    sandboxId: rec.id,
    netnsPath: rec.netnsPath ?? '',
    podName: meta.name,
    podNamespace: meta.namespace,
    podUid: meta.uid,
    portMappings: rec.config.port_mappings.map((p) => ({
      protocol: (p.protocol as 'TCP' | 'UDP' | 'SCTP') || 'TCP',
      containerPort: p.container_port,
      hostPort: p.host_port,
      hostIp: p.host_ip,
    })),
  };
}

/** The name of a sandbox's network namespace under the netns dir. */
export function netnsName(sandboxId: string): string {
  return `corelet-${sandboxId.slice(0, 16)}`;
}
