/**
 * corelet's one schema description: every object type the API serves, by short name. The scheduler's
 * OpenAPI v3 documents are generated from it (componentSchemas); the decoders of src/api are checked
 * against it by test/unit/api/schema-decoders.test.ts.
 */
import { KINDS } from '../kinds.js';
import { CLUSTER_TYPES } from './cluster.js';
import { META_TYPES } from './meta.js';
import { POD_TYPES } from './pod.js';
import type { Field, TypeDef, ValueType } from './types.js';
import { WORKLOAD_TYPES } from './workloads.js';

export type { Field, TypeDef, ValueType } from './types.js';

/** Every type, by short name ("PodSpec"). */
export const SCHEMA_TYPES: Readonly<Record<string, TypeDef>> = { ...META_TYPES, ...POD_TYPES, ...WORKLOAD_TYPES, ...CLUSTER_TYPES };

/** The short name of a kind's root type: the kind itself ("Deployment"). Undefined for a kind without one. */
export function schemaTypeOfKind(kind: string): TypeDef | undefined {
  const t = SCHEMA_TYPES[kind];
  return t?.gvk?.kind === kind ? t : undefined;
}

/** The short names of the types a value refers to. */
function refsOf(v: ValueType): string[] {
  if (v.type === 'ref') return [v.name];
  if (v.type === 'array') return refsOf(v.items);
  if (v.type === 'map') return refsOf(v.values);
  return [];
}

/** The short names of every type reachable from `roots` (themselves included), in a stable order. */
export function reachableTypes(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const t = SCHEMA_TYPES[name];
    if (!t) throw new Error(`schema: unknown type ${name}`);
    seen.add(name);
    for (const f of Object.values(t.properties ?? {})) for (const r of refsOf(f.value)) visit(r);
  };
  roots.forEach(visit);
  return [...seen];
}

const refSchema = (name: string): Record<string, unknown> => ({ $ref: `#/components/schemas/${SCHEMA_TYPES[name].id}` });

function valueSchema(v: ValueType): Record<string, unknown> {
  switch (v.type) {
    case 'ref':
      return refSchema(v.name);
    case 'array':
      return { type: 'array', items: valueSchema(v.items) };
    case 'map':
      return { type: 'object', additionalProperties: valueSchema(v.values) };
    case 'string':
      return { type: 'string', ...(v.format ? { format: v.format } : {}), ...(v.enum ? { enum: [...v.enum] } : {}) };
    case 'integer':
      return { type: 'integer', format: v.format };
    case 'boolean':
      return { type: 'boolean' };
  }
}

function fieldSchema(f: Field): Record<string, unknown> {
  const inner = valueSchema(f.value);
  // As Kubernetes publishes them: a reference with a description of its own is wrapped in allOf.
  const out: Record<string, unknown> = f.value.type === 'ref' ? { allOf: [inner] } : inner;
  out.description = f.description;
  if (f.mergeKey) out['x-kubernetes-patch-merge-key'] = f.mergeKey;
  if (f.patchStrategy) out['x-kubernetes-patch-strategy'] = f.patchStrategy;
  if (f.listType) out['x-kubernetes-list-type'] = f.listType;
  if (f.listType === 'map' && f.mergeKey) out['x-kubernetes-list-map-keys'] = [f.mergeKey];
  return out;
}

/** A type of the description as an OpenAPI v3 schema (components.schemas entry). */
export function openApiSchemaOf(name: string): Record<string, unknown> {
  const t = SCHEMA_TYPES[name];
  if (t.scalar) {
    // Written as one of several JSON types: a oneOf without a type of its own, as Kubernetes publishes
    // quantities and IntOrString (kubectl explain then names the type: <map[string]Quantity>).
    const typed = t.scalar.oneOf ? { oneOf: t.scalar.oneOf.map((type) => ({ type })) } : { type: t.scalar.type };
    const s: Record<string, unknown> = { description: t.description, ...typed, ...(t.scalar.format ? { format: t.scalar.format } : {}) };
    if (t.scalar.intOrString) s['x-kubernetes-int-or-string'] = true;
    return s;
  }
  const props = t.properties ?? {};
  const required = Object.entries(props)
    .filter(([, f]) => f.required)
    .map(([k]) => k);
  return {
    description: t.description,
    type: 'object',
    properties: Object.fromEntries(Object.entries(props).map(([k, f]) => [k, fieldSchema(f)])),
    ...(required.length > 0 ? { required } : {}),
    ...(t.gvk ? { 'x-kubernetes-group-version-kind': [{ ...t.gvk }] } : {}),
  };
}

