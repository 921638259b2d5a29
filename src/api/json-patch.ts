/**
 * RFC 6902 JSON patch (application/json-patch+json, what `kubectl patch --type json` sends): add,
 * remove, replace, move, copy and test, with RFC 6901 pointers. Pure: returns a new document; a
 * failing operation (a missing path, a failed test) throws InvalidArgument naming the operation.
 */
import { invalidArgument } from '../lib/index.js';

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

/** Applies the operations in order and returns the new document. */
export function jsonPatch(doc: unknown, ops: readonly unknown[]): unknown {
  const root = { doc };
  ops.forEach((op, i) => {
    const at = `JSON patch operation ${i}`;
    if (!isRec(op)) throw invalidArgument(`${at} must be an object like {"op": "replace", "path": "/spec/replicas", "value": 3}`);
    const path = tokens(op.path, at);
    const needValue = () => {
      if (!('value' in op)) throw invalidArgument(`${at} (${String(op.op)}) needs a value`);
      return structuredClone(op.value);
    };
    switch (op.op) {
      case 'add':
        add(root, path, needValue(), at);
        break;
      case 'remove':
        remove(root, path, at);
        break;
      case 'replace':
        get(root.doc, path, at);
        if (path.length === 0) root.doc = needValue();
        else {
          const value = needValue();
          const [c, t] = parentOf(root, path, at);
          if (Array.isArray(c)) c[Number(t)] = value;
          else c[t] = value;
        }
        break;
      case 'move':
      case 'copy': {
        const from = tokens(op.from, `${at}: from`);
        const value = op.op === 'move' ? remove(root, from, at) : structuredClone(get(root.doc, from, at));
        add(root, path, value, at);
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
