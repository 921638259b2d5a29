/**
 * What the status subresource may store (PUT/PATCH <resource>/NAME/status): the status of a kind is
 * checked against its type in the schema description (schema/*.ts): each known field of the right
 * JSON type (strings, enums such as a Pod's phase or a condition's status, integers, lists, objects,
 * times), every count a non-negative integer, as kube-apiserver's Validate*StatusUpdate do. Fields the
 * description lacks are left as they are except the ones the controllers and printers read
 * (a Pod's containerStatuses), checked here by hand. Pure; the problems name the field.
 */
import { SCHEMA_TYPES, schemaTypeOfKind, type ValueType } from './schema/index.js';

const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

function checkValue(v: ValueType, value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  switch (v.type) {
    case 'string':
      if (typeof value !== 'string') out.push(`${path}: must be a string, got ${shown(value)}`);
      else if (v.enum && !v.enum.includes(value)) out.push(`${path}: Unsupported value ${shown(value)}: supported values: ${v.enum.map((e) => `"${e}"`).join(', ')}`);
      else if (v.format === 'date-time' && Number.isNaN(Date.parse(value))) out.push(`${path}: must be an RFC 3339 time, got ${shown(value)}`);
      return;
    case 'integer':
      // Every integer of a status is a count, a generation or a time in seconds: never negative.
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) out.push(`${path}: must be an integer of 0 or more, got ${shown(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: must be true or false, got ${shown(value)}`);
      return;
    case 'array':
      if (!Array.isArray(value)) out.push(`${path}: must be a list, got ${shown(value)}`);
      else value.forEach((item, i) => checkValue(v.items, item, `${path}[${i}]`, out));
      return;
    case 'map':
      if (!isRec(value)) out.push(`${path}: must be an object, got ${shown(value)}`);
      else for (const [k, item] of Object.entries(value)) checkValue(v.values, item, `${path}[${k}]`, out);
      return;
    case 'ref': {
      const t = SCHEMA_TYPES[v.name];
      if (t?.scalar) {
        const ok = t.scalar.oneOf ? t.scalar.oneOf.some((j) => (j === 'integer' ? Number.isSafeInteger(value) : typeof value === j)) : t.scalar.type === 'integer' ? Number.isSafeInteger(value) : typeof value === 'string';
        if (!ok) out.push(`${path}: must be ${t.scalar.oneOf ? t.scalar.oneOf.join(' or ') : `a ${t.scalar.type}`}, got ${shown(value)}`);
        else if (t.scalar.format === 'date-time' && typeof value === 'string' && Number.isNaN(Date.parse(value))) out.push(`${path}: must be an RFC 3339 time, got ${shown(value)}`);
        return;
      }
      if (!isRec(value)) {
        out.push(`${path}: must be an object, got ${shown(value)}`);
        return;
      }
      for (const [key, item] of Object.entries(value)) {
        const f = t?.properties?.[key];
        if (f) checkValue(f.value, item, `${path}.${key}`, out);
      }
      return;
    }
  }
}

const CONTAINER_STATE: ValueType = { type: 'map', values: { type: 'map', values: { type: 'string' } } };

/** A Pod's container statuses (not in the description): what `kubectl get pods` and the controllers read. */
function checkContainerStatuses(value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if (!Array.isArray(value)) {
    out.push(`${path}: must be a list, got ${shown(value)}`);
    return;
  }
  value.forEach((c, i) => {
    const at = `${path}[${i}]`;
    if (!isRec(c)) {
      out.push(`${at}: must be an object, got ${shown(c)}`);
      return;
    }
    if (typeof c.name !== 'string' || c.name === '') out.push(`${at}.name: Required value: a container name`);
    for (const key of ['image', 'imageID', 'containerID']) checkValue({ type: 'string' }, c[key], `${at}.${key}`, out);
    for (const key of ['ready', 'started']) checkValue({ type: 'boolean' }, c[key], `${at}.${key}`, out);
    checkValue({ type: 'integer', format: 'int32' }, c.restartCount, `${at}.restartCount`, out);
    for (const key of ['state', 'lastState']) {
      const s = c[key];
      if (s === undefined || s === null) continue;
      if (!isRec(s)) out.push(`${at}.${key}: must be an object, got ${shown(s)}`);
      else
        for (const [phase, detail] of Object.entries(s)) {
          // running/waiting/terminated: objects of strings and numbers (exitCode, signal).
          if (!isRec(detail)) out.push(`${at}.${key}.${phase}: must be an object, got ${shown(detail)}`);
          else for (const [k, d] of Object.entries(detail)) if (d !== null && typeof d !== 'string' && typeof d !== 'number') checkValue(CONTAINER_STATE, d, `${at}.${key}.${phase}.${k}`, out);
        }
    }
  });
}

/** The problems of a status a client wants stored for an object of kind (empty: it may be stored). */
export function statusProblems(kind: string, status: unknown): string[] {
  const out: string[] = [];
  if (status === undefined || status === null) return out;
  if (!isRec(status)) return [`status: must be an object, got ${shown(status)}`];
  const root = schemaTypeOfKind(kind);
  const field = root?.properties?.status;
  if (field) checkValue(field.value, status, 'status', out);
  if (kind === 'Pod') {
    checkContainerStatuses(status.containerStatuses, 'status.containerStatuses', out);
    checkContainerStatuses(status.initContainerStatuses, 'status.initContainerStatuses', out);
  }
  // Conditions everywhere (also of kinds the description has no status type for): objects with a string type and status.
  if (Array.isArray(status.conditions)) {
    status.conditions.forEach((c, i) => {
      if (!isRec(c)) return;
      if (typeof c.type !== 'string' || c.type === '') out.push(`status.conditions[${i}].type: Required value`);
      if (typeof c.status !== 'string') out.push(`status.conditions[${i}].status: Required value`);
    });
  } else if (status.conditions !== undefined && status.conditions !== null && !field) out.push(`status.conditions: must be a list, got ${shown(status.conditions)}`);
  return [...new Set(out)];
}
