/**
 * RFC 6902 JSON patch (application/json-patch+json, what `kubectl patch --type json` sends): add,
 * remove, replace, move, copy and test, with RFC 6901 pointers. Pure: returns a new document; a
 * failing operation (a missing path, a failed test) throws InvalidArgument naming the operation.
 *
 * Bounded as kube-apiserver bounds it (CVE-2019-11253): at most {@link MAX_JSON_PATCH_OPERATIONS}
 * operations (the caller answers 413), and the document never grows past `maxBytes`: the size of
 * every value an add/replace/copy/move puts in is counted (serialized once, before it is cloned)
 * and the operation is refused as soon as the result would pass the bound, so `copy` of a list into
 * itself cannot double the document n times.
 */
import { invalidArgument } from '../lib/index.js';

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

type Container = Record<string, unknown> | unknown[];
const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function tokens(pointer: unknown, at: string): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) throw invalidArgument(`${at}: path must be a JSON pointer like "/spec/replicas", got ${JSON.stringify(pointer)}`);
  return pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function get(doc: unknown, path: string[], at: string): unknown {
  let v = doc;
  for (const t of path) {
    if (Array.isArray(v) && /^(0|[1-9][0-9]*)$/.test(t) && Number(t) < v.length) v = v[Number(t)];
    else if (isRec(v) && Object.prototype.hasOwnProperty.call(v, t)) v = v[t];
    else throw invalidArgument(`${at}: no value at /${path.join('/')}`);
  }
  return v;
}

/** The container of the last token (cloned along the way so the input stays unchanged) and that token. */
function parentOf(root: { doc: unknown }, path: string[], at: string): [Container, string] {
  if (path.length === 0) throw invalidArgument(`${at}: the root cannot be the target here`);
  let holder: Record<string, unknown> = root as unknown as Record<string, unknown>;
  let key = 'doc';
  for (const t of path.slice(0, -1)) {
    const v = holder[key];
    const copy = Array.isArray(v) ? [...v] : isRec(v) ? { ...v } : undefined;
    if (copy === undefined) throw invalidArgument(`${at}: no object at the parent of /${path.join('/')}`);
    holder[key] = copy;
    holder = copy as Record<string, unknown>;
    key = t;
    if (Array.isArray(copy) && !(/^(0|[1-9][0-9]*)$/.test(t) && Number(t) < copy.length)) throw invalidArgument(`${at}: no item ${t} in the list at /${path.join('/')}`);
    if (isRec(copy) && !Object.prototype.hasOwnProperty.call(copy, t)) throw invalidArgument(`${at}: no value at the parent of /${path.join('/')}`);
  }
  const v = holder[key];
  const copy = Array.isArray(v) ? [...v] : isRec(v) ? { ...v } : undefined;
  if (copy === undefined) throw invalidArgument(`${at}: no object at the parent of /${path.join('/')}`);
  holder[key] = copy;
  return [copy, path[path.length - 1]];
}

function add(root: { doc: unknown }, path: string[], value: unknown, at: string): void {
  if (path.length === 0) {
    root.doc = value;
    return;
  }
  const [c, t] = parentOf(root, path, at);
  if (Array.isArray(c)) {
    const i = t === '-' ? c.length : /^(0|[1-9][0-9]*)$/.test(t) ? Number(t) : NaN;
    if (!(i >= 0 && i <= c.length)) throw invalidArgument(`${at}: index ${t} is out of the list's bounds`);
    c.splice(i, 0, value);
  } else c[t] = value;
}

function remove(root: { doc: unknown }, path: string[], at: string): unknown {
  get(root.doc, path, at);
  const [c, t] = parentOf(root, path, at);
  const old = Array.isArray(c) ? c[Number(t)] : c[t];
  if (Array.isArray(c)) c.splice(Number(t), 1);
  else delete c[t];
  return old;
}

/** What an add at path replaces (the whole document, or an object's existing member); undefined when it inserts. */
function replacedByAdd(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  let parent: unknown;
  try {
    parent = get(doc, path.slice(0, -1), '');
  } catch {
    return undefined;
  }
  const last = path[path.length - 1];
  return isRec(parent) && Object.prototype.hasOwnProperty.call(parent, last) ? parent[last] : undefined;
}

/** Applies the operations in order and returns the new document; it is never larger than maxBytes (serialized). */
export function jsonPatch(doc: unknown, ops: readonly unknown[], limits: { maxBytes?: number } = {}): unknown {
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) throw invalidArgument(`the JSON patch has ${ops.length} operations, more than the ${MAX_JSON_PATCH_OPERATIONS} allowed`);
  const maxBytes = limits.maxBytes ?? Infinity;
  const sizeOf = (v: unknown) => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));
  // An upper bound of the document's serialized size: what comes in is counted, what leaves is taken off.
  let size = maxBytes === Infinity ? 0 : sizeOf(doc);
  const root = { doc };
  ops.forEach((op, i) => {
    const at = `JSON patch operation ${i}`;
    if (!isRec(op)) throw invalidArgument(`${at} must be an object like {"op": "replace", "path": "/spec/replicas", "value": 3}`);
    const path = tokens(op.path, at);
    /** A copy of value, refused (before it is made) when adding it would take the document past maxBytes. */
    const grow = (value: unknown, leaving: unknown = undefined): unknown => {
      if (maxBytes === Infinity) return structuredClone(value);
      const text = JSON.stringify(value);
      if (text === undefined) return undefined;
      const next = size + Buffer.byteLength(text) - sizeOf(leaving);
      if (next > maxBytes) throw invalidArgument(`${at} (${String(op.op)}) would make the object larger than ${maxBytes} bytes, the limit of an object`);
      size = next;
      return JSON.parse(text) as unknown;
    };
    const needValue = (leaving?: unknown) => {
      if (!('value' in op)) throw invalidArgument(`${at} (${String(op.op)}) needs a value`);
      return grow(op.value, leaving);
    };
    switch (op.op) {
      case 'add':
        add(root, path, needValue(replacedByAdd(root.doc, path)), at);
        break;
      case 'remove':
        size -= maxBytes === Infinity ? 0 : sizeOf(remove(root, path, at));
        break;
      case 'replace': {
        const old = get(root.doc, path, at);
        if (path.length === 0) root.doc = needValue(old);
        else {
          const value = needValue(old);
          const [c, t] = parentOf(root, path, at);
          if (Array.isArray(c)) c[Number(t)] = value;
          else c[t] = value;
        }
        break;
      }
      case 'move': {
        const from = tokens(op.from, `${at}: from`);
        // Moved, not copied: the size does not change.
        add(root, path, remove(root, from, at), at);
        break;
      }
      case 'copy': {
        const from = tokens(op.from, `${at}: from`);
        add(root, path, grow(get(root.doc, from, at)), at);
        break;
      }
      case 'test':
        if (JSON.stringify(get(root.doc, path, at)) !== JSON.stringify(op.value)) throw invalidArgument(`${at}: test failed: the value at ${String(op.path)} is not ${JSON.stringify(op.value)}`);
        break;
      default:
        throw invalidArgument(`${at}: unknown op ${JSON.stringify(op.op)} (add, remove, replace, move, copy or test)`);
    }
  });
  return root.doc;
}
