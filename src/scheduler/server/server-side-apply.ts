/**
 * Server-side apply over the REST API (PATCH with Content-Type application/apply-patch+yaml, as
 * `kubectl apply --server-side` sends it): the applied configuration is read (YAML or JSON) and
 * checked against the URL, then merged into the stored object by api/managed-fields.ts, which keeps
 * metadata.managedFields. Every other write names its manager too (?fieldManager=, else the client's
 * User-Agent, as kube-apiserver derives it), so an apply that would change a field someone else set
 * is a 409 Conflict naming the field and its manager, unless ?force=true.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { applyConfiguration, ApplyConflictError, capUpdateManagers, describeField, fieldPaths, sameValueAt, type ManagedFieldsEntry } from '../../api/index.js';
import { failedPrecondition, invalidArgument, messageOf } from '../../lib/index.js';
import type { StoreKind, StoredObject } from '../store/index.js';

/** Who writes and how, from a request's query and headers. */
export interface WriteRequest {
  /** ?fieldManager= (required by apply, at most 128 characters). */
  fieldManager?: string;
  /** ?force=true: an apply takes over conflicting fields. */
  force: boolean;
  /** ?dryRun=All: the write is checked and answered, not stored. */
  dryRun?: boolean;
  /** The User-Agent's product ("kubectl" of "kubectl/v1.36.3 (linux/amd64) ..."). */
  userAgent?: string;
}

/** The annotation where kubectl apply (client-side) keeps the configuration it last applied. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The write parameters of a request. */
export function writeRequestOf(url: URL, headers: IncomingHttpHeaders): WriteRequest {
  const fieldManager = url.searchParams.get('fieldManager') ?? undefined;
  if (fieldManager !== undefined && (fieldManager.length > 128 || /[^\x20-\x7e]/.test(fieldManager))) {
    throw invalidArgument('fieldManager must be at most 128 printable characters');
  }
  const force = url.searchParams.get('force');
  if (force !== null && !['true', 'false', '1', '0', ''].includes(force)) throw invalidArgument(`force must be true or false, got ${JSON.stringify(force)}`);
  const dryRun = url.searchParams.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All')) throw invalidArgument(`dryRun: Unsupported value: ${JSON.stringify(dryRun.find((d) => d !== 'All'))}: supported values: "All"`);
  const agent = headers['user-agent']?.split('/')[0].trim();
  return {
    ...(fieldManager ? { fieldManager } : {}),
    force: force === 'true' || force === '1',
    ...(dryRun.length > 0 ? { dryRun: true } : {}),
    ...(agent ? { userAgent: agent.slice(0, 128) } : {}),
  };
}

/** The manager of a write other than apply: ?fieldManager=, else the User-Agent's product, else "unknown". */
export function updateManager(request: WriteRequest | undefined): string {
  return request?.fieldManager ?? request?.userAgent ?? 'unknown';
}

/** The applied configuration of a request body: one object of the URL's kind, name and namespace. */
export function appliedConfiguration(text: string, kind: StoreKind, apiVersion: string, ns: string, name: string): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = parseYaml(text);
  } catch (err) {
    throw invalidArgument(`the applied configuration is not valid YAML or JSON: ${messageOf(err)}`);
  }
  if (!isRecord(obj)) throw invalidArgument('the applied configuration must be one object (apiVersion, kind, metadata, ...)');
  if (obj.kind !== kind) throw invalidArgument(`the applied configuration's kind ${JSON.stringify(obj.kind)} does not match the URL's ${kind}`);
  if (obj.apiVersion !== apiVersion) throw invalidArgument(`the applied configuration's apiVersion ${JSON.stringify(obj.apiVersion)} is not ${apiVersion}`);
  const metadata = obj.metadata;
  if (!isRecord(metadata)) throw invalidArgument('the applied configuration needs metadata.name');
  if (metadata.name !== name) throw invalidArgument(`the applied configuration's metadata.name ${JSON.stringify(metadata.name)} does not match the URL's name "${name}"`);
  if (metadata.namespace !== undefined && metadata.namespace !== ns) {
    throw invalidArgument(`the applied configuration's metadata.namespace ${JSON.stringify(metadata.namespace)} does not match the URL's namespace "${ns}"`);
  }
  if (metadata.managedFields !== undefined) throw invalidArgument('metadata.managedFields must be empty in an applied configuration');
  return obj;
}

