/**
 * The schema description (src/api/schema/, what /openapi/v3 publishes and kubectl explain shows)
 * and the decoders (what the API accepts) must describe the same objects. For every kind the
 * decoders take, a manifest with every field of the schema is decoded while the FieldReader's calls
 * are recorded: each object the schema describes must be read by the decoder with exactly the
 * schema's field names as its known fields (a field one side has and the other lacks fails), each
 * object the decoder reads must be in the schema, and each scalar the decoder reads must have the
 * schema's type (and a closed set of values its enum).
 *
 * This file patches FieldReader's prototype while it decodes (restored after each decode), so it
 * runs in a process of its own (not in run-unit.ts's shared list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, FieldReader, OBJECT_API_VERSIONS, SCHEMA_TYPES, type SchemaTypeDef, type SchemaValueType } from '../../../src/api/index.js';

type Types = Readonly<Record<string, SchemaTypeDef>>;

interface Recorded {
  /** Object paths → the known field names the decoder passed. */
  objects: Map<string, Set<string>>;
  /** Scalar paths → the reader methods used, and the allowed values of oneOf. */
  scalars: Map<string, { methods: Set<string>; allowed?: readonly string[] }>;
}

const SCALAR_METHODS = ['string', 'requiredString', 'bool', 'int', 'list', 'stringList', 'intList', 'stringMap'] as const;

/** Decodes text while recording every FieldReader call. */
function recordDecode(text: string): Recorded {
  const rec: Recorded = { objects: new Map(), scalars: new Map() };
  const proto = FieldReader.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const saved = new Map<string, (...args: unknown[]) => unknown>();
  const scalar = (path: string, method: string, allowed?: readonly string[]) => {
    const e = rec.scalars.get(path) ?? { methods: new Set<string>() };
    e.methods.add(method);
    if (allowed) e.allowed = allowed;
    rec.scalars.set(path, e);
  };
  for (const m of [...SCALAR_METHODS, 'oneOf', 'object']) {
    const orig = proto[m];
    saved.set(m, orig);
    proto[m] = function (this: unknown, ...args: unknown[]) {
      const path = args[1] as string;
      if (m === 'object') {
        const known = rec.objects.get(path) ?? new Set<string>();
        for (const k of args[2] as string[]) known.add(k);
        rec.objects.set(path, known);
      } else scalar(path, m, m === 'oneOf' ? (args[2] as string[]) : undefined);
      return orig.apply(this, args);
    };
  }
  try {
    decodeObjects(text, 'schema-sample');
  } catch {
    // Sample values break rules (a mount path "a"); only which fields were read matters here.
  } finally {
    for (const [m, f] of saved) proto[m] = f;
  }
  return rec;
}

const at = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Values the sample manifests use where the first enum value would make the decoder skip a field. */
const SAMPLE_OVERRIDES: Readonly<Record<string, unknown>> = {
  'spec.sessionAffinity': 'ClientIP',
  'spec.template.spec.restartPolicy': 'OnFailure',
};

interface SchemaNode {
  /** The object type at this path. */
  type: string;
  /** Under a field the decoder accepts without reading (output or ignored). */
  unread: boolean;
}

/** A sample value with every field of `v`, filling `nodes` (object paths) and `leaves` (scalar paths → value type). */
function sample(types: Types, v: SchemaValueType, path: string, unread: boolean, nodes: Map<string, SchemaNode>, leaves: Map<string, { v: SchemaValueType; unread: boolean }>, depth = 0): unknown {
  if (depth > 12) return undefined;
  switch (v.type) {
    case 'string':
      leaves.set(path, { v, unread });
      return v.enum?.find((e) => e !== '') ?? 'a';
    case 'integer':
      leaves.set(path, { v, unread });
      return 1;
    case 'boolean':
      leaves.set(path, { v, unread });
      return true;
    case 'array':
      leaves.set(path, { v, unread });
      return [sample(types, v.items, `${path}[0]`, unread, nodes, leaves, depth + 1)];
    case 'map':
      leaves.set(path, { v, unread });
      return { a: sample(types, v.values, at(path, 'a'), unread, nodes, leaves, depth + 1) };
    case 'ref': {
      const t = types[v.name];
      if (t.scalar) {
        leaves.set(path, { v, unread });
        return v.name === 'Time' ? '2026-01-02T03:04:05Z' : t.scalar.intOrString ? 1 : '1';
      }
      nodes.set(path, { type: v.name, unread });
      const o: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(t.properties ?? {})) {
        const p = at(path, key);
        o[key] = sample(types, f.value, p, unread || !!f.output || !!f.ignored, nodes, leaves, depth + 1);
        if (p in SAMPLE_OVERRIDES) o[key] = SAMPLE_OVERRIDES[p];
      }
      return o;
    }
  }
}

