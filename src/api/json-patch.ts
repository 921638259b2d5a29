/**
 * RFC 6902 JSON patch (application/json-patch+json), pure: the operations add, remove, replace,
 * move, copy and test on RFC 6901 JSON pointers. kubectl sends one for `rollout undo` of a
 * Deployment (replace /spec/template and /metadata/annotations). Errors are InvalidArgument naming
 * the operation by its index and its path.
 */
import { invalidArgument } from '../lib/index.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "/a/b~1c/0" → ["a", "b/c", "0"]; "" is the whole document. */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalidArgument(`${JSON.stringify(pointer)} is not a JSON pointer: it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw invalidArgument(`${JSON.stringify(pointer)} is not a JSON pointer: "~" must be followed by 0 or 1`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** An array index token: a whole number without leading zeros (or "-" where allowed). */
function arrayIndex(token: string, length: number, forAdd: boolean, where: string): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw invalidArgument(`${where}: ${JSON.stringify(token)} is not an array index`);
  const i = Number(token);
  if (forAdd ? i > length : i >= length) throw invalidArgument(`${where}: index ${i} is out of range (the array has ${length} items)`);
  return i;
}

/** The container holding the pointer's last token; throws when a step on the way is missing. */
function parentOf(doc: Json, tokens: string[], where: string): Json {
  let at: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(at)) at = at[arrayIndex(t, at.length, false, where)]!;
    else if (isObject(at) && Object.hasOwn(at, t)) at = at[t]!;
    else throw invalidArgument(`${where}: the path does not exist (no ${JSON.stringify(t)})`);
  }
  return at;
}

function get(doc: Json, tokens: string[], where: string): Json {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, where)]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last]!;
  throw invalidArgument(`${where}: the path does not exist`);
}

/** Returns the new document (the whole one is replaced when tokens is empty). */
function add(doc: Json, tokens: string[], value: Json, where: string): Json {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, where), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw invalidArgument(`${where}: the parent is not an object or array`);
  return doc;
}

function remove(doc: Json, tokens: string[], where: string): Json {
  if (tokens.length === 0) throw invalidArgument(`${where}: the whole document cannot be removed`);
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false, where), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw invalidArgument(`${where}: the path does not exist`);
  return doc;
}

/**
 * Applies the patch (a JSON array of operations) to a copy of target and returns it; target is not
 * changed. Any failing operation fails the whole patch.
 */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw invalidArgument('a JSON patch must be a JSON array of operations, like [{"op": "replace", "path": "/spec/replicas", "value": 3}]');
  let doc = structuredClone(target) as Json;
  patch.forEach((op: unknown, i) => {
    if (!isObject(op)) throw invalidArgument(`patch[${i}]: an operation must be an object with "op" and "path"`);
    const name = op.op;
    if (typeof op.path !== 'string') throw invalidArgument(`patch[${i}].path: must be a string (a JSON pointer)`);
    const where = `patch[${i}] (${String(name)} ${op.path})`;
    const tokens = parseJsonPointer(op.path);
    const value = (): Json => {
      if (!Object.hasOwn(op, 'value')) throw invalidArgument(`${where}: "value" is missing`);
      return structuredClone(op.value!);
    };
    const from = (): string[] => {
      if (typeof op.from !== 'string') throw invalidArgument(`${where}: "from" must be a string (a JSON pointer)`);
      return parseJsonPointer(op.from);
    };
    switch (name) {
      case 'add':
        doc = add(doc, tokens, value(), where);
        break;
      case 'remove':
        doc = remove(doc, tokens, where);
        break;
      case 'replace':
        get(doc, tokens, where); // must exist
        doc = tokens.length === 0 ? value() : add(remove(doc, tokens, where), tokens, value(), where);
        break;
      case 'move': {
        const f = from();
        if (f.length < tokens.length && f.every((t, j) => t === tokens[j])) throw invalidArgument(`${where}: cannot move a value into itself`);
        const moved = get(doc, f, where);
        doc = add(remove(doc, f, where), tokens, moved, where);
        break;
      }
      case 'copy':
        doc = add(doc, tokens, structuredClone(get(doc, from(), where)), where);
        break;
      case 'test':
        if (!deepEqual(get(doc, tokens, where), value())) throw invalidArgument(`${where}: the test failed: the value differs`);
        break;
      default:
        throw invalidArgument(`patch[${i}].op: ${JSON.stringify(name)} is not one of add, remove, replace, move, copy, test`);
    }
  });
  return doc;
}
