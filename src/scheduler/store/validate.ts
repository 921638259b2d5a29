/**
 * Checks on everything entering the store (pure): kinds, names, namespaces, metadata, events. Each
 * failure is an InvalidArgument naming the object and the field.
 */
import { invalidArgument } from '../../lib/index.js';
import {
  checkDnsLabel,
  checkDnsSubdomain,
  checkLabelValue,
  checkQualifiedName,
  isRbacKind,
  rbacObjectProblems,
  type ObjectEvent,
} from '../../api/index.js';
import { STORE_KINDS, isNamespaced, isStoreKind, type ObjectInput, type StoreKind } from './kinds.js';

/** Kubernetes' own limit on one object (etcd's request size). */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
/** Kubernetes' event recorder cuts messages at this length. */
export const MAX_EVENT_MESSAGE = 1024;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Returns kind as a StoreKind, or throws naming the kinds the store knows. */
export function checkKind(kind: unknown): StoreKind {
  if (!isStoreKind(kind)) {
    throw invalidArgument(`unknown kind ${JSON.stringify(kind)}: the store holds ${STORE_KINDS.join(', ')}`);
  }
  return kind;
}

/** Namespaced kinds need an RFC 1123 label namespace; cluster-scoped ones need ''. */
export function checkNamespace(kind: StoreKind, namespace: unknown): string {
  if (typeof namespace !== 'string') throw invalidArgument(`${kind}: namespace must be a string`);
  if (!isNamespaced(kind)) {
    if (namespace !== '') throw invalidArgument(`${kind} is cluster-scoped: namespace must be empty, got "${namespace}"`);
    return namespace;
  }
  if (namespace === '') throw invalidArgument(`${kind} is namespaced: namespace must not be empty`);
  const problem = checkDnsLabel(namespace);
  if (problem) throw invalidArgument(`${kind}: invalid namespace "${namespace}": ${problem}`);
  return namespace;
}

/** Object names: RFC 1123 subdomains for every stored kind. */
export function checkName(kind: StoreKind, name: unknown): string {
  if (typeof name !== 'string' || name === '') throw invalidArgument(`${kind}: metadata.name is required`);
  // RBAC names are path segments, as in Kubernetes ("system:node").
  if (isRbacKind(kind) && kind !== 'ServiceAccount') {
    if (name === '.' || name === '..' || /[/%]/.test(name) || name.length > 253) throw invalidArgument(`${kind} "${name}": invalid metadata.name: may not be "." or "..", contain "/" or "%", or be longer than 253 characters`);
    return name;
  }
  const problem = checkDnsSubdomain(name);
  if (problem) throw invalidArgument(`${kind} "${name}": invalid metadata.name: ${problem}`);
  return name;
}

function checkStringMap(where: string, v: unknown, checkKey: (k: string) => string | undefined, checkValue?: (s: string) => string | undefined): void {
  if (v === undefined) return;
  if (!isRecord(v)) throw invalidArgument(`${where} must be a map of strings`);
  for (const [k, val] of Object.entries(v)) {
    const keyProblem = checkKey(k);
    if (keyProblem) throw invalidArgument(`${where}: invalid key "${k}": ${keyProblem}`);
    if (typeof val !== 'string') throw invalidArgument(`${where}["${k}"] must be a string`);
    const valueProblem = checkValue?.(val);
    if (valueProblem) throw invalidArgument(`${where}["${k}"]: invalid value "${val}": ${valueProblem}`);
  }
}

/**
 * Checks an object headed for create/update once its name and namespace are settled: kind field,
 * labels, annotations, ownerReferences, Pod spec.nodeName. `ref` is "Kind ns/name" for messages.
 */
export function checkObject(kind: StoreKind, obj: ObjectInput, ref: string): void {
  if (obj.kind !== undefined && obj.kind !== kind) throw invalidArgument(`${ref}: kind field is "${obj.kind}", expected "${kind}"`);
  if (obj.apiVersion !== undefined && typeof obj.apiVersion !== 'string') throw invalidArgument(`${ref}: apiVersion must be a string`);
  const m = obj.metadata;
  checkStringMap(`${ref}: metadata.labels`, m.labels, checkQualifiedName, checkLabelValue);
  checkStringMap(`${ref}: metadata.annotations`, m.annotations, checkQualifiedName);
  if (m.uid !== undefined && (typeof m.uid !== 'string' || m.uid === '')) throw invalidArgument(`${ref}: metadata.uid must be a non-empty string`);
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) throw invalidArgument(`${ref}: metadata.ownerReferences must be a list`);
    let controllers = 0;
    m.ownerReferences.forEach((o: unknown, i) => {
      const at = `${ref}: metadata.ownerReferences[${i}]`;
      if (!isRecord(o)) throw invalidArgument(`${at} must be an object`);
      for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
        if (typeof o[f] !== 'string' || o[f] === '') throw invalidArgument(`${at}.${f} must be a non-empty string`);
      }
      if (o.controller !== undefined && typeof o.controller !== 'boolean') throw invalidArgument(`${at}.controller must be a boolean`);
      if (o.controller === true) controllers++;
    });
    if (controllers > 1) throw invalidArgument(`${ref}: only one ownerReference may have controller: true`);
  }
  if (isRbacKind(kind)) {
    const problems = rbacObjectProblems(kind, obj as unknown as Record<string, unknown>, ref);
    if (problems.length > 0) throw invalidArgument(problems.join('; '));
  }
  if (kind === 'Pod') {
    const nodeName = podNodeName(obj);
    if (nodeName !== '') checkNodeName(nodeName, ref);
  }
}