/** How a scalar the decoder read compares with the schema's type at its path: undefined when they agree. */
function scalarMismatch(types: Types, v: SchemaValueType, methods: ReadonlySet<string>): string | undefined {
  let kind: string = v.type;
  if (v.type === 'ref') {
    const t = types[v.name];
    if (!t.scalar) kind = 'object';
    else if (t.scalar.intOrString) return undefined; // read by hand: a number or a string
    else kind = t.scalar.type;
  }
  const fits: Record<string, readonly string[]> = {
    string: ['string', 'requiredString', 'oneOf'],
    integer: ['int'],
    boolean: ['bool'],
    array: ['list', 'stringList', 'intList'],
    map: ['stringMap'],
    object: [],
  };
  const wrong = [...methods].filter((m) => !fits[kind].includes(m));
  return wrong.length > 0 ? `read as ${wrong.join('/')} but the schema says ${kind}` : undefined;
}

/** Every disagreement between the decoders and `types`, one line each. */
function disagreements(types: Types): string[] {
  const problems: string[] = [];
  for (const [kind, apiVersion] of Object.entries(OBJECT_API_VERSIONS)) {
    const nodes = new Map<string, SchemaNode>();
    const leaves = new Map<string, { v: SchemaValueType; unread: boolean }>();
    const manifest = sample(types, { type: 'ref', name: kind }, '', false, nodes, leaves) as Record<string, unknown>;
    Object.assign(manifest, { apiVersion, kind });
    const rec = recordDecode(JSON.stringify(manifest));
    const where = (p: string) => `${kind} ${p || '(top level)'}`;
    for (const [path, node] of nodes) {
      if (node.unread) continue;
      const known = rec.objects.get(path);
      const fields = Object.keys(types[node.type].properties ?? {});
      if (!known) {
        problems.push(`${where(path)}: the schema describes ${node.type} here, the decoder never reads it as an object`);
        continue;
      }
      for (const f of fields) if (!known.has(f)) problems.push(`${where(at(path, f))}: in the schema (${node.type}), not accepted by the decoder`);
      for (const f of known) if (!fields.includes(f)) problems.push(`${where(at(path, f))}: accepted by the decoder, missing from the schema (${node.type})`);
    }
    for (const path of rec.objects.keys()) {
      if (!nodes.has(path)) problems.push(`${where(path)}: the decoder reads an object the schema does not describe`);
    }
    for (const [path, { methods, allowed }] of rec.scalars) {
      const leaf = leaves.get(path);
      if (!leaf) {
        // A field the decoder reads as an object when given a mapping is checked above.
        if (!nodes.has(path)) problems.push(`${where(path)}: the decoder reads a field the schema does not describe`);
        continue;
      }
      if (leaf.unread) continue;
      const mismatch = scalarMismatch(types, leaf.v, methods);
      if (mismatch) problems.push(`${where(path)}: ${mismatch}`);
      if (allowed) {
        const schemaEnum = leaf.v.type === 'string' ? leaf.v.enum : undefined;
        const same = schemaEnum !== undefined && schemaEnum.length === allowed.length && allowed.every((a) => schemaEnum.includes(a));
        if (!same) problems.push(`${where(path)}: the decoder allows ${JSON.stringify(allowed)}, the schema's enum is ${JSON.stringify(schemaEnum ?? null)}`);
      }
    }
  }
  return problems;
}

test('the decoders accept exactly the fields, types and values the schema (and so /openapi/v3) describes', () => {
  assert.deepEqual(disagreements(SCHEMA_TYPES), []);
});

test('a field only the decoders know, or only the schema, is reported with its path', () => {
  const container = SCHEMA_TYPES.Container;
  const { tty: _dropped, ...rest } = container.properties ?? {};
  const mutated: Types = {
    ...SCHEMA_TYPES,
    Container: { ...container, properties: { ...rest, restartPolicy: { value: { type: 'string' }, description: 'not accepted by corelet' } } },
    DeploymentStrategy: { ...SCHEMA_TYPES.DeploymentStrategy, properties: { ...SCHEMA_TYPES.DeploymentStrategy.properties, type: { value: { type: 'string', enum: ['RollingUpdate'] }, description: 'x' } } },
  };
  const problems = disagreements(mutated);
  assert.ok(problems.includes('Pod spec.containers[0].tty: accepted by the decoder, missing from the schema (Container)'), problems.join('\n'));
  assert.ok(problems.includes('Pod spec.containers[0].restartPolicy: in the schema (Container), not accepted by the decoder'), problems.join('\n'));
  assert.ok(problems.includes('Deployment spec.strategy.type: the decoder allows ["RollingUpdate","Recreate"], the schema\'s enum is ["RollingUpdate"]'), problems.join('\n'));
});
