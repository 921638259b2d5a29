/**
 * The resource types the cluster CLI knows, with kubectl's names for them: plural, singular and
 * short ("po", "deploy", "sts"...), so `corelet get po`, `get pod/web` and `get deployments.apps` work.
 */

/** One resource type as the CLI addresses it. */
export interface KindInfo {
  /** The object kind ("Deployment"). */
  kind: string;
  /** The URL resource ("deployments"). */
  resource: string;
  /** Whether objects live in a namespace (Node does not). */
  namespaced: boolean;
  /** How kubectl names it in messages: "pod", "deployment.apps", "job.batch". */
  display: string;
  /** Every accepted spelling, lower case; the short name first. */
  aliases: readonly string[];
}

/** Every kind the CLI can get, in the order `corelet get --help` lists them. */
export const KINDS: readonly KindInfo[] = [
  { kind: 'Pod', resource: 'pods', namespaced: true, display: 'pod', aliases: ['po', 'pod', 'pods'] },
  { kind: 'Node', resource: 'nodes', namespaced: false, display: 'node', aliases: ['no', 'node', 'nodes'] },
  { kind: 'Deployment', resource: 'deployments', namespaced: true, display: 'deployment.apps', aliases: ['deploy', 'deployment', 'deployments'] },
  { kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, display: 'replicaset.apps', aliases: ['rs', 'replicaset', 'replicasets'] },
  { kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, display: 'statefulset.apps', aliases: ['sts', 'statefulset', 'statefulsets'] },
  { kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, display: 'daemonset.apps', aliases: ['ds', 'daemonset', 'daemonsets'] },
  { kind: 'Job', resource: 'jobs', namespaced: true, display: 'job.batch', aliases: ['job', 'jobs'] },
  { kind: 'Namespace', resource: 'namespaces', namespaced: false, display: 'namespace', aliases: ['ns', 'namespace', 'namespaces'] },
  { kind: 'Event', resource: 'events', namespaced: true, display: 'event', aliases: ['ev', 'event', 'events'] },
  { kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true, display: 'serviceaccount', aliases: ['sa', 'serviceaccount', 'serviceaccounts'] },
  { kind: 'Role', resource: 'roles', namespaced: true, display: 'role.rbac.authorization.k8s.io', aliases: ['role', 'roles'] },
  { kind: 'RoleBinding', resource: 'rolebindings', namespaced: true, display: 'rolebinding.rbac.authorization.k8s.io', aliases: ['rolebinding', 'rolebindings'] },
  { kind: 'ClusterRole', resource: 'clusterroles', namespaced: false, display: 'clusterrole.rbac.authorization.k8s.io', aliases: ['clusterrole', 'clusterroles'] },
  { kind: 'ClusterRoleBinding', resource: 'clusterrolebindings', namespaced: false, display: 'clusterrolebinding.rbac.authorization.k8s.io', aliases: ['clusterrolebinding', 'clusterrolebindings'] },
];

/** "pods (po), nodes (no), ..." for error messages and help. */
export function knownKinds(): string {
  return KINDS.map((k) => (k.aliases[0] === k.resource.replace(/s$/, '') ? k.resource : `${k.resource} (${k.aliases[0]})`)).join(', ');
}

/**
 * The kind a user's word names, case-insensitively: "po", "Pod", "pods", "deploy",
 * "deployments.apps", "Deployment"... Throws naming the known types otherwise.
 */
export function resolveKind(word: string): KindInfo {
  const w = word.toLowerCase().replace(/\.(apps|batch|v1|core|rbac\.authorization\.k8s\.io)$/, '');
  const info = KINDS.find((k) => k.aliases.includes(w) || k.kind.toLowerCase() === w);
  if (!info) throw new Error(`unknown resource type "${word}": use one of ${knownKinds()}`);
  return info;
}

/** The kind for an object's `kind` field ("Deployment"), if the CLI knows it. */
export function kindOf(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** What a command's arguments name: a kind and zero or more object names. */
export interface Target {
  info: KindInfo;
  names: string[];
}

/**
 * Reads `KIND [NAME...]` or `KIND/NAME [KIND/NAME...]` (all of one kind), as kubectl accepts them.
 */
export function parseTarget(args: readonly string[]): Target {
  if (args.length === 0) throw new Error(`say what to act on: a resource type (${knownKinds()}), optionally with names`);
  if (args[0].includes('/')) {
    const refs = args.map((a) => {
      const [kind, name, extra] = a.split('/');
      if (!kind || !name || extra !== undefined) throw new Error(`"${a}": expected KIND/NAME, like pod/web`);
      return { info: resolveKind(kind), name };
    });
    const kinds = new Set(refs.map((r) => r.info.kind));
    if (kinds.size > 1) throw new Error(`give names of one resource type at a time (got ${[...kinds].join(' and ')})`);
    return { info: refs[0].info, names: refs.map((r) => r.name) };
  }
  const info = resolveKind(args[0]);
  const names = args.slice(1);
  const slashed = names.find((n) => n.includes('/'));
  if (slashed) throw new Error(`"${slashed}": give either KIND NAME or KIND/NAME, not both`);
  return { info, names };
}

/** The API path of a kind's objects: in one namespace, or every namespace when namespace is undefined. */
export function collectionPath(info: KindInfo, namespace?: string): string {
  if (!info.namespaced || namespace === undefined) return `/api/v1/${info.resource}`;
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/${info.resource}`;
}

/** The API path of one object (namespace is ignored for cluster-scoped kinds). */
export function objectPath(info: KindInfo, namespace: string, name: string): string {
  return `${collectionPath(info, info.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}