/** Problems of the description itself (an unknown reference, a kind without a root type): empty when sound. */
export function schemaProblems(): string[] {
  const problems: string[] = [];
  const ids = new Map<string, string>();
  for (const [name, t] of Object.entries(SCHEMA_TYPES)) {
    const other = ids.get(t.id);
    if (other) problems.push(`${name} and ${other} share the id ${t.id}`);
    ids.set(t.id, name);
    for (const [key, f] of Object.entries(t.properties ?? {})) for (const r of refsOf(f.value)) if (!SCHEMA_TYPES[r]) problems.push(`${name}.${key} refers to unknown type ${r}`);
  }
  for (const k of KINDS) if (!schemaTypeOfKind(k.kind)) problems.push(`kind ${k.kind} has no root type`);
  return problems;
}

/**
 * How a kind's fields merge in a strategic merge patch, from the description's merge keys and
 * strategies: a list with a merge key merges item by item on it (`items`: how an item's own fields
 * merge), a list merged without one is a set, anything else is replaced (lists) or merged key by
 * key (objects). Only what differs from those defaults is present.
 */
export interface PatchMergeNode {
  fields?: Record<string, PatchMergeNode>;
  merge?: boolean;
  mergeKey?: string;
  items?: PatchMergeNode;
}

function mergeNodeOfType(name: string, seen: ReadonlySet<string>): PatchMergeNode | undefined {
  const t = SCHEMA_TYPES[name];
  if (!t.properties || seen.has(name)) return undefined;
  const inner = new Set([...seen, name]);
  const fields: Record<string, PatchMergeNode> = {};
  for (const [key, f] of Object.entries(t.properties)) {
    const node = mergeNodeOfField(f, inner);
    if (node) fields[key] = node;
  }
  return Object.keys(fields).length > 0 ? { fields } : undefined;
}

function mergeNodeOfField(f: Field, seen: ReadonlySet<string>): PatchMergeNode | undefined {
  const v = f.value;
  if (v.type === 'ref') return mergeNodeOfType(v.name, seen);
  if (v.type !== 'array') return undefined;
  const items = v.items.type === 'ref' ? mergeNodeOfType(v.items.name, seen) : undefined;
  if (f.mergeKey) return { merge: true, mergeKey: f.mergeKey, ...(items ? { items } : {}) };
  if (f.patchStrategy?.split(',').includes('merge')) return { merge: true };
  return undefined;
}

/** The strategic merge description of a kind (undefined for a kind without a root type or merge rules). */
export function patchMergeNodeOf(kind: string): PatchMergeNode | undefined {
  return schemaTypeOfKind(kind) ? mergeNodeOfType(kind, new Set()) : undefined;
}

/** `base.key` as the decoders write paths (field-reader.ts). */
function childPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? (base ? `${base}.${key}` : key) : `${base}[${key}]`;
}

function unknownIn(v: ValueType, value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if (v.type === 'array') {
    if (Array.isArray(value)) value.forEach((item, i) => unknownIn(v.items, item, `${path}[${i}]`, out));
    return;
  }
  if (v.type === 'map') {
    if (typeof value === 'object' && !Array.isArray(value)) for (const [k, item] of Object.entries(value)) unknownIn(v.values, item, childPath(path, k), out);
    return;
  }
  if (v.type !== 'ref') return;
  const t = SCHEMA_TYPES[v.name];
  if (!t.properties || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value)) {
    const f = t.properties[key];
    const p = childPath(path, key);
    if (!f) out.push(p);
    else if (!f.output && !f.ignored) unknownIn(f.value, item, p, out);
  }
}

/**
 * The paths of an object's fields the description lacks ("spec.replicaz", "metadata.lables"), as the
 * decoders name them; fields the server sets (status, managedFields) and ignored ones are not looked
 * into. For writes whose result is not decoded whole (a patch re-decodes only the spec).
 */
export function unknownFieldPaths(kind: string, object: unknown): string[] {
  const out: string[] = [];
  if (schemaTypeOfKind(kind)) unknownIn({ type: 'ref', name: kind }, object, '', out);
  return out;
}
