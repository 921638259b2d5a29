/**
 * Strategic merge patch (application/strategic-merge-patch+json) for the built-in kinds, as
 * kube-apiserver applies it: objects merge key by key (null removes a key), lists declared with a
 * patch merge key (containers by name, ports by containerPort, env by name, ...) merge item by item
 * on that key, lists declared as sets (finalizers) merge as a union, every other list is replaced.
 * Directives: `$patch: replace|delete|merge` on a map or a list item, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` (what kubectl apply sends).
 * Pure: the inputs are never changed.
 *
 * The same description of the lists ({@link PATCH_SCHEMAS}) tells server-side apply which lists are
 * keyed (managed-fields.ts).
 */
import { invalidArgument } from '../lib/index.js';

/** How one field merges; a field without a node merges as a map (objects) or is replaced (lists). */
export interface PatchNode {
  /** Map fields of an object (or of each list item). */
  fields?: Readonly<Record<string, PatchNode>>;
  /** For a list: merged (not replaced); with mergeKey its items are maps keyed by that field, else a set of scalars. */
  merge?: boolean;
  mergeKey?: string;
  /** For a keyed list: how its items merge. */
  items?: PatchNode;
}

const keyed = (mergeKey: string, items?: PatchNode): PatchNode => ({ merge: true, mergeKey, ...(items ? { items } : {}) });
const set: PatchNode = { merge: true };

const objectMeta: PatchNode = { fields: { finalizers: set, ownerReferences: keyed('uid') } };
const conditions = keyed('type');

const container: PatchNode = {
  fields: {
    ports: keyed('containerPort'),
    env: keyed('name'),
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
  },
};

const podSpec: PatchNode = {
  fields: {
    containers: keyed('name', container),
    initContainers: keyed('name', container),
    ephemeralContainers: keyed('name', container),
    volumes: keyed('name'),
    imagePullSecrets: keyed('name'),
    hostAliases: keyed('ip'),
    topologySpreadConstraints: keyed('topologyKey'),
    resourceClaims: keyed('name'),
    schedulingGates: keyed('name'),
  },
};

const podStatus: PatchNode = { fields: { conditions, podIPs: keyed('ip'), hostIPs: keyed('ip') } };

const template: PatchNode = { fields: { metadata: objectMeta, spec: podSpec } };
const workloadStatus: PatchNode = { fields: { conditions } };
const workload = (spec: Record<string, PatchNode> = {}): PatchNode => ({
  fields: { metadata: objectMeta, spec: { fields: { template, ...spec } }, status: workloadStatus },
});

