/** Services and EndpointSlices, Namespaces, Nodes, Events, ServiceAccounts and the RBAC kinds. */
import { bool, int32, listOf, mapOf, ref, str, stringList, stringMap, type Field, type TypeDef } from './types.js';

const CORE = 'io.k8s.api.core.v1';
const RBAC = 'io.k8s.api.rbac.v1';

const head = (kind: string, apiVersion: string, what: string): Readonly<Record<string, Field>> => ({
  apiVersion: str(`The schema version of this object: ${apiVersion}.`),
  kind: str(`The kind of this object: ${kind}.`),
  metadata: ref('ObjectMeta', `The ${what}'s name${kind.startsWith('Cluster') || kind === 'Namespace' || kind === 'Node' ? '' : ', namespace'}, labels and annotations.`),
});

export const CLUSTER_TYPES: Readonly<Record<string, TypeDef>> = {
  Service: {
    id: `${CORE}.Service`,
    description: 'A stable virtual IP address and DNS name (<name>.<namespace>.svc) that spreads connections over the ready pods its selector matches.',
    gvk: { group: '', version: 'v1', kind: 'Service' },
    properties: {
      ...head('Service', 'v1', 'Service'),
      spec: ref('ServiceSpec', 'The desired state of the Service.'),
      status: ref('ServiceStatus', 'Unused by corelet; ignored in a manifest.', { output: true }),
    },
  },
  ServiceStatus: { id: `${CORE}.ServiceStatus`, description: 'The observed state of a Service (empty: corelet has no load balancers).', properties: {} },
  ServiceSpec: {
    id: `${CORE}.ServiceSpec`,
    description: 'The desired state of a Service.',
    properties: {
      type: str('ClusterIP (default: a virtual IP inside the cluster) or NodePort (also a port on every node).', { enum: ['ClusterIP', 'NodePort'] }),
      selector: stringMap('The labels of the pods that receive the traffic. Without a selector the Service\'s EndpointSlices are managed by hand.'),
      ports: listOf('ServicePort', 'The ports the Service serves.', { mergeKey: 'port', patchStrategy: 'merge', listType: 'map' }),
      clusterIP: str('The virtual IP: allocated from the service range when empty, "None" for a headless Service (DNS returns the pods\' addresses).'),
      clusterIPs: stringList('The virtual IP as a list (one IPv4 address; equals clusterIP).'),
      sessionAffinity: str('None (default) or ClientIP (connections of one client go to the same pod).', { enum: ['None', 'ClientIP'] }),
      sessionAffinityConfig: ref('SessionAffinityConfig', 'The settings of ClientIP affinity.'),
      publishNotReadyAddresses: bool('Give DNS names and endpoints to pods that are not ready too.'),
      ipFamilies: stringList('Accepted for compatibility; corelet Services are IPv4.', { ignored: true }),
      ipFamilyPolicy: str('Accepted for compatibility; corelet Services are single-stack.', { ignored: true }),
      internalTrafficPolicy: str('Accepted for compatibility; traffic goes to any ready pod.', { ignored: true }),
      externalTrafficPolicy: str('Accepted for compatibility; traffic goes to any ready pod.', { ignored: true }),
    },
  },
  ServicePort: {
    id: `${CORE}.ServicePort`,
    description: 'A port of a Service.',
    properties: {
      name: str('The port\'s name (required when the Service has several ports).'),
      protocol: str('TCP (default) or UDP.', { enum: ['TCP', 'UDP'] }),
      port: int32('The port on the virtual IP.', { required: true }),
      targetPort: ref('IntOrString', 'The pods\' port: a number or the name of a container port (default: port).'),
      nodePort: int32('With type NodePort: the port on every node (allocated when absent).'),
      appProtocol: str('Accepted for compatibility; not used.', { ignored: true }),
    },
  },
  SessionAffinityConfig: {
    id: `${CORE}.SessionAffinityConfig`,
    description: 'Settings of session affinity.',
    properties: { clientIP: ref('ClientIPConfig', 'ClientIP affinity.') },
  },
  ClientIPConfig: {
    id: `${CORE}.ClientIPConfig`,
    description: 'ClientIP affinity.',
    properties: { timeoutSeconds: int32('Seconds a client sticks to its pod after its last connection (default 10800).') },
  },
  EndpointSlice: {
    id: 'io.k8s.api.discovery.v1.EndpointSlice',
    description: 'Addresses that serve a Service. The endpoints controller keeps one per Service with a selector; others are written by hand.',
    gvk: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    properties: {
      ...head('EndpointSlice', 'discovery.k8s.io/v1', 'EndpointSlice'),
      addressType: str('The kind of addresses: IPv4.', { required: true, enum: ['IPv4'] }),
      endpoints: listOf('Endpoint', 'The addresses.', { listType: 'atomic' }),
      ports: listOf('EndpointPort', 'The ports every endpoint serves.', { listType: 'atomic' }),
    },
  },
  Endpoint: {
    id: 'io.k8s.api.discovery.v1.Endpoint',
    description: 'One endpoint (a pod) of a Service.',
    properties: {
      addresses: stringList('Its IP addresses (one).', { required: true, listType: 'set' }),
      conditions: ref('EndpointConditions', 'Whether it is ready, serving, terminating.'),
      hostname: str('Its DNS hostname.'),
      nodeName: str('The node it runs on.'),
      targetRef: ref('EndpointTargetRef', 'The pod behind it.'),
      zone: str('Accepted for compatibility; not used.', { ignored: true }),
    },
  },
  EndpointConditions: {
    id: 'io.k8s.api.discovery.v1.EndpointConditions',
    description: 'The state of an endpoint.',
    properties: {
      ready: bool('Ready to receive traffic.'),
      serving: bool('Serving, whether or not terminating.'),
      terminating: bool('Shutting down.'),
    },
  },
  EndpointTargetRef: {
    id: 'io.k8s.api.core.v1.ObjectReference',
    description: 'The object behind an endpoint.',
    properties: {
      kind: str('Pod.', { enum: ['Pod'] }),
      namespace: str('Its namespace.'),
      name: str('Its name.', { required: true }),
      uid: str('Its uid.'),
      apiVersion: str('Accepted for compatibility; not used.', { ignored: true }),
      resourceVersion: str('Accepted for compatibility; not used.', { ignored: true }),
    },
  },
  EndpointPort: {
    id: 'io.k8s.api.discovery.v1.EndpointPort',
    description: 'A port of the endpoints.',
    properties: {
      name: str('The name of the Service port it serves.'),
      protocol: str('TCP (default) or UDP.', { enum: ['TCP', 'UDP'] }),
      port: int32('The port number.'),
      appProtocol: str('Accepted for compatibility; not used.', { ignored: true }),
    },
  },
  Namespace: {
    id: `${CORE}.Namespace`,
    description: 'A scope for names: objects of one kind have unique names within a namespace. Deleting it deletes everything in it. Its pod-security.kubernetes.io labels set the Pod Security level of its pods.',
    gvk: { group: '', version: 'v1', kind: 'Namespace' },
    properties: {
      ...head('Namespace', 'v1', 'Namespace'),
      spec: ref('NamespaceSpec', 'Accepted for compatibility; corelet keeps no finalizers.', { ignored: true }),
      status: ref('NamespaceStatus', 'Its phase: Active or Terminating. Set by the server.', { output: true }),
    },
  },
  NamespaceSpec: { id: `${CORE}.NamespaceSpec`, description: 'The desired state of a namespace.', properties: { finalizers: stringList('Accepted for compatibility; not used.') } },
  NamespaceStatus: { id: `${CORE}.NamespaceStatus`, description: 'The observed state of a namespace.', properties: { phase: str('Active or Terminating.', { enum: ['Active', 'Terminating'] }) } },
  Node: {
    id: `${CORE}.Node`,
    description: 'A machine running a corelet agent. Agents register their nodes; the scheduler places pods on them.',
    gvk: { group: '', version: 'v1', kind: 'Node' },
    properties: {
      ...head('Node', 'v1', 'node'),
      spec: ref('NodeSpec', 'Taints, cordoning and the pod address range.'),
      status: ref('NodeStatus', 'What the agent reports: capacity, conditions, addresses, system facts.', { output: true }),
    },
  },
  NodeSpec: {
    id: `${CORE}.NodeSpec`,
    description: 'The desired state of a node.',
    properties: {
      taints: listOf('Taint', 'Taints keep pods that do not tolerate them off the node.'),
      unschedulable: bool('Cordoned: no new pods are placed on the node.'),
      podCIDR: str('The address range of the node\'s pods. Set by the scheduler.'),
      podCIDRs: listOf({ type: 'string' }, 'podCIDR as a list.', { patchStrategy: 'merge', listType: 'set' }),
    },
  },
  Taint: {
    id: `${CORE}.Taint`,
    description: 'A mark on a node that repels pods without a matching toleration.',
    properties: {
      key: str('The taint key.', { required: true }),
      value: str('The taint value.'),
      effect: str('NoSchedule, PreferNoSchedule or NoExecute (running pods are evicted too).', { required: true, enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] }),
      timeAdded: ref('Time', 'When a NoExecute taint was added.'),
    },
  },
  NodeStatus: {
    id: `${CORE}.NodeStatus`,
    description: 'The observed state of a node.',
    properties: {
      capacity: mapOf('Quantity', 'The node\'s resources: cpu, memory, pods, ephemeral-storage.'),
      allocatable: mapOf('Quantity', 'Capacity less reservations and eviction thresholds: what pods may request.'),
      conditions: listOf('NodeCondition', 'Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable.', { mergeKey: 'type', patchStrategy: 'merge' }),
      addresses: listOf('NodeAddress', 'The node\'s addresses.', { mergeKey: 'type', patchStrategy: 'merge' }),
      nodeInfo: ref('NodeSystemInfo', 'Facts about the machine.'),
    },
  },
  NodeCondition: {
    id: `${CORE}.NodeCondition`,
    description: 'One observation of a node.',
    properties: {
      type: str('Ready, MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable.'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('A one-word reason.'),
      message: str('A human-readable explanation.'),
      lastHeartbeatTime: ref('Time', 'When the agent last reported it.'),
      lastTransitionTime: ref('Time', 'When status last changed.'),
    },
  },
  NodeAddress: {
    id: `${CORE}.NodeAddress`,
    description: 'An address of a node.',
    properties: { type: str('InternalIP, ExternalIP or Hostname.'), address: str('The address.') },
  },
  NodeSystemInfo: {
    id: `${CORE}.NodeSystemInfo`,
    description: 'Facts about a node\'s machine.',
    properties: {
      kernelVersion: str('The kernel release.'),
      osImage: str('The operating system.'),
      operatingSystem: str('linux.'),
      architecture: str('amd64, arm64, ...'),
      kubeletVersion: str('The agent\'s version.'),
      containerRuntimeVersion: str('The CRI runtime and its version.'),
    },
  },
  Event: {
    id: `${CORE}.Event`,
    description: 'A report of something that happened to an object (a pod scheduled, an image pulled, a container killed). Events expire after a while.',
    gvk: { group: '', version: 'v1', kind: 'Event' },
    properties: {
      ...head('Event', 'v1', 'event'),
      involvedObject: ref('EventObjectReference', 'The object the event is about.', { required: true }),
      reason: str('A short machine-readable reason (Scheduled, Pulled, BackOff, ...).'),
      message: str('A human-readable description.'),
      type: str('Normal or Warning.', { enum: ['Normal', 'Warning'] }),
      count: int32('How many times it happened.'),
      firstTimestamp: ref('Time', 'When it first happened.'),
      lastTimestamp: ref('Time', 'When it last happened.'),
      source: ref('EventSource', 'Who reported it.'),
    },
  },
  EventObjectReference: {
    id: 'io.corelet.api.core.v1.EventObjectReference',
    description: 'The object an event is about.',
    properties: {
      kind: str('Its kind.'),
      namespace: str('Its namespace.'),
      name: str('Its name.'),
      uid: str('Its uid.'),
      apiVersion: str('Its apiVersion.'),
      fieldPath: str('The part of the object (spec.containers{app}).'),
    },
  },
  EventSource: {
    id: `${CORE}.EventSource`,
    description: 'Who reported an event.',
    properties: { component: str('The component (scheduler, agent).'), host: str('The node.') },
  },
  ServiceAccount: {
    id: `${CORE}.ServiceAccount`,
    description: 'An identity for processes in pods; RoleBindings grant it permissions.',
    gvk: { group: '', version: 'v1', kind: 'ServiceAccount' },
    properties: {
      ...head('ServiceAccount', 'v1', 'ServiceAccount'),
      secrets: listOf('LocalObjectReference', 'Accepted for compatibility; not used.', { ignored: true }),
      imagePullSecrets: listOf('LocalObjectReference', 'Accepted for compatibility; not used.', { ignored: true }),
      automountServiceAccountToken: bool('Accepted for compatibility; not used.', { ignored: true }),
    },
  },
  LocalObjectReference: {
    id: `${CORE}.LocalObjectReference`,
    description: 'An object in the same namespace, by name.',
    properties: { name: str('Its name.') },
  },
  Role: {
    id: `${RBAC}.Role`,
    description: 'A set of permissions within one namespace, granted by RoleBindings.',
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role' },
    properties: { ...head('Role', 'rbac.authorization.k8s.io/v1', 'Role'), rules: listOf('PolicyRule', 'What the role allows.') },
  },
  ClusterRole: {
    id: `${RBAC}.ClusterRole`,
    description: 'A set of permissions on namespaced resources in every namespace, on cluster-scoped resources and on non-resource URLs, granted by ClusterRoleBindings (or, within one namespace, by RoleBindings).',
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
    properties: {
      ...head('ClusterRole', 'rbac.authorization.k8s.io/v1', 'ClusterRole'),
      rules: listOf('PolicyRule', 'What the role allows.'),
      aggregationRule: ref('AggregationRule', 'Not supported: accepted with a warning and ignored.', { ignored: true }),
    },
  },
  AggregationRule: {
    id: `${RBAC}.AggregationRule`,
    description: 'ClusterRoles whose rules would be combined into this one (not supported by corelet).',
    properties: { clusterRoleSelectors: listOf('LabelSelector', 'Selectors of the ClusterRoles.') },
  },
  PolicyRule: {
    id: `${RBAC}.PolicyRule`,
    description: 'Verbs allowed on resources (or on non-resource URLs). "*" matches everything.',
    properties: {
      verbs: stringList('get, list, watch, create, update, patch, delete, deletecollection, ... or "*".', { required: true }),
      apiGroups: stringList('The API groups of the resources ("" for the core group).'),
      resources: stringList('The resources (pods, deployments, pods/log, ...).'),
      resourceNames: stringList('Only these objects, by name.'),
      nonResourceURLs: stringList('URL paths (/healthz, /version); ClusterRoles only.'),
    },
  },
  RoleBinding: {
    id: `${RBAC}.RoleBinding`,
    description: 'Grants a Role, or a ClusterRole within this namespace, to users, groups and ServiceAccounts.',
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding' },
    properties: {
      ...head('RoleBinding', 'rbac.authorization.k8s.io/v1', 'RoleBinding'),
      subjects: listOf('Subject', 'Who gets the role.'),
      roleRef: ref('RoleRef', 'The role granted; cannot change after creation.', { required: true }),
    },
  },
  ClusterRoleBinding: {
    id: `${RBAC}.ClusterRoleBinding`,
    description: 'Grants a ClusterRole in every namespace to users, groups and ServiceAccounts.',
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding' },
    properties: {
      ...head('ClusterRoleBinding', 'rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'),
      subjects: listOf('Subject', 'Who gets the role.'),
      roleRef: ref('RoleRef', 'The ClusterRole granted; cannot change after creation.', { required: true }),
    },
  },
  Subject: {
    id: `${RBAC}.Subject`,
    description: 'A user, group or ServiceAccount.',
    properties: {
      kind: str('User, Group or ServiceAccount.', { required: true }),
      name: str('Its name.', { required: true }),
      namespace: str('A ServiceAccount\'s namespace.'),
      apiGroup: str('rbac.authorization.k8s.io for User and Group, "" for ServiceAccount.'),
    },
  },
  RoleRef: {
    id: `${RBAC}.RoleRef`,
    description: 'The role a binding grants.',
    properties: {
      apiGroup: str('rbac.authorization.k8s.io.'),
      kind: str('Role or ClusterRole.', { required: true }),
      name: str('The role\'s name.', { required: true }),
    },
  },
};
