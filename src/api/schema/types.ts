/**
 * The shape of corelet's one schema description (schema/*.ts): every object type the API accepts,
 * its fields, their types and what they mean. The OpenAPI v3 documents of the scheduler's
 * /openapi/v3 are generated from it, and test/unit/api/schema-decoders.test.ts checks the decoders
 * of src/api against it, field by field (a field one side knows and the other does not fails it).
 */

/** A field's value: a scalar, another type of the description, a list or a string-keyed map. */
export type ValueType =
  | { readonly type: 'string'; readonly enum?: readonly string[]; readonly format?: 'date-time' | 'byte' }
  | { readonly type: 'integer'; readonly format: 'int32' | 'int64' }
  | { readonly type: 'boolean' }
  /** A type of the description, by its short name ("PodSpec", "Quantity"). */
  | { readonly type: 'ref'; readonly name: string }
  | { readonly type: 'array'; readonly items: ValueType }
  | { readonly type: 'map'; readonly values: ValueType };

/** One field of an object type. */
export interface Field {
  readonly value: ValueType;
  /** What the field means, in corelet's words (kubectl explain prints it). */
  readonly description: string;
  readonly required?: boolean;
  /**
   * Set by the server: a manifest may carry it (`kubectl get -o yaml` output applied back), the
   * decoder accepts the key and does not read what is inside.
   */
  readonly output?: boolean;
  /** Accepted for compatibility with Kubernetes manifests and not used by corelet (the decoder does not read it). */
  readonly ignored?: boolean;
  /** A list merged by this key in a strategic merge patch (x-kubernetes-patch-merge-key). */
  readonly mergeKey?: string;
  /** How a strategic merge patch treats a list ("merge") or a map ("replace"): x-kubernetes-patch-strategy. */
  readonly patchStrategy?: 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';
  /** x-kubernetes-list-type. */
  readonly listType?: 'atomic' | 'map' | 'set';
}

/** An object type ("PodSpec") or a named scalar ("Quantity", "Time", "IntOrString"). */
export interface TypeDef {
  /** The OpenAPI name, as Kubernetes spells it: io.k8s.api.core.v1.PodSpec. */
  readonly id: string;
  readonly description: string;
  /** The fields of an object type. */
  readonly properties?: Readonly<Record<string, Field>>;
  /** A named scalar: its OpenAPI schema (type and format). */
  readonly scalar?: {
    readonly type: 'string' | 'integer';
    readonly format?: string;
    readonly intOrString?: boolean;
    /** The JSON types it may be written as, when several (a quantity: "1Gi" or 1). */
    readonly oneOf?: readonly ('string' | 'integer' | 'number')[];
  };
  /** For a kind's root type: its group, version and kind. */
  readonly gvk?: { readonly group: string; readonly version: string; readonly kind: string };
}

export const str = (description: string, more: { enum?: readonly string[]; required?: boolean; output?: boolean; ignored?: boolean } = {}): Field => ({
  value: { type: 'string', ...(more.enum ? { enum: more.enum } : {}) },
  description,
  ...(more.required ? { required: true } : {}),
  ...(more.output ? { output: true } : {}),
  ...(more.ignored ? { ignored: true } : {}),
});
export const int32 = (description: string, more: { required?: boolean; output?: boolean } = {}): Field => ({ value: { type: 'integer', format: 'int32' }, description, ...more });
export const int64 = (description: string, more: { required?: boolean; output?: boolean } = {}): Field => ({ value: { type: 'integer', format: 'int64' }, description, ...more });
export const bool = (description: string, more: { output?: boolean; ignored?: boolean } = {}): Field => ({ value: { type: 'boolean' }, description, ...more });
export const ref = (name: string, description: string, more: { required?: boolean; output?: boolean; ignored?: boolean; patchStrategy?: Field['patchStrategy'] } = {}): Field => ({
  value: { type: 'ref', name },
  description,
  ...more,
});
export const listOf = (
  item: string | ValueType,
  description: string,
  more: { required?: boolean; output?: boolean; ignored?: boolean; mergeKey?: string; patchStrategy?: Field['patchStrategy']; listType?: Field['listType'] } = {},
): Field => ({ value: { type: 'array', items: typeof item === 'string' ? { type: 'ref', name: item } : item }, description, ...more });
export const stringList = (description: string, more: { required?: boolean; ignored?: boolean; listType?: Field['listType'] } = {}): Field => listOf({ type: 'string' }, description, { listType: 'atomic', ...more });
export const stringMap = (description: string): Field => ({ value: { type: 'map', values: { type: 'string' } }, description });
export const mapOf = (name: string, description: string): Field => ({ value: { type: 'map', values: { type: 'ref', name } }, description });