/** The merge description of each built-in kind (by kind name); a kind not listed merges as JSON. */
export const PATCH_SCHEMAS: Readonly<Record<string, PatchNode>> = {
  Pod: { fields: { metadata: objectMeta, spec: podSpec, status: podStatus } },
  Deployment: workload(),
  ReplicaSet: workload(),
  StatefulSet: workload(),
  DaemonSet: workload(),
  Job: workload(),
  Service: { fields: { metadata: objectMeta, spec: { fields: { ports: keyed('port') } }, status: { fields: { conditions } } } },
  Node: {
    fields: {
      metadata: objectMeta,
      spec: { fields: { podCIDRs: set } },
      status: { fields: { conditions, addresses: keyed('type') } },
    },
  },
  Namespace: { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
};

const DEFAULT_NODE: PatchNode = { fields: { metadata: objectMeta } };

/** The merge description of a kind (built-in kinds; others get metadata's only). */
export function patchSchemaOf(kind: string): PatchNode {
  return PATCH_SCHEMAS[kind] ?? DEFAULT_NODE;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

const DELETE = Symbol('delete');
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';
const ORDER = '$setElementOrder/';

/**
 * Applies a strategic merge patch to original (the stored object) for the given kind and returns the
 * result. Throws InvalidArgument (naming the field) for a malformed patch: an item of a keyed list
 * without its key, an unknown $patch value, a directive of the wrong shape.
 */
export function strategicMergePatch(original: unknown, patch: unknown, kind: string): Rec {
  if (!isRec(patch)) throw invalidArgument('a strategic merge patch must be a JSON object, like {"spec": {"replicas": 3}}');
  const out = mergeMap(isRec(original) ? original : undefined, patch, patchSchemaOf(kind), '');
  if (out === DELETE) throw invalidArgument('$patch: delete cannot remove the whole object (use DELETE)');
  return out;
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function directiveOf(patch: Rec, path: string): string | undefined {
  const d = patch.$patch;
  if (d === undefined) return undefined;
  if (d !== 'replace' && d !== 'delete' && d !== 'merge') throw invalidArgument(`${at(path, '$patch')}: unknown directive ${JSON.stringify(d)} (replace, delete or merge)`);
  return d;
}

/** A value of a patch with its directives and nulls taken out (what it becomes when nothing was there). */
function clean(value: unknown, node: PatchNode | undefined, path: string): unknown {
  if (Array.isArray(value)) return mergeList(undefined, value, node, path);
  if (isRec(value)) {
    const r = mergeMap(undefined, value, node, path);
    return r === DELETE ? undefined : r;
  }
  return value;
}

function mergeMap(original: Rec | undefined, patch: Rec, node: PatchNode | undefined, path: string): Rec | typeof DELETE {
  const directive = directiveOf(patch, path);
  if (directive === 'delete') return DELETE;
  const out: Rec = directive === 'replace' || original === undefined ? {} : { ...original };
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain) || retain.some((k) => typeof k !== 'string')) throw invalidArgument(`${at(path, '$retainKeys')} must be a list of field names`);
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_PRIMITIVES)) continue;
    const field = key.slice(DELETE_PRIMITIVES.length);
    if (!Array.isArray(value)) throw invalidArgument(`${at(path, key)} must be a list of values`);
    if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((v) => !value.some((d) => jsonEqual(d, v)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const child = node?.fields?.[key];
    const p = at(path, key);
    if (value === null) delete out[key];
    else if (isRec(value)) {
      const merged = mergeMap(isRec(out[key]) ? (out[key] as Rec) : undefined, value, child, p);
      if (merged === DELETE) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) out[key] = mergeList(Array.isArray(out[key]) ? (out[key] as unknown[]) : undefined, value, child, p);
    else out[key] = value;
  }
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(ORDER)) continue;
    const field = key.slice(ORDER.length);
    if (!Array.isArray(value)) throw invalidArgument(`${at(path, key)} must be a list`);
    if (Array.isArray(out[field])) out[field] = reorder(out[field] as unknown[], value, node?.fields?.[field], at(path, key));
  }
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$') && key !== '$patch' && key !== '$retainKeys' && !key.startsWith(DELETE_PRIMITIVES) && !key.startsWith(ORDER)) {
      throw invalidArgument(`${at(path, key)}: unknown directive`);
    }
  }
  return out;
}

function mergeList(original: unknown[] | undefined, patch: unknown[], node: PatchNode | undefined, path: string): unknown[] {
  if (!node?.merge) {
    // Replaced: the patch's items, their own directives taken out.
    return patch.map((item, i) => clean(item, node?.items, `${path}[${i}]`)).filter((v) => v !== undefined);
  }
  const key = node.mergeKey;
  if (key === undefined) {
    const out = original ? [...original] : [];
    for (const v of patch) if (!out.some((o) => jsonEqual(o, v))) out.push(v);
    return out;
  }
  if (patch.some((item) => isRec(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isRec(item) && item.$patch === 'replace')).map((item, i) => clean(item, node.items, `${path}[${i}]`));
  }
  const out = original ? [...original] : [];
  patch.forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (!isRec(item)) throw invalidArgument(`${p}: an item of ${path} must be an object with its merge key "${key}"`);
    if (!(key in item)) throw invalidArgument(`${p}: the item has no "${key}" (the merge key of ${path})`);
    const index = out.findIndex((o) => isRec(o) && jsonEqual(o[key], item[key]));
    if (directiveOf(item, p) === 'delete') {
      for (let j = out.length - 1; j >= 0; j--) if (isRec(out[j]) && jsonEqual((out[j] as Rec)[key], item[key])) out.splice(j, 1);
      return;
    }
    const merged = mergeMap(index >= 0 ? (out[index] as Rec) : undefined, item, node.items, p);
    if (merged === DELETE) return;
    if (index >= 0) out[index] = merged;
    else out.push(merged);
  });
  return out;
}

/**
 * $setElementOrder: the items the order names take, in that order, the places such items hold in the
 * list; the others (the server's own) keep their places.
 */
function reorder(list: unknown[], order: unknown[], node: PatchNode | undefined, path: string): unknown[] {
  const key = node?.mergeKey;
  const idOf = (v: unknown): unknown => (key !== undefined ? (isRec(v) ? v[key] : undefined) : v);
  const wanted = order.map((o, i) => {
    if (key !== undefined && !(isRec(o) && key in o)) throw invalidArgument(`${path}[${i}] must be an object with "${key}"`);
    return idOf(o);
  });
  const rank = (v: unknown) => wanted.findIndex((w) => jsonEqual(w, idOf(v)));
  const ordered = list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b));
  let next = 0;
  return list.map((v) => (rank(v) >= 0 ? ordered[next++] : v));
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Rec)[k], (b as Rec)[k]));
}
