/**
 * What a pod's worker and its executor need from the rest of the agent: the CRI client, the node's
 * addresses, the QoS cgroups, volumes, events, back-off, probes, lifecycle handlers and the status sink.
 */
import type { Container, Pod, PodStatus } from '../../api/index.js';
import type { CriClient, LinuxContainerResources } from '../../cri/index.js';
import type { Backoff, Logger } from '../../lib/index.js';
import type { EventRecorder } from '../events.js';
import type { ProbeStarter } from '../probes/index.js';
import type { VolumeManager } from '../volumes.js';
import type { ClusterDnsSettings } from '../dns/index.js';

/** What the worker needs from the QoS cgroup code. */
export interface PodCgroups {
  ensurePod(pod: Pod): Promise<string>;
  removePod(uid: string): Promise<unknown>;
  containerResources(pod: Pod, c: Container): LinuxContainerResources;
}

/** Runs a lifecycle handler (preStop): exec in the container, or an HTTP/TCP action at the pod. */
export type HandlerRunner = (pod: Pod, container: Container, containerId: string, podIP: string, timeoutSeconds: number) => Promise<void>;

export interface WorkerContext {
  cri: CriClient;
  nodeName: string;
  hostIP: string;
  logRoot: string;
  cgroups: PodCgroups;
  volumes: VolumeManager;
  events: EventRecorder;
  backoff: Backoff;
  startProbes: ProbeStarter;
  runHandler: HandlerRunner;
  logger: Logger;
  onStatus: (pod: Pod, status: PodStatus) => void;
  onRestart?: () => void;
  /** Observes each sync's duration (metrics). */
  onSync?: (seconds: number) => void;
  /** Removes a deleted pod's log folder (disk/pod-dirs.ts), after its sandboxes are gone. */
  removePodLogs?: (pod: Pod) => Promise<void>;
  /** Removes a dead container's log files before the container is removed (disk/container-log-manager.ts). */
  removeContainerLogs?: (containerId: string) => Promise<void>;
  /**
   * The agent's DNS settings (--cluster-dns, --cluster-domain, --resolv-conf) the pods' resolv.conf
   * comes from (dnsPolicy); without them a pod gets the runtime's default (the host's resolv.conf)
   * plus its own dnsConfig, and no DNS events.
   */
  dns?: ClusterDnsSettings;
  /**
   * A deleted pod is about to be stopped (before preStop and SIGTERM): resolves once it may be, at
   * the latest at untilMs (services/: an endpoint first leaves the Services' rules).
   */
  beforeStop?: (pod: Pod, untilMs: number) => Promise<void>;
  /** Resync periods (tests): of a pod with something pending (default 10 s), of a settled pod (default 60 s + up to 50 %). */
  resyncMs?: { pending: number; settled: number };
}
