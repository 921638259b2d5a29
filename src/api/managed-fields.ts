/**
 * Field ownership as server-side apply keeps it in metadata.managedFields: each manager's set of
 * fields (FieldsV1: `f:spec` → `f:replicas`, keyed list items as `k:{"name":"app"}` with `.` for the
 * item itself, set members as `v:"x"`), who applied (operation Apply) and who wrote otherwise
 * (Update). Pure: {@link applyConfiguration} merges an applied configuration into an object and its
 * owners, or reports the conflicts; {@link recordUpdate} gives the fields a write changed to its
 * manager. The lists' keys come from api/strategic-merge.ts.
 */
import { invalidArgument } from '../lib/index.js';
import { patchSchemaOf, strategicMergePatch, type PatchNode } from './strategic-merge.js';

/** A set of fields in the FieldsV1 format: each key a path segment, leaves {}. */
export interface FieldsV1 {
  [segment: string]: FieldsV1;
}

/** One element of metadata.managedFields. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
  subresource?: string;
}

/** A field another manager owns with a different value than the applied one. */
export interface FieldConflict {
  manager: string;
  subresource?: string;
  /** As kube-apiserver prints it: .spec.template.spec.containers[name="app"].image */
  field: string;
}

/** Thrown by {@link applyConfiguration} when fields conflict and force is off. */
export class ApplyConflictError extends Error {
  constructor(
    readonly conflicts: readonly FieldConflict[],
    apiVersion: string,
  ) {
    const lines = conflicts.map((c) => `conflict with "${c.manager}"${c.subresource ? ` with subresource "${c.subresource}"` : ''} using ${apiVersion}: ${c.field}`);
    super(`Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${lines.join('\n')}`);
  }
}

type Rec = Record<string, unknown>;
type Path = readonly string[];
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const pathKey = (p: Path) => JSON.stringify(p);
const ROOT_SKIPPED = new Set(['apiVersion', 'kind', 'status', 'metadata']);
const META_TRACKED = new Set(['labels', 'annotations', 'finalizers', 'ownerReferences']);

/** The leaf fields an object sets (status, identity and server-kept metadata are not owned). */
export function fieldPaths(obj: unknown, kind: string): Path[] {
  const out: Path[] = [];
  if (!isRec(obj)) return out;
  const schema = patchSchemaOf(kind);
  for (const [k, v] of Object.entries(obj)) {
    if (ROOT_SKIPPED.has(k)) continue;
    walk(v, schema.fields?.[k], [`f:${k}`], out);
  }
  if (isRec(obj.metadata)) {
    for (const [k, v] of Object.entries(obj.metadata)) {
      if (META_TRACKED.has(k)) walk(v, schema.fields?.metadata?.fields?.[k], ['f:metadata', `f:${k}`], out);
    }
  }
  return out;
}

function itemSegment(item: unknown, key: string): string {
  return `k:${JSON.stringify({ [key]: isRec(item) ? item[key] : undefined })}`;
}

function walk(v: unknown, node: PatchNode | undefined, prefix: string[], out: Path[]): void {
  if (isRec(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) out.push(prefix);
    for (const k of keys) walk(v[k], node?.fields?.[k], [...prefix, `f:${k}`], out);
  } else if (Array.isArray(v) && node?.merge && v.length > 0) {
    for (const item of v) {
      if (node.mergeKey !== undefined) {
        const seg = itemSegment(item, node.mergeKey);
        out.push([...prefix, seg, '.']);
        if (isRec(item)) for (const k of Object.keys(item)) walk(item[k], node.items?.fields?.[k], [...prefix, seg, `f:${k}`], out);
      } else out.push([...prefix, `v:${JSON.stringify(item)}`]);
    }
  } else out.push(prefix);
}

/** Leaf paths → the FieldsV1 tree. */
export function toFieldsV1(paths: Iterable<Path>): FieldsV1 {
  const root: FieldsV1 = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p) node = node[seg] ??= {};
  }
  return root;
}

