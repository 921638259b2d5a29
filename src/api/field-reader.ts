/**
 * Typed access to a decoded YAML/JSON tree that collects problems instead of throwing, so one pass
 * over a manifest reports every error (and every unknown field) with its field path. As in Go's
 * JSON decoding, null means absent.
 */

/** "spec" + "containers" → "spec.containers"; "" + "spec" → "spec". */
export function fieldPath(base: string, key: string): string {
  // Map keys that are not plain identifiers (resource names like "nvidia.com/gpu") go in brackets.
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

/** "spec.containers" + 1 → "spec.containers[1]". */
export function indexPath(base: string, i: number): string {
  return `${base}[${i}]`;
}

/** How a value reads in an error: `string "80"`, `number 80`, `list`, `mapping`. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `number ${String(v)}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object' && v !== null) return 'mapping';
  return typeof v;
}

/** True for a plain mapping (not a list, not null). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets a key on a plain object without ever touching its prototype ("__proto__" as data). */
export function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Drops keys whose value is undefined, so decoded objects compare and serialize cleanly. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Collects errors and unknown-field warnings while reading typed fields. */
export class FieldReader {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  /** Records a validation error at path. */
  error(path: string, message: string): void {
    this.errors.push(path ? `${path}: ${message}` : message);
  }

  private wrongType(path: string, expected: string, v: unknown): undefined {
    const hint = expected === 'string' && (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') ? ' (quote it)' : '';
    this.error(path, `expected ${expected}, got ${describeValue(v)}${hint}`);
    return undefined;
  }

  /**
   * A mapping whose keys must be among known: others become "unknown field" warnings. Undefined when
   * absent or null; an error when not a mapping.
   */
  object(v: unknown, path: string, known: readonly string[]): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isMapping(v)) return this.wrongType(path, 'mapping', v);
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) this.warnings.push(`${fieldPath(path, key)}: unknown field`);
    }
    return v;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.wrongType(path, 'string', v);
  }

  /** A required, non-empty string. */
  requiredString(v: unknown, path: string): string | undefined {
    const s = this.string(v, path);
    if (s === '' || (s === undefined && (v === undefined || v === null))) this.error(path, 'required value');
    return s || undefined;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.wrongType(path, 'boolean', v);
  }

  /** An integer within [min, max] (int32 by default; pass Number.MAX_SAFE_INTEGER as max for "at least min"). */
  int(v: unknown, path: string, min = -2147483648, max = 2147483647): number | undefined {
    if (v === undefined || v === null) return undefined;
    let n: number;
    if (typeof v === 'bigint') n = Number(v);
    else if (typeof v === 'number' && Number.isInteger(v)) n = v;
    else return this.wrongType(path, 'integer', v);
    if (n < min || n > max) {
      // "At least min" fields still have a ceiling (what a double holds exactly): say which bound was crossed.
      if (max === Number.MAX_SAFE_INTEGER) this.error(path, n < min ? `must be greater than or equal to ${min}` : `must be less than or equal to ${max}`);
      else this.error(path, `must be between ${min} and ${max}, inclusive`);
      return undefined;
    }
    return n;
  }

  list(v: unknown, path: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    return Array.isArray(v) ? v : this.wrongType(path, 'list', v);
  }

  stringList(v: unknown, path: string): string[] | undefined {
    const items = this.list(v, path);
    if (!items) return undefined;
    const out: string[] = [];
    items.forEach((item, i) => {
      const s = typeof item === 'string' ? item : this.wrongType(indexPath(path, i), 'string', item);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  intList(v: unknown, path: string, min?: number, max?: number): number[] | undefined {
    const items = this.list(v, path);
    if (!items) return undefined;
    const out: number[] = [];
    items.forEach((item, i) => {
      const n = item === null ? this.wrongType(indexPath(path, i), 'integer', item) : this.int(item, indexPath(path, i), min, max);
      if (n !== undefined) out.push(n);
    });
    return out;
  }

  /** A mapping of string to string (labels, annotations, nodeSelector). */
  stringMap(v: unknown, path: string): Record<string, string> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isMapping(v)) return this.wrongType(path, 'mapping', v);
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(v)) {
      const s = typeof value === 'string' ? value : this.wrongType(fieldPath(path, key), 'string', value);
      if (s !== undefined) setEntry(out, key, s);
    }
    return out;
  }

  /** One of the allowed strings, or the default when absent. */
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], fallback: T): T;
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | undefined;
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], fallback?: T): T | undefined {
    const s = this.string(v, path);
    if (s === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(s)) {
      this.error(path, `unsupported value ${JSON.stringify(s)} (supported: ${allowed.map((a) => (a === '' ? '""' : a)).join(', ')})`);
      return fallback;
    }
    return s as T;
  }
}
