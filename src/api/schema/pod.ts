/** Pods and everything a PodSpec holds (the part of Kubernetes' core/v1 corelet runs). */
import { bool, int32, int64, listOf, mapOf, ref, str, stringList, stringMap, type TypeDef } from './types.js';

const CORE = 'io.k8s.api.core.v1';

const handlerFields = {
  exec: ref('ExecAction', 'Run a command in the container.'),
  httpGet: ref('HTTPGetAction', 'Send an HTTP GET to the container.'),
  tcpSocket: ref('TCPSocketAction', 'Open a TCP connection to the container.'),
} as const;

export const POD_TYPES: Readonly<Record<string, TypeDef>> = {
  Pod: {
    id: `${CORE}.Pod`,
    description: 'A group of containers that run together on one node, sharing a network namespace, an IP address and volumes. The smallest thing corelet schedules.',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    properties: {
      apiVersion: str('The schema version of this object: v1.'),
      kind: str('The kind of this object: Pod.'),
      metadata: ref('ObjectMeta', 'The pod\'s name, namespace, labels and annotations.'),
      spec: ref('PodSpec', 'What the pod should run: its containers, volumes and how they restart.'),
      status: ref('PodStatus', 'What the node reports about the pod. Set by the server; ignored in a manifest.', { output: true }),
    },
  },
  PodStatus: {
    id: `${CORE}.PodStatus`,
    description: 'The observed state of a pod, as its node reports it.',
    properties: {
      phase: str('Pending, Running, Succeeded, Failed or Unknown.', { enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] }),
      conditions: listOf('PodCondition', 'PodScheduled, Initialized, ContainersReady, Ready.', { mergeKey: 'type', patchStrategy: 'merge' }),
      podIP: str('The pod\'s IP address on the cluster network.'),
      podIPs: listOf('PodIP', 'The pod\'s IP addresses (one).', { mergeKey: 'ip', patchStrategy: 'merge' }),
      qosClass: str('Guaranteed, Burstable or BestEffort, from the containers\' requests and limits.', { enum: ['Guaranteed', 'Burstable', 'BestEffort'] }),
      hostIP: str('The IP address of the node the pod runs on.'),
      startTime: ref('Time', 'When the node accepted the pod.'),
      reason: str('A one-word reason for the phase (Evicted, ...).'),
      message: str('A human-readable explanation of the phase.'),
    },
  },
  PodCondition: {
    id: `${CORE}.PodCondition`,
    description: 'One observation of a pod.',
    properties: {
      type: str('PodScheduled, Initialized, ContainersReady or Ready.'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('A one-word reason.'),
      message: str('A human-readable explanation.'),
      lastTransitionTime: ref('Time', 'When status last changed.'),
    },
  },
  PodIP: { id: `${CORE}.PodIP`, description: 'An IP address of a pod.', properties: { ip: str('The address.') } },
  PodSpec: {
    id: `${CORE}.PodSpec`,
    description: 'The desired state of a pod.',
    properties: {
      containers: listOf('Container', 'The containers of the pod (at least one). They start once every init container has succeeded.', {
        required: true,
        mergeKey: 'name',
        patchStrategy: 'merge',
      }),
      initContainers: listOf('Container', 'Containers run one after another, each to completion, before the containers start. A failure restarts the sequence according to restartPolicy.', {
        mergeKey: 'name',
        patchStrategy: 'merge',
      }),
      restartPolicy: str('When the node restarts exited containers: Always, OnFailure (a non-zero exit) or Never. Default Always.', { enum: ['Always', 'OnFailure', 'Never'] }),
      terminationGracePeriodSeconds: int64('Seconds between SIGTERM and SIGKILL when the pod is deleted (default 30; 0 kills at once).'),
      hostNetwork: bool('Run in the node\'s network namespace instead of the pod\'s own (ports are then the node\'s).'),
      shareProcessNamespace: bool('One PID namespace for all the pod\'s containers, so they see (and may signal) each other\'s processes.'),
      hostname: str('The pod\'s hostname (default: its name).'),
      subdomain: str('With hostname, gives the pod the DNS name <hostname>.<subdomain>.<namespace>.svc.<cluster domain>.'),
      dnsPolicy: str('How the pod\'s resolv.conf is made: ClusterFirst (the cluster DNS, default), ClusterFirstWithHostNet, Default (the node\'s) or None (dnsConfig only).', {
        enum: ['ClusterFirst', 'Default', 'None', 'ClusterFirstWithHostNet'],
      }),
      dnsConfig: ref('PodDNSConfig', 'Nameservers, search domains and options added to (or, with dnsPolicy None, making up) the pod\'s resolv.conf.'),
      volumes: listOf('Volume', 'Volumes the pod\'s containers may mount.', { mergeKey: 'name', patchStrategy: 'merge,retainKeys' }),
      nodeSelector: stringMap('Labels a node must have for the pod to be placed on it.'),
      nodeName: str('The node the pod runs on: set by the scheduler when it places the pod, or by the manifest to bypass it.'),
      tolerations: listOf('Toleration', 'Taints of nodes this pod tolerates.'),
      securityContext: ref('PodSecurityContext', 'Security settings for every container of the pod (a container\'s own securityContext wins).'),
      priority: int32('The pod\'s priority; a higher one is placed first.'),
    },
  },
  Container: {
    id: `${CORE}.Container`,
    description: 'One container of a pod: an image and how to run it.',
    properties: {
      name: str('The container\'s name, a DNS label unique in the pod.', { required: true }),
      image: str('The image to run (busybox:1.36, registry.example:5000/app@sha256:...).', { required: true }),
      imagePullPolicy: str('When the image is pulled: Always, IfNotPresent or Never. Default Always for :latest or no tag, IfNotPresent otherwise.', {
        enum: ['Always', 'IfNotPresent', 'Never'],
      }),
      command: stringList('The entrypoint, replacing the image\'s ENTRYPOINT. Not run in a shell.'),
      args: stringList('Arguments to the entrypoint, replacing the image\'s CMD.'),
      workingDir: str('The working directory (default: the image\'s).'),
      env: listOf('EnvVar', 'Environment variables set in the container.', { mergeKey: 'name', patchStrategy: 'merge' }),
      ports: listOf('ContainerPort', 'Ports the container listens on. Informational, except hostPort, which the node forwards.', {
        mergeKey: 'containerPort',
        patchStrategy: 'merge',
        listType: 'map',
      }),
      resources: ref('ResourceRequirements', 'CPU and memory the container requests (for placement) and may use at most (limits, enforced by cgroups).'),
      volumeMounts: listOf('VolumeMount', 'The pod\'s volumes mounted into this container.', { mergeKey: 'mountPath', patchStrategy: 'merge' }),
      livenessProbe: ref('Probe', 'A check that restarts the container when it fails failureThreshold times in a row.'),
      readinessProbe: ref('Probe', 'A check that decides whether the pod receives Service traffic.'),
      startupProbe: ref('Probe', 'A check that must succeed once before the liveness and readiness probes start.'),
      lifecycle: ref('Lifecycle', 'Actions run right after the container starts and before it is stopped.'),
      securityContext: ref('SecurityContext', 'Security settings of this container.'),
      stdin: bool('Keep a stdin open for the container (for attach).'),
      tty: bool('Give the container a terminal (with stdin).'),
    },
  },
  EnvVar: {
    id: `${CORE}.EnvVar`,
    description: 'An environment variable: a literal value or one taken from the pod.',
    properties: {
      name: str('The variable\'s name.', { required: true }),
      value: str('The value. $(NAME) refers to a variable defined earlier in the list; $$ is a literal $.'),
      valueFrom: ref('EnvVarSource', 'Where the value comes from, instead of value.'),
    },
  },
  EnvVarSource: {
    id: `${CORE}.EnvVarSource`,
    description: 'The source of an environment variable\'s value.',
    properties: {
      fieldRef: ref('ObjectFieldSelector', 'A field of the pod (the downward API).'),
    },
  },
  ObjectFieldSelector: {
    id: `${CORE}.ObjectFieldSelector`,
    description: 'A field of the pod: metadata.name, metadata.namespace, metadata.uid, spec.nodeName, status.podIP or status.hostIP.',
    properties: {
      fieldPath: str('The path of the field.', { required: true }),
      apiVersion: str('The version the path is written in: v1.', { enum: ['v1'] }),
    },
  },
  ContainerPort: {
    id: `${CORE}.ContainerPort`,
    description: 'A port a container listens on.',
    properties: {
      name: str('A name Services may refer to (an IANA service name, at most 15 characters).'),
      containerPort: int32('The port number in the pod\'s network namespace.', { required: true }),
      hostPort: int32('A port on the node forwarded to containerPort (two pods with the same hostPort cannot share a node).'),
      hostIP: str('The node address hostPort listens on (default: all).'),
      protocol: str('TCP (default), UDP or SCTP.', { enum: ['TCP', 'UDP', 'SCTP'] }),
    },
  },
  ResourceRequirements: {
    id: `${CORE}.ResourceRequirements`,
    description: 'Compute resources of a container: cpu, memory, ephemeral-storage and extended resources (vendor.example/gpu).',
    properties: {
      requests: mapOf('Quantity', 'What the container needs: the scheduler places the pod on a node with this much unrequested allocatable. A resource with only a limit is requested at its limit.'),
      limits: mapOf('Quantity', 'The most the container may use: cpu is throttled above it, memory above it is OOM-killed.'),
    },
  },
  VolumeMount: {
    id: `${CORE}.VolumeMount`,
    description: 'Where a volume appears in a container.',
    properties: {
      name: str('The name of one of the pod\'s volumes.', { required: true }),
      mountPath: str('The absolute path in the container.', { required: true }),
      readOnly: bool('Mount read-only.'),
      subPath: str('A path inside the volume to mount instead of its root.'),
    },
  },
  Probe: {
    id: `${CORE}.Probe`,
    description: 'A periodic check of a container: one of exec, httpGet or tcpSocket, with its timings.',
    properties: {
      ...handlerFields,
      initialDelaySeconds: int32('Seconds after the container starts before the first check.'),
      timeoutSeconds: int32('Seconds a check may take (default 1).'),
      periodSeconds: int32('Seconds between checks (default 10).'),
      successThreshold: int32('Successes in a row that make a failed probe pass again (default 1; must be 1 for liveness and startup).'),
      failureThreshold: int32('Failures in a row that make the probe fail (default 3).'),
      terminationGracePeriodSeconds: int64('The grace period for a restart caused by this probe, instead of the pod\'s.'),
    },
  },
  Lifecycle: {
    id: `${CORE}.Lifecycle`,
    description: 'Hooks around a container\'s life.',
    properties: {
      postStart: ref('LifecycleHandler', 'Run right after the container starts; a failure kills the container.'),
      preStop: ref('LifecycleHandler', 'Run before the container is stopped; the grace period counts it.'),
    },
  },
  LifecycleHandler: {
    id: `${CORE}.LifecycleHandler`,
    description: 'One action of a lifecycle hook: exec, httpGet, tcpSocket or sleep.',
    properties: { ...handlerFields, sleep: ref('SleepAction', 'Wait a number of seconds.') },
  },
  ExecAction: {
    id: `${CORE}.ExecAction`,
    description: 'A command run in the container; exit status 0 is success.',
    properties: { command: stringList('The command and its arguments (not run in a shell).') },
  },
  HTTPGetAction: {
    id: `${CORE}.HTTPGetAction`,
    description: 'An HTTP GET; a status from 200 to 399 is success.',
    properties: {
      path: str('The request path.'),
      port: ref('IntOrString', 'The port: a number or the name of a container port.', { required: true }),
      host: str('The host to connect to (default: the pod IP).'),
      scheme: str('HTTP (default) or HTTPS (the certificate is not verified).', { enum: ['HTTP', 'HTTPS'] }),
      httpHeaders: listOf('HTTPHeader', 'Headers added to the request.'),
    },
  },
  HTTPHeader: {
    id: `${CORE}.HTTPHeader`,
    description: 'An HTTP header.',
    properties: { name: str('The header name.', { required: true }), value: str('The header value.', { required: true }) },
  },
  TCPSocketAction: {
    id: `${CORE}.TCPSocketAction`,
    description: 'A TCP connection; connecting is success.',
    properties: {
      port: ref('IntOrString', 'The port: a number or the name of a container port.', { required: true }),
      host: str('The host to connect to (default: the pod IP).'),
    },
  },
  SleepAction: {
    id: `${CORE}.SleepAction`,
    description: 'A pause.',
    properties: { seconds: int64('How long to sleep.', { required: true }) },
  },
  SecurityContext: {
    id: `${CORE}.SecurityContext`,
    description: 'Security settings of one container.',
    properties: {
      runAsUser: int64('The UID the entrypoint runs as (default: the image\'s USER).'),
      runAsGroup: int64('The primary GID of the entrypoint.'),
      runAsNonRoot: bool('Refuse to start the container if it would run as UID 0.'),
      readOnlyRootFilesystem: bool('Mount the container\'s root filesystem read-only.'),
      privileged: bool('Run with every capability and the host\'s devices.'),
      allowPrivilegeEscalation: bool('Whether a process may gain more privileges than its parent (no_new_privs off).'),
      capabilities: ref('Capabilities', 'Linux capabilities added to or dropped from the default set.'),
      seccompProfile: ref('SeccompProfile', 'The seccomp filter of the container.'),
    },
  },
  Capabilities: {
    id: `${CORE}.Capabilities`,
    description: 'Linux capabilities to add and drop (NET_ADMIN, SYS_TIME, ALL, ...).',
    properties: { add: stringList('Capabilities added.'), drop: stringList('Capabilities removed.') },
  },
  SeccompProfile: {
    id: `${CORE}.SeccompProfile`,
    description: 'A seccomp profile.',
    properties: {
      type: str('RuntimeDefault, Unconfined or Localhost.', { required: true }),
      localhostProfile: str('With type Localhost: the profile\'s path, relative to the node\'s seccomp folder.'),
    },
  },
  PodSecurityContext: {
    id: `${CORE}.PodSecurityContext`,
    description: 'Security settings for all the containers of a pod.',
    properties: {
      runAsUser: int64('The UID every container\'s entrypoint runs as.'),
      runAsGroup: int64('The primary GID of every container\'s entrypoint.'),
      runAsNonRoot: bool('Refuse to start a container that would run as UID 0.'),
      supplementalGroups: listOf({ type: 'integer', format: 'int64' }, 'Extra GIDs of every container\'s first process.', { listType: 'atomic' }),
      fsGroup: int64('A GID that owns the pod\'s writable volumes and is added to every container\'s groups.'),
      sysctls: listOf('Sysctl', 'Namespaced kernel parameters set for the pod.'),
      seccompProfile: ref('SeccompProfile', 'The seccomp filter of every container.'),
    },
  },
  Sysctl: {
    id: `${CORE}.Sysctl`,
    description: 'A kernel parameter.',
    properties: { name: str('The parameter (net.ipv4.ip_local_port_range).', { required: true }), value: str('Its value.', { required: true }) },
  },
  PodDNSConfig: {
    id: `${CORE}.PodDNSConfig`,
    description: 'Additions to a pod\'s resolv.conf.',
    properties: {
      nameservers: stringList('Nameserver IP addresses (at most 3 in all).'),
      searches: stringList('Search domains.'),
      options: listOf('PodDNSConfigOption', 'Resolver options (ndots, ...).'),
    },
  },
  PodDNSConfigOption: {
    id: `${CORE}.PodDNSConfigOption`,
    description: 'A resolver option.',
    properties: { name: str('The option.', { required: true }), value: str('Its value, for options that take one.') },
  },
  Toleration: {
    id: `${CORE}.Toleration`,
    description: 'Lets a pod run on a node with a matching taint.',
    properties: {
      key: str('The taint key; empty with operator Exists matches every taint.'),
      operator: str('Equal (default: key and value must match) or Exists (any value).', { enum: ['Exists', 'Equal'] }),
      value: str('The taint value for Equal.'),
      effect: str('The taint effect matched; empty matches all.', { enum: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] }),
      tolerationSeconds: int64('With NoExecute: how long the pod stays on the node after the taint appears (default: forever).'),
    },
  },
  Volume: {
    id: `${CORE}.Volume`,
    description: 'A named volume of a pod: exactly one source.',
    properties: {
      name: str('The volume\'s name, a DNS label unique in the pod; volumeMounts refer to it.', { required: true }),
      emptyDir: ref('EmptyDirVolumeSource', 'An empty directory made for the pod and removed with it.'),
      hostPath: ref('HostPathVolumeSource', 'A file or directory of the node.'),
      persistentLocal: ref('PersistentLocalVolumeSource', 'corelet\'s persistent local volume: a directory on the node kept by claim name across pod restarts.'),
    },
  },
  EmptyDirVolumeSource: {
    id: `${CORE}.EmptyDirVolumeSource`,
    description: 'An empty directory.',
    properties: {
      medium: str('"" (the node\'s disk, default) or Memory (a tmpfs counted as the pod\'s memory).', { enum: ['', 'Memory'] }),
      sizeLimit: ref('Quantity', 'The most the directory may hold.'),
    },
  },
  HostPathVolumeSource: {
    id: `${CORE}.HostPathVolumeSource`,
    description: 'A path on the node.',
    properties: {
      path: str('The absolute path on the node.', { required: true }),
      type: str('What must be at path: "" (no check), DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice.', {
        enum: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'],
      }),
    },
  },
  PersistentLocalVolumeSource: {
    id: 'io.corelet.api.core.v1.PersistentLocalVolumeSource',
    description: 'A directory on the node that outlives the pod, found again by its claim name (a StatefulSet\'s claims use it).',
    properties: { claimName: str('The claim\'s name.', { required: true }) },
  },
};