/** The FieldsV1 tree → its leaf paths. */
export function fromFieldsV1(tree: unknown): Path[] {
  const out: Path[] = [];
  const visit = (node: unknown, prefix: string[]) => {
    if (!isRec(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && prefix.length > 0) out.push(prefix);
    for (const k of keys) visit(node[k], [...prefix, k]);
  };
  visit(tree, []);
  return out;
}

/** The value at a path (undefined when absent); `.` is the list item itself. */
function valueAt(obj: unknown, path: Path): unknown {
  let v: unknown = obj;
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) v = isRec(v) ? v[seg.slice(2)] : undefined;
    else if (seg.startsWith('k:')) {
      const want = JSON.parse(seg.slice(2)) as Rec;
      v = Array.isArray(v) ? v.find((item) => isRec(item) && Object.entries(want).every(([k, w]) => JSON.stringify(item[k]) === JSON.stringify(w))) : undefined;
    } else if (seg.startsWith('v:')) {
      const want = seg.slice(2);
      v = Array.isArray(v) && v.some((item) => JSON.stringify(item) === want) ? JSON.parse(want) : undefined;
    } else return undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/**
 * True when two objects hold the same value at a path (both absent included), empty maps and lists
 * counting as absent: the decoder writes `labels: {}` or `env: []` where a manifest had nothing, and
 * that is no change anyone made.
 */
export function sameValueAt(a: unknown, b: unknown, path: Path): boolean {
  return JSON.stringify(sparse(valueAt(a, path))) === JSON.stringify(sparse(valueAt(b, path)));
}

/** The value without empty maps, empty lists and nulls (undefined when nothing is left). */
function sparse(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((x) => sparse(x) ?? null);
  if (isRec(v)) {
    const out: Rec = {};
    for (const [k, x] of Object.entries(v)) {
      const y = sparse(x);
      if (y !== undefined) out[k] = y;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

/** Removes the field at a path from obj (in place): a map key, a list item (`k:...` then `.`), a set member. */
function deleteAt(obj: Rec, path: Path): void {
  const last = path[path.length - 1];
  const itemPath = last === '.' ? path.slice(0, -1) : path;
  const parentPath = itemPath.slice(0, -1);
  const seg = itemPath[itemPath.length - 1];
  const parent = parentPath.length === 0 ? obj : valueAt(obj, parentPath);
  if (seg.startsWith('f:') && isRec(parent)) delete parent[seg.slice(2)];
  else if ((seg.startsWith('k:') || seg.startsWith('v:')) && Array.isArray(parent)) {
    const item = valueAt(parent, [seg]);
    const i = parent.findIndex((x) => JSON.stringify(x) === JSON.stringify(item));
    if (i >= 0) parent.splice(i, 1);
  }
}

/** `.spec.template.spec.containers[name="app"].image`, as kube-apiserver names a field. */
export function describeField(path: Path): string {
  let s = '';
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) s += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) s += `[${Object.entries(JSON.parse(seg.slice(2)) as Rec).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    else if (seg.startsWith('v:')) s += `[${seg.slice(2)}]`;
  }
  return s;
}

function entriesOf(obj: unknown): ManagedFieldsEntry[] {
  const m = isRec(obj) && isRec(obj.metadata) ? obj.metadata.managedFields : undefined;
  return Array.isArray(m) ? (m.filter((e) => isRec(e) && typeof e.manager === 'string') as ManagedFieldsEntry[]) : [];
}

const sameEntry = (e: ManagedFieldsEntry, manager: string, operation: string, subresource?: string) =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

/** What an apply produces: the merged object (metadata.managedFields set) or the conflicts. */
export interface ApplyResult {
  object: Rec;
}

/**
 * Merges an applied configuration (server-side apply) into live (undefined: the object is new).
 * Fields the manager applied before and no longer does are removed unless another manager owns them
 * too; fields another manager owns with a different value are conflicts (ApplyConflictError) unless
 * force, which takes them over. Returns the new object with its managedFields.
 */
export function applyConfiguration(live: Rec | undefined, applied: Rec, opts: { kind: string; manager: string; force: boolean; apiVersion: string; time: string }): ApplyResult {
  const { kind, manager, force, apiVersion, time } = opts;
  if (!manager) throw invalidArgument('fieldManager is required for apply requests (kubectl sends --field-manager, "kubectl" by default)');
  const appliedPaths = fieldPaths(applied, kind);
  const appliedKeys = new Set(appliedPaths.map(pathKey));
  let entries = entriesOf(live).map((e) => ({ ...e }));
  const conflicts: FieldConflict[] = [];
  const taken = new Map<ManagedFieldsEntry, Set<string>>();
  for (const entry of entries) {
    if (sameEntry(entry, manager, 'Apply')) continue;
    for (const p of fromFieldsV1(entry.fieldsV1)) {
      if (p[p.length - 1] === '.' || !appliedKeys.has(pathKey(p))) continue;
      if (sameValueAt(live, applied, p)) continue; // the same value: shared ownership
      conflicts.push({ manager: entry.manager, ...(entry.subresource ? { subresource: entry.subresource } : {}), field: describeField(p) });
      if (!taken.has(entry)) taken.set(entry, new Set());
      taken.get(entry)!.add(pathKey(p));
    }
  }
  if (conflicts.length > 0 && !force) throw new ApplyConflictError(conflicts, apiVersion);
  for (const [entry, keys] of taken) entry.fieldsV1 = toFieldsV1(fromFieldsV1(entry.fieldsV1).filter((p) => !keys.has(pathKey(p))));

  const previous = entries.find((e) => sameEntry(e, manager, 'Apply'));
  const othersOwn = new Set(entries.filter((e) => e !== previous).flatMap((e) => fromFieldsV1(e.fieldsV1).map(pathKey)));
  const merged: Rec = structuredClone(live ?? {});
  for (const p of previous ? fromFieldsV1(previous.fieldsV1) : []) {
    if (!appliedKeys.has(pathKey(p)) && !othersOwn.has(pathKey(p))) deleteAt(merged, p);
  }
  const result = strategicMergePatch(merged, withoutDirectives(applied), kind);
  const entry: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedPaths) };
  entries = previous ? entries.map((e) => (e === previous ? entry : e)) : [...entries, entry];
  setEntries(result, entries);
  return { object: result };
}

/** The applied config as a patch: the keys strategic merge reads as directives are refused. */
function withoutDirectives(v: Rec): Rec {
  const check = (x: unknown, at: string): void => {
    if (Array.isArray(x)) x.forEach((y, i) => check(y, `${at}[${i}]`));
    else if (isRec(x)) {
      for (const [k, y] of Object.entries(x)) {
        if (k.startsWith('$')) throw invalidArgument(`${at}.${k}: an applied configuration cannot carry patch directives`);
        check(y, `${at}.${k}`);
      }
    }
  };
  check(v, '');
  const { metadata, ...rest } = v;
  const m = isRec(metadata) ? Object.fromEntries(Object.entries(metadata).filter(([k]) => META_TRACKED.has(k))) : {};
  return { ...rest, metadata: m };
}

/** At most this many Update managers are kept, as kube-apiserver (the oldest are folded into one). */
export const MAX_UPDATE_MANAGERS = 10;
/** The manager the oldest Update entries are folded into (kube-apiserver's name). */
export const ANCIENT_CHANGES = 'ancient-changes';

function unionInto(into: Rec, from: unknown): void {
  if (!isRec(from)) return;
  for (const [k, v] of Object.entries(from)) {
    if (!isRec(into[k])) into[k] = {};
    unionInto(into[k] as Rec, v);
  }
}

/**
 * Caps the Update entries at MAX_UPDATE_MANAGERS as kube-apiserver does: when there are more, the
 * oldest (by time) are folded into one "ancient-changes" entry owning all their fields, so a client
 * that writes under ever new manager names cannot grow an object's managedFields without bound.
 * Apply entries are kept as they are.
 */
export function capUpdateManagers(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  const updates = entries.filter((e) => e.operation === 'Update');
  if (updates.length <= MAX_UPDATE_MANAGERS) return entries;
  const oldest = [...updates].sort((a, b) => (String(a.time) < String(b.time) ? -1 : String(a.time) > String(b.time) ? 1 : 0)).slice(0, updates.length - MAX_UPDATE_MANAGERS + 1);
  const folded = new Set(oldest);
  const fieldsV1: Rec = {};
  for (const e of oldest) unionInto(fieldsV1, e.fieldsV1);
  const newest = oldest[oldest.length - 1];
  const ancient: ManagedFieldsEntry = { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: newest.apiVersion, time: newest.time, fieldsType: 'FieldsV1', fieldsV1: fieldsV1 as FieldsV1 };
  return [ancient, ...entries.filter((e) => !folded.has(e))];
}

function setEntries(obj: Rec, entries: ManagedFieldsEntry[]): void {
  const kept = capUpdateManagers(entries.filter((e) => Object.keys(e.fieldsV1).length > 0));
  const metadata = isRec(obj.metadata) ? obj.metadata : (obj.metadata = {});
  // An empty list (not an absent one) tells the store to clear them.
  (metadata as Rec).managedFields = kept;
}

/**
 * A write other than apply (create, update, patch): the fields it set or changed become its
 * manager's (operation Update) and stop being anyone else's; the fields it removed stop being
 * anyone's. Sets after.metadata.managedFields (in place) and returns after. One walk over both
 * objects, comparing as it goes (a write changes a few fields of a big object, many times a second).
 */
export function recordUpdate<T extends object>(before: unknown, after: T, opts: { kind: string; manager: string; apiVersion: string; time: string; subresource?: string }): T {
  const { kind, manager, apiVersion, time, subresource } = opts;
  const changed: Path[] = [];
  const removed: Path[] = [];
  const schema = patchSchemaOf(kind);
  const b = isRec(before) ? before : {};
  const a = after as Rec;
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  for (const k of keys) if (!ROOT_SKIPPED.has(k)) diff(b[k], a[k], schema.fields?.[k], [`f:${k}`], changed, removed);
  const bm = isRec(b.metadata) ? b.metadata : {};
  const am = isRec(a.metadata) ? a.metadata : {};
  for (const k of META_TRACKED) diff(bm[k], am[k], schema.fields?.metadata?.fields?.[k], ['f:metadata', `f:${k}`], changed, removed);
  let entries = entriesOf(before);
  if (changed.length > 0 || removed.length > 0) {
    entries = entries.map((e) => {
      const tree = structuredClone(e.fieldsV1 ?? {});
      for (const p of changed) deletePath(tree, p);
      for (const p of removed) deletePath(tree, p);
      return { ...e, fieldsV1: tree };
    });
  }
  if (changed.length > 0) {
    const own = entries.find((e) => sameEntry(e, manager, 'Update', subresource));
    const mine = own ? own.fieldsV1 : {};
    for (const p of changed) addPath(mine, p);
    const entry: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: mine, ...(subresource ? { subresource } : {}) };
    entries = own ? entries.map((e) => (e === own ? entry : e)) : [...entries, entry];
  }
  setEntries(a, entries);
  return after;
}

/** The leaves of one value (what walk() lists), each added to out. */
function leaves(v: unknown, node: PatchNode | undefined, prefix: string[], out: Path[]): void {
  if (v !== undefined) walk(v, node, prefix, out);
}

/** The fields that differ between two values of one field: set or changed in after, removed from before. */
function diff(before: unknown, after: unknown, node: PatchNode | undefined, prefix: string[], changed: Path[], removed: Path[]): void {
  if (before === after) return;
  if (after === undefined) return leaves(before, node, prefix, removed);
  if (before === undefined) return leaves(after, node, prefix, changed);
  if (isRec(before) && isRec(after)) {
    const ka = Object.keys(after);
    const kb = Object.keys(before);
    if (ka.length === 0 || kb.length === 0) {
      if (ka.length !== kb.length) {
        leaves(before, node, prefix, removed);
        leaves(after, node, prefix, changed);
      }
      return;
    }
    for (const k of ka) diff(before[k], after[k], node?.fields?.[k], [...prefix, `f:${k}`], changed, removed);
    for (const k of kb) if (!(k in after)) leaves(before[k], node?.fields?.[k], [...prefix, `f:${k}`], removed);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && node?.merge && before.length > 0 && after.length > 0) {
    const key = node.mergeKey;
    const id = (item: unknown) => (key !== undefined ? itemSegment(item, key) : `v:${JSON.stringify(item)}`);
    const old = new Map(before.map((item) => [id(item), item]));
    const seen = new Set<string>();
    for (const item of after) {
      const seg = id(item);
      seen.add(seg);
      const was = old.get(seg);
      if (key === undefined) {
        if (!old.has(seg)) changed.push([...prefix, seg]);
      } else if (was === undefined) leaves([item], node, prefix, changed);
      else if (isRec(was) && isRec(item)) {
        const fields = new Set([...Object.keys(was), ...Object.keys(item)]);
        for (const k of fields) diff(was[k], item[k], node.items?.fields?.[k], [...prefix, seg, `f:${k}`], changed, removed);
      }
    }
    for (const [seg, item] of old) if (!seen.has(seg)) leaves([item], node, prefix, removed);
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    leaves(before, node, prefix, removed);
    leaves(after, node, prefix, changed);
  }
}

/** Removes a path (and what is under it) from a FieldsV1 tree, and the parents it leaves empty. */
function deletePath(tree: FieldsV1, path: Path): void {
  const trail: FieldsV1[] = [tree];
  for (const seg of path.slice(0, -1)) {
    const next = trail[trail.length - 1][seg];
    if (next === undefined) return;
    trail.push(next);
  }
  const last = path[path.length - 1];
  if (!(last in trail[trail.length - 1])) return;
  delete trail[trail.length - 1][last];
  for (let i = trail.length - 1; i > 0 && Object.keys(trail[i]).length === 0; i--) delete trail[i - 1][path[i - 1]];
}

function addPath(tree: FieldsV1, path: Path): void {
  let node = tree;
  for (const seg of path) node = node[seg] ??= {};
}