/**
 * The stored object (undefined: new) with the applied configuration merged in and its managed fields.
 * Conflicts: FailedPrecondition (409 Conflict) with kube-apiserver's message.
 */
export function serverSideApply(
  current: StoredObject | undefined,
  applied: Record<string, unknown>,
  opts: { kind: StoreKind; apiVersion: string; request: WriteRequest; time: string },
): StoredObject {
  const manager = opts.request.fieldManager;
  if (!manager) throw invalidArgument('PATCH, application/apply-patch+yaml: fieldManager is required for apply requests');
  const live = current ? structuredClone(current) : ({ apiVersion: opts.apiVersion, kind: opts.kind, metadata: { name: (applied.metadata as { name: string }).name } } as unknown as StoredObject);
  const run = (force: boolean) =>
    applyConfiguration(live as unknown as Record<string, unknown>, applied, { kind: opts.kind, manager, force, apiVersion: opts.apiVersion, time: opts.time }).object as unknown as StoredObject;
  try {
    return run(opts.request.force);
  } catch (err) {
    if (!(err instanceof ApplyConflictError)) throw err;
    // An object kubectl applied client-side, now applied by kubectl server-side: the fields its
    // last-applied configuration names, still holding the values it gave them, were the caller's
    // intent too, so they are taken over (as kube-apiserver's last-applied manager does).
    const lastApplied = manager === 'kubectl' ? lastAppliedFields(current, opts.kind) : undefined;
    if (lastApplied && err.conflicts.every((c) => lastApplied.has(c.field))) return run(true);
    throw failedPrecondition(err.message);
  }
}

/**
 * The fields (as conflicts name them) of the object's kubectl last-applied-configuration annotation
 * whose live value is still the one it applied, if there is such an annotation.
 */
function lastAppliedFields(current: StoredObject | undefined, kind: StoreKind): Set<string> | undefined {
  const text = current?.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return undefined;
  }
  return new Set(fieldPaths(lastApplied, kind).filter((p) => sameValueAt(lastApplied, current, p)).map(describeField));
}

/** The most managedFields entries a client may set (the server keeps at most 10 Update managers, one per Apply manager). */
const MAX_MANAGED_FIELDS_ENTRIES = 100;

/** metadata.managedFields as a patch sets them (kubectl moving client-side apply's fields to its apply manager). */
export function checkManagedFields(value: unknown, ref: string): ManagedFieldsEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidArgument(`${ref}: metadata.managedFields must be a list`);
  value.forEach((e, i) => {
    const at = `${ref}: metadata.managedFields[${i}]`;
    if (!isRecord(e) || typeof e.manager !== 'string' || e.manager === '') throw invalidArgument(`${at}.manager must be a non-empty string`);
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw invalidArgument(`${at}.operation must be Apply or Update`);
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1') throw invalidArgument(`${at}.fieldsType must be FieldsV1`);
    if (e.fieldsV1 !== undefined && !isRecord(e.fieldsV1)) throw invalidArgument(`${at}.fieldsV1 must be an object`);
  });
  if (value.length > MAX_MANAGED_FIELDS_ENTRIES) throw invalidArgument(`${ref}: metadata.managedFields has ${value.length} entries, more than the ${MAX_MANAGED_FIELDS_ENTRIES} accepted`);
  // As written by the server: at most MAX_UPDATE_MANAGERS Update entries.
  return capUpdateManagers(value as ManagedFieldsEntry[]);
}
