/**
 * Pure translation of a Pod into the CRI requests that run it (PodSandboxConfig, ContainerConfig),
 * as the kubelet's kuberuntime does, and the labels through which the agent finds its pods again.
 */
import type { ContainerConfig, KeyValue, LinuxContainerResources, Mount, PodSandboxConfig } from '../cri/index.js';
import type { Container, Pod, SeccompProfile } from '../api/index.js';
import { ETC_HOSTS_LOCAL_LINES, invalidArgument, safeJoin, safeSegment } from '../lib/index.js';
import type { CriDnsConfig } from './dns/index.js';

/** Labels the kubelet puts on sandboxes and containers (crictl and tools know them). */
export const LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** corelet's own mark: this object was made by a corelet agent (adoption after a restart). */
  managedBy: 'io.corelet.managed-by',
} as const;

export const ANNOTATIONS = {
  restartCount: 'io.kubernetes.container.restartCount',
  /** Hash of the container spec: a changed spec means the container must be replaced. */
  hash: 'io.kubernetes.container.hash',
  /** init or app container. */
  kind: 'io.corelet.container.kind',
  terminationGracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
} as const;

/** Where the kubelet keeps pod logs: /var/log/pods/<namespace>_<name>_<uid>. */
export function podLogDirectory(logRoot: string, pod: Pod): string {
  const m = pod.metadata;
  return safeJoin(logRoot, [`${m.namespace}_${m.name}_${m.uid}`], 'pod log folder (namespace_name_uid)');
}

/** Host ports of the pod's containers, as CRI port mappings. */
function portMappings(pod: Pod) {
  return pod.spec.containers.flatMap((c) =>
    c.ports
      .filter((p) => (p.hostPort ?? 0) > 0 || pod.spec.hostNetwork)
      .map((p) => ({
        protocol: p.protocol,
        container_port: p.containerPort,
        host_port: pod.spec.hostNetwork ? p.containerPort : p.hostPort ?? 0,
        host_ip: p.hostIP ?? '',
      })),
  );
}

function namespaceOptions(pod: Pod) {
  return {
    network: pod.spec.hostNetwork ? 'NODE' : 'POD',
    pid: pod.spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: 'POD',
  } as const;
}

/** RunPodSandbox's config for a pod; dns is podDnsConfig's (agent/dns: the dnsPolicy with the agent's DNS settings). */
export function sandboxConfig(pod: Pod, opts: { attempt: number; logRoot: string; cgroupParent: string; dns: CriDnsConfig }): PodSandboxConfig {
  const m = pod.metadata;
  const sc = pod.spec.securityContext;
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, attempt: opts.attempt },
    hostname: pod.spec.hostNetwork ? '' : (pod.spec.hostname ?? m.name).slice(0, 63),
    log_directory: podLogDirectory(opts.logRoot, pod),
    dns_config: opts.dns,
    port_mappings: portMappings(pod),
    labels: { ...m.labels, [LABELS.podName]: m.name, [LABELS.podNamespace]: m.namespace, [LABELS.podUid]: m.uid, [LABELS.managedBy]: 'corelet-agent' },
    annotations: { ...m.annotations, [ANNOTATIONS.terminationGracePeriod]: String(pod.spec.terminationGracePeriodSeconds) },
    linux: {
      cgroup_parent: opts.cgroupParent,
      sysctls: Object.fromEntries((sc?.sysctls ?? []).map((s) => [s.name, s.value])),
      security_context: {
        namespace_options: namespaceOptions(pod),
        run_as_user: sc?.runAsUser !== undefined ? { value: sc.runAsUser } : null,
        run_as_group: sc?.runAsGroup !== undefined ? { value: sc.runAsGroup } : null,
        supplemental_groups: sc?.supplementalGroups ?? [],
        ...seccompOf(sc?.seccompProfile),
      },
    },
  };
}

/** CRI's seccomp choice for a securityContext.seccompProfile; nothing (the runtime's Unconfined) when unset. */
function seccompOf(profile: SeccompProfile | undefined): { seccomp?: { profile_type: SeccompProfile['type'] } } {
  return profile ? { seccomp: { profile_type: profile.type } } : {};
}