/** A node name given to bindPod or in a Pod's spec.nodeName. */
export function checkNodeName(nodeName: unknown, ref: string): string {
  if (typeof nodeName !== 'string' || nodeName === '') throw invalidArgument(`${ref}: node name must be a non-empty string`);
  const problem = checkDnsSubdomain(nodeName);
  if (problem) throw invalidArgument(`${ref}: invalid node name "${nodeName}": ${problem}`);
  return nodeName;
}

/** A Pod's spec.nodeName, '' when unbound (or when the spec is missing). */
export function podNodeName(obj: unknown): string {
  const spec = isRecord(obj) ? obj.spec : undefined;
  const nodeName = isRecord(spec) ? spec.nodeName : undefined;
  return nodeName === undefined || nodeName === null ? '' : (nodeName as string);
}

/** Checks an event and returns a copy with a trimmed message and defaults filled in. */
export function checkEvent(e: ObjectEvent): ObjectEvent {
  if (!isRecord(e)) throw invalidArgument('event must be an object');
  if (e.type !== 'Normal' && e.type !== 'Warning') throw invalidArgument(`event type must be Normal or Warning, got ${JSON.stringify(e.type)}`);
  if (typeof e.reason !== 'string' || e.reason === '' || e.reason.length > 128) {
    throw invalidArgument('event reason must be a non-empty string of at most 128 characters');
  }
  if (typeof e.message !== 'string') throw invalidArgument('event message must be a string');
  const io: unknown = e.involvedObject;
  if (!isRecord(io) || typeof io.kind !== 'string' || io.kind === '' || typeof io.name !== 'string' || io.name === '') {
    throw invalidArgument('event involvedObject needs a kind and a name');
  }
  for (const f of ['namespace', 'uid'] as const) {
    if (io[f] !== undefined && typeof io[f] !== 'string') throw invalidArgument(`event involvedObject.${f} must be a string`);
  }
  for (const f of ['firstTimestamp', 'lastTimestamp'] as const) {
    if (typeof e[f] !== 'string' || Number.isNaN(Date.parse(e[f]))) throw invalidArgument(`event ${f} must be an RFC 3339 time`);
  }
  if (!Number.isInteger(e.count) || e.count < 1) throw invalidArgument('event count must be a positive integer');
  if (e.source !== undefined && (!isRecord(e.source) || typeof e.source.component !== 'string')) {
    throw invalidArgument('event source needs a component');
  }
  return { ...e, message: e.message.slice(0, MAX_EVENT_MESSAGE) };
}

/**
 * Whether two JSON values are equal as JSON: key order does not matter, and undefined-valued keys
 * count as absent (as JSON.stringify leaves them out). Values JSON cannot hold exactly (undefined or
 * a function in an array, NaN, an object with toJSON) are compared by their JSON text.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b);
  if (typeof (a as { toJSON?: unknown }).toJSON === 'function' || typeof (b as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x: unknown = a[i];
      const y: unknown = b[i];
      // In an array, JSON writes undefined (and functions) as null.
      if (x === undefined || y === undefined || typeof x === 'function' || typeof y === 'function') {
        if (JSON.stringify([x]) !== JSON.stringify([y])) return false;
      } else if (!jsonEqual(x, y)) return false;
    }
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let keysA = 0;
  for (const k in ra) {
    if (!Object.prototype.hasOwnProperty.call(ra, k) || ra[k] === undefined || typeof ra[k] === 'function') continue;
    keysA++;
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !jsonEqual(ra[k], rb[k])) return false;
  }
  let keysB = 0;
  for (const k in rb) {
    if (Object.prototype.hasOwnProperty.call(rb, k) && rb[k] !== undefined && typeof rb[k] !== 'function') keysB++;
  }
  return keysA === keysB;
}
