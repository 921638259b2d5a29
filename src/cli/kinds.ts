/**
 * The resource types the cluster CLI knows, with kubectl's names for them: plural, singular and
 * short ("po", "deploy", "sts"...), so `corelet get po`, `get pod/web` and `get deployments.apps` work.
 * The kinds themselves come from the kind registry (api/kinds.ts).
 */
import { KINDS as API_KINDS } from '../api/index.js';

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

/** Every kind the CLI can get, in the order `corelet get --help` lists them: the kind registry's. */
export const KINDS: readonly KindInfo[] = API_KINDS.map((k) => ({
  kind: k.kind,
  resource: k.plural,
  namespaced: k.namespaced,
  display: k.group === '' ? k.singular : `${k.singular}.${k.group}`,
  aliases: [...k.shortNames, k.singular, k.plural],
}));

/** "pods (po), nodes (no), ..." for error messages and help. */
export function knownKinds(): string {
  return KINDS.map((k) => (k.aliases[0] === k.resource.replace(/s$/, '') ? k.resource : `${k.resource} (${k.aliases[0]})`)).join(', ');
}

/**
 * The kind a user's word names, case-insensitively: "po", "Pod", "pods", "deploy",
 * "deployments.apps", "Deployment"... Throws naming the known types otherwise.
 */
export function resolveKind(word: string): KindInfo {
  const w = word.toLowerCase().replace(/\.(apps|batch|v1|core|rbac\.authorization\.k8s\.io|discovery\.k8s\.io)$/, '');
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