/** Values a fieldRef env var can take. */
export interface FieldValues {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

function envs(pod: Pod, c: Container, fields: FieldValues): KeyValue[] {
  const byField: Record<string, string> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'status.podIP': fields.podIP,
    'status.hostIP': fields.hostIP,
    'spec.nodeName': fields.nodeName,
  };
  // CRI v1.37 made KeyValue.value bytes: the value goes as its UTF-8 bytes. A JS string there would be
  // read as base64 by the proto encoder (garbage for "hunter2", an exception for "zeus-db").
  return c.env.map((e) => {
    if (e.valueFrom) {
      const v = byField[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw invalidArgument(`env ${e.name}: unsupported fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      return { key: e.name, value: Buffer.from(v, 'utf8') };
    }
    return { key: e.name, value: Buffer.from(e.value ?? '', 'utf8') };
  });
}

/** A stable hash of what defines a running container: changing it means replacing the container. */
export function containerHash(c: Container): string {
  // probes are applied by the agent, not the runtime: changing them must not replace the container
  const { livenessProbe: _liveness, readinessProbe: _readiness, startupProbe: _startup, ...defining } = c;
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(defining)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

export interface ContainerConfigInput {
  pod: Pod;
  container: Container;
  kind: 'init' | 'app';
  restartCount: number;
  fields: FieldValues;
  /** Host paths of the pod's volumes by name. */
  volumePaths: Record<string, string>;
  /** Host paths of the container's subPath mounts by volumeMount index (see VolumeManager.prepareSubPath). */
  subPathPaths?: Record<number, string>;
  /** Host path of the pod's managed /etc/hosts ({@link podHostsFile}), mounted unless the container mounts its own. */
  hostsFile?: string;
  /** CRI linux resources computed by the QoS code. */
  resources: LinuxContainerResources | null;
}

/**
 * The pod's /etc/hosts as the kubelet writes it for a pod with a subdomain: its IP with its FQDN
 * (`kv-0.kv.default.svc.cluster.local kv-0`), so `hostname -f` and the pod's own name resolve
 * locally. undefined when the runtime's file (IP and hostname) is what the kubelet would write too:
 * no subdomain, hostNetwork, no IP yet, or no cluster domain.
 */
export function podHostsFile(pod: Pod, podIP: string, clusterDomain: string): string | undefined {
  const sub = pod.spec.subdomain;
  if (pod.spec.hostNetwork || !sub || !podIP || !clusterDomain) return undefined;
  const hostname = (pod.spec.hostname ?? pod.metadata.name).slice(0, 63);
  return [
    '# Kubernetes-managed hosts file.',
    ...ETC_HOSTS_LOCAL_LINES,
    `${podIP}\t${hostname}.${sub}.${pod.metadata.namespace}.svc.${clusterDomain}\t${hostname}`,
    '',
  ].join('\n');
}

/** CreateContainer's config for one container of a pod. */
export function containerConfig(input: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = input;
  const sc = c.securityContext;
  const podSc = pod.spec.securityContext;
  const mounts: Mount[] = c.volumeMounts.map((vm, i) => {
    const host = vm.subPath ? input.subPathPaths?.[i] : input.volumePaths[vm.name];
    if (host === undefined) {
      throw invalidArgument(`container ${c.name}: volumeMount ${vm.name} ${vm.subPath ? `has no prepared subPath ${vm.subPath}` : 'names no volume'}`);
    }
    return { container_path: vm.mountPath, host_path: host, readonly: vm.readOnly ?? false };
  });
  if (input.hostsFile !== undefined && !c.volumeMounts.some((vm) => vm.mountPath.replace(/\/+$/, '') === '/etc/hosts')) {
    mounts.push({ container_path: '/etc/hosts', host_path: input.hostsFile, readonly: false });
  }
  const runAsUser = sc?.runAsUser ?? podSc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? podSc?.runAsGroup;
  return {
    metadata: { name: c.name, attempt: input.restartCount },
    image: { image: c.image },
    command: c.command ?? [],
    args: c.args ?? [],
    working_dir: c.workingDir ?? '',
    envs: envs(pod, c, input.fields),
    mounts,
    labels: {
      [LABELS.containerName]: c.name,
      [LABELS.podName]: pod.metadata.name,
      [LABELS.podNamespace]: pod.metadata.namespace,
      [LABELS.podUid]: pod.metadata.uid,
      [LABELS.managedBy]: 'corelet-agent',
    },
    annotations: {
      [ANNOTATIONS.restartCount]: String(input.restartCount),
      [ANNOTATIONS.hash]: containerHash(c),
      [ANNOTATIONS.kind]: input.kind,
    },
    log_path: `${safeSegment(c.name, 'container name')}/${input.restartCount}.log`,
    stdin: c.stdin ?? false,
    tty: c.tty ?? false,
    linux: {
      resources: input.resources,
      security_context: {
        privileged: sc?.privileged ?? false,
        capabilities: sc?.capabilities ? { add_capabilities: sc.capabilities.add ?? [], drop_capabilities: sc.capabilities.drop ?? [] } : null,
        run_as_user: runAsUser !== undefined ? { value: runAsUser } : null,
        run_as_group: runAsGroup !== undefined ? { value: runAsGroup } : null,
        readonly_rootfs: sc?.readOnlyRootFilesystem ?? false,
        no_new_privs: sc?.allowPrivilegeEscalation === false,
        namespace_options: namespaceOptions(pod),
        supplemental_groups: podSc?.supplementalGroups ?? [],
        ...seccompOf(sc?.seccompProfile ?? podSc?.seccompProfile),
      },
    },
  };
}
