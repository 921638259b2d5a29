/**
 * Manifests for `corelet apply -f`: YAML (one or many documents) or JSON text holding Pods,
 * Deployments, StatefulSets, Jobs and DaemonSets (or a v1 List of them) → validated, defaulted
 * objects, the way the Kubernetes API server would accept them. Pod specs, in Pods and in templates,
 * go through the Pod decoder (pod-decode.ts). Every problem is reported with its field path; unknown
 * fields become warnings.
 */
import { invalidArgument } from '../lib/index.js';
import { FieldReader, compact, describeValue, fieldPath as at, indexPath as idx, isMapping } from './field-reader.js';
import { checkDnsLabel, checkDnsSubdomain, checkLabelValue, checkQualifiedName } from './names.js';
import {
  checkFormat,
  decodeAnnotations,
  decodeLabels,
  decodeManifest,
  decodeMeta,
  decodePod,
  decodeSpec,
  item,
  quantity,
} from './pod-decode.js';
import type { ObjectMeta } from './pod-types.js';
import { decodeNamespace } from './namespace.js';
import { decodeRbacObject } from './rbac-decode.js';
import { decodeEndpointSlice, decodeService } from './service-decode.js';
import { RBAC_API_VERSIONS, isRbacKind, type RbacKind } from './rbac-types.js';
import { apiVersionOf } from './kinds.js';
import { selectorMatches } from './label-selector.js';
import type {
  AccessMode,
  AnyObject,
  DaemonSetSpec,
  DaemonSetUpdateStrategy,
  Declared,
  DeclaredMeta,
  DeploymentSpec,
  DeploymentStrategy,
  IntOrPercent,
  Job,
  JobSpec,
  LabelSelector,
  LabelSelectorRequirement,
  ObjectKind,
  PersistentVolumeClaimTemplate,
  PodTemplateSpec,
  StatefulSetSpec,
  StatefulSetUpdateStrategy,
} from './workload-types.js';

/** What {@link decodeObjects} returns: the objects in file order, and one warning per unknown field. */
export interface DecodedObjects {
  objects: AnyObject[];
  warnings: string[];
}

/** The kinds a manifest may hold, in the order messages list them. */
const DECODED_KINDS: readonly ObjectKind[] = ['Pod', 'Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'Namespace', 'Service', 'EndpointSlice', ...(Object.keys(RBAC_API_VERSIONS) as RbacKind[])];

/** The apiVersion each accepted kind is served under (the kind registry's, api/kinds.ts). */
export const OBJECT_API_VERSIONS: Readonly<Record<ObjectKind, string>> = Object.fromEntries(DECODED_KINDS.map((k) => [k, apiVersionOf(k)])) as Record<ObjectKind, string>;

/** Labels the API server puts on a Job's pods (both the current and the legacy spelling). */
export const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'] as const;
export const JOB_CONTROLLER_UID_LABELS = ['batch.kubernetes.io/controller-uid', 'controller-uid'] as const;

const KINDS = Object.keys(OBJECT_API_VERSIONS) as ObjectKind[];
const WORKLOAD_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const ACCESS_MODES: readonly AccessMode[] = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
const PERCENT_RE = /^[0-9]+%$/;

/**
 * Decodes every object in a manifest: YAML documents separated by "---" (JSON is YAML too), each a
 * Pod (v1), Deployment, StatefulSet, DaemonSet (apps/v1), Job (batch/v1), or a v1 List of those.
 * Validates as the API server does and fills in its defaults (namespace "default", replicas 1,
 * RollingUpdate 25%/25%, revisionHistoryLimit 10, backoffLimit 6, the Pod defaults in templates, ...).
 * metadata.uid is kept only when the manifest has one (the store assigns uids); status is dropped.
 * `source` names the input in messages. Throws ManifestError (see {@link decodeManifest}) listing every problem of every document.
 */
export function decodeObjects(text: string, source: string): DecodedObjects {
  const { items: objects, warnings } = decodeManifest(
    text,
    source,
    (r, value) => decodeDocument(r, value, source),
    (object) => `${object.kind} "${object.metadata.namespace}/${object.metadata.name}"`,
  );
  return { objects, warnings };
}

/**
 * An IntOrPercent as a count of `total`, as Kubernetes scales maxSurge (roundUp true) and
 * maxUnavailable (roundUp false): "25%" of 10 is 3 rounded up, 2 rounded down. Integers are returned
 * as they are. Throws InvalidArgument for a string that is not "<digits>%".
 */
export function resolveIntOrPercent(value: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (!PERCENT_RE.test(value)) throw invalidArgument(`invalid value ${JSON.stringify(value)}: must be an integer or a percentage (e.g. "25%")`);
  // Exact for any int32 percent and total: the product stays far below 2^53.
  const scaled = (Number(value.slice(0, -1)) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/**
 * The Job with the selector the API server generates once the Job has its uid: template labels
 * controller-uid (both spellings) and a selector on batch.kubernetes.io/controller-uid, so pods of an
 * earlier Job of the same name are never adopted. A Job with manualSelector is returned unchanged.
 */
export function withJobSelector<T extends Declared<Job> | Job>(job: T, uid: string): T {
  if (job.spec.manualSelector) return job;
  const labels = { ...job.spec.template.metadata.labels };
  for (const key of JOB_CONTROLLER_UID_LABELS) if (!(key in labels)) labels[key] = uid;
  return {
    ...job,
    spec: {
      ...job.spec,
      selector: { matchLabels: { [JOB_CONTROLLER_UID_LABELS[0]]: uid } },
      template: { ...job.spec.template, metadata: { ...job.spec.template.metadata, labels } },
    },
  };
}

function decodeDocument(r: FieldReader, value: unknown, source: string): { item: AnyObject; path: string }[] {
  if (!isMapping(value)) {
    r.error('', `expected a mapping with apiVersion and kind, got ${describeValue(value)}`);
    return [];
  }
  const kind = checkKind(r, value, '', true);
  if (kind === undefined) return [];
  if (kind !== 'List') {
    const object = decodeObject(r, value, '', source, kind);
    return object ? [{ item: object, path: '' }] : [];
  }
  const list = r.object(value, '', ['apiVersion', 'kind', 'metadata', 'items']) ?? {};
  const out: { item: AnyObject; path: string }[] = [];
  (r.list(list.items, 'items') ?? []).forEach((raw, i) => {
    const path = idx('items', i);
    if (!isMapping(raw)) return r.error(path, `expected a mapping, got ${describeValue(raw)}`);
    const itemKind = checkKind(r, raw, path, false);
    if (itemKind === undefined || itemKind === 'List') return;
    const object = decodeObject(r, raw, path, source, itemKind);
    if (object) out.push({ item: object, path });
  });
  return out;
}

/** The object's kind when it and its apiVersion are ones corelet accepts. */
function checkKind(r: FieldReader, o: Record<string, unknown>, path: string, allowList: boolean): ObjectKind | 'List' | undefined {
  const apiVersion = r.requiredString(o.apiVersion, at(path, 'apiVersion'));
  const kind = r.requiredString(o.kind, at(path, 'kind'));
  if (kind === undefined) return undefined;
  const kinds: string[] = allowList ? [...KINDS, 'List'] : KINDS;
  if (!kinds.includes(kind)) {
    r.error(at(path, 'kind'), `unsupported value ${JSON.stringify(kind)} (supported: ${kinds.join(', ')})`);
    return undefined;
  }
  const expected = kind === 'List' ? 'v1' : OBJECT_API_VERSIONS[kind as ObjectKind];
  if (apiVersion === undefined) return undefined;
  if (apiVersion !== expected) {
    r.error(at(path, 'apiVersion'), `unsupported value ${JSON.stringify(apiVersion)} for kind ${kind} (supported: ${expected})`);
    return undefined;
  }
  return kind as ObjectKind | 'List';
}

/** Drops the uid decodeMeta derives when the manifest has none: the store assigns it. */
function declaredMeta(meta: ObjectMeta, raw: unknown): DeclaredMeta {
  const given = isMapping(raw) && typeof raw.uid === 'string' && raw.uid !== '';
  if (given) return meta;
  const { uid: _derived, ...rest } = meta;
  return rest;
}

function decodeObject(r: FieldReader, o: Record<string, unknown>, base: string, source: string, kind: ObjectKind): AnyObject | undefined {
  if (kind === 'Namespace') return decodeNamespace(r, o, base, source);
  if (kind === 'Service') return decodeService(r, o, base, source);
  if (kind === 'EndpointSlice') return decodeEndpointSlice(r, o, base, source);
  if (isRbacKind(kind)) return decodeRbacObject(r, o, base, source, kind) as AnyObject | undefined;
  if (kind === 'Pod') {
    const pod = decodePod(r, o, base, source);
    return pod && { apiVersion: 'v1', kind: 'Pod', metadata: declaredMeta(pod.metadata, o.metadata), spec: pod.spec };
  }
  const before = r.errors.length;
  r.object(o, base, WORKLOAD_FIELDS); // warns about unknown top-level fields; status is accepted and dropped
  const metaPath = at(base, 'metadata');
  if (o.metadata === undefined || o.metadata === null) r.error(metaPath, 'required value');
  const meta = decodeMeta(r, o.metadata, metaPath, source);
  checkWorkloadName(r, kind, meta.name, at(metaPath, 'name'));
  const metadata = declaredMeta(meta, o.metadata);
  const specPath = at(base, 'spec');
  if (o.spec === undefined || o.spec === null) r.error(specPath, 'required value');
  let object: AnyObject;
  switch (kind) {
    case 'Deployment':
      object = { apiVersion: 'apps/v1', kind, metadata, spec: decodeDeploymentSpec(r, o.spec, specPath) };
      break;
    case 'StatefulSet':
      object = { apiVersion: 'apps/v1', kind, metadata, spec: decodeStatefulSetSpec(r, o.spec, specPath) };
      break;
    case 'Job':
      object = { apiVersion: 'batch/v1', kind, metadata, spec: decodeJobSpec(r, o.spec, specPath, meta.name) };
      break;
    case 'DaemonSet':
      object = { apiVersion: 'apps/v1', kind, metadata, spec: decodeDaemonSetSpec(r, o.spec, specPath) };
      break;
  }
  return r.errors.length > before ? undefined : object;
}

/** Name rules beyond the DNS subdomain every object name follows (decodeMeta checks that, so skip names it rejected). */
function checkWorkloadName(r: FieldReader, kind: ObjectKind, name: string, path: string): void {
  if (!name || checkDnsSubdomain(name)) return;
  // A StatefulSet's name prefixes its pods' hostnames, which must be DNS labels.
  if (kind === 'StatefulSet') checkFormat(r, path, name, checkDnsLabel);
  // A Job's name becomes the job-name label value of its pods, which is at most 63 characters.
  if (kind === 'Job' && name.length > 63) r.error(path, `invalid value ${JSON.stringify(name)}: must be no more than 63 characters`);
}

/** A non-negative int32 (replicas, seconds, limits). */
function nonNegative(r: FieldReader, v: unknown, path: string): number | undefined {
  const n = r.int(v, path);
  if (n !== undefined && n < 0) {
    r.error(path, `invalid value ${n}: must be greater than or equal to 0`);
    return undefined;
  }
  return n;
}

/** An int or "<digits>%" string; `fallback` when absent, undefined when invalid (already reported). */
function intOrPercent(r: FieldReader, v: unknown, path: string, fallback: IntOrPercent): IntOrPercent | undefined {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' || typeof v === 'bigint') return nonNegative(r, v, path);
  if (typeof v === 'string') {
    if (PERCENT_RE.test(v)) return v;
    r.error(path, `invalid value ${JSON.stringify(v)}: must be an integer or a percentage (e.g. "25%")`);
    return undefined;
  }
  r.error(path, `expected an integer or a percentage string, got ${describeValue(v)}`);
  return undefined;
}

/** The number an IntOrPercent states, ignoring its unit (what "is it zero?" and "over 100%?" compare). */
function statedValue(v: IntOrPercent): number {
  return typeof v === 'number' ? v : Number(v.slice(0, -1));
}

function checkNotOver100Percent(r: FieldReader, v: IntOrPercent | undefined, path: string): void {
  if (typeof v === 'string' && statedValue(v) > 100) r.error(path, `invalid value ${JSON.stringify(v)}: must not be greater than 100%`);
}

/**
 * A label selector (required for every workload, non-empty). `valid` is false when it had errors,
 * in which case the template labels are not compared against it (as the API server does).
 */
function decodeSelector(r: FieldReader, v: unknown, path: string, kind: string): { selector: LabelSelector; valid: boolean } {
  const before = r.errors.length;
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return { selector: { matchLabels: {} }, valid: false };
  }
  const o = r.object(v, path, ['matchLabels', 'matchExpressions']) ?? {};
  const matchLabels = decodeLabels(r, o.matchLabels, at(path, 'matchLabels'));
  const exprPath = at(path, 'matchExpressions');
  const matchExpressions = r.list(o.matchExpressions, exprPath)?.map((raw, i): LabelSelectorRequirement => {
    const p = idx(exprPath, i);
    const e = item(r, raw, p, ['key', 'operator', 'values']) ?? {};
    const key = r.requiredString(e.key, at(p, 'key')) ?? '';
    if (key) {
      const why = checkQualifiedName(key);
      if (why) r.error(at(p, 'key'), `invalid value ${JSON.stringify(key)}: ${why}`);
    }
    if (e.operator === undefined || e.operator === null) r.error(at(p, 'operator'), 'required value');
    const operator = r.oneOf(e.operator, at(p, 'operator'), ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
    const valuesPath = at(p, 'values');
    const values = r.stringList(e.values, valuesPath) ?? [];
    values.forEach((value, j) => checkFormat(r, idx(valuesPath, j), value, checkLabelValue));
    const needsValues = operator === 'In' || operator === 'NotIn';
    if (needsValues && values.length === 0) r.error(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'");
    if (operator && !needsValues && values.length > 0) r.error(valuesPath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    // Without a valid operator the object is rejected; 'In' only keeps the type whole.
    return compact({ key, operator: operator ?? 'In', values: needsValues ? values : undefined });
  });
  if (Object.keys(matchLabels).length === 0 && (matchExpressions ?? []).length === 0 && r.errors.length === before) {
    r.error(path, `empty selector is invalid for ${kind}`);
  }
  return { selector: compact({ matchLabels, matchExpressions }), valid: r.errors.length === before };
}

interface TemplateRules {
  /** restartPolicy values the workload allows; the first is required to be written when Always is not allowed. */
  restartPolicies: readonly ('Always' | 'OnFailure' | 'Never')[];
  /** Volume names containers may mount besides the template's own volumes. */
  claimNames?: readonly string[];
  /** Labels the API server adds to the template (a Job's job-name) unless the manifest sets them. */
  extraLabels?: Record<string, string>;
}

/** A pod template: labels, annotations and a PodSpec, with the workload's restartPolicy rule. */
function decodeTemplate(r: FieldReader, v: unknown, path: string, rules: TemplateRules): PodTemplateSpec {
  if (v === undefined || v === null) r.error(path, 'required value');
  const o = r.object(v, path, ['metadata', 'spec']);
  const t = o ?? {};
  const metaPath = at(path, 'metadata');
  // creationTimestamp: `kubectl create deployment --dry-run=client -o yaml` writes it (as null).
  const m = r.object(t.metadata, metaPath, ['name', 'namespace', 'labels', 'annotations', 'creationTimestamp']) ?? {};
  const labels = decodeLabels(r, m.labels, at(metaPath, 'labels'));
  for (const [key, value] of Object.entries(rules.extraLabels ?? {})) if (!(key in labels)) labels[key] = value;
  const annotations = decodeAnnotations(r, m.annotations, at(metaPath, 'annotations'));
  const specPath = at(path, 'spec');
  if (o && (t.spec === undefined || t.spec === null)) r.error(specPath, 'required value');
  const spec = decodeSpec(r, t.spec, specPath, rules.claimNames);
  if (isMapping(t.spec)) checkRestartPolicy(r, t.spec.restartPolicy, at(specPath, 'restartPolicy'), rules.restartPolicies);
  return { metadata: { labels, annotations }, spec };
}

function checkRestartPolicy(r: FieldReader, raw: unknown, path: string, allowed: TemplateRules['restartPolicies']): void {
  const supported = `(supported: ${allowed.join(', ')})`;
  if (raw === undefined || raw === null) {
    // The Pod default (Always) is only right where the workload allows it: a Job must say.
    if (!allowed.includes('Always')) r.error(path, `required value ${supported}`);
    return;
  }
  // Values that are no restart policy at all were already reported by the Pod decoder.
  if (typeof raw !== 'string' || !(RESTART_POLICIES as readonly string[]).includes(raw)) return;
  if (!(allowed as readonly string[]).includes(raw)) r.error(path, `unsupported value ${JSON.stringify(raw)} ${supported}`);
}

/**
 * The template's labels must be selected by the workload's selector, or it would not own its pods.
 * Not compared when the template is missing (already reported).
 */
function checkSelectorMatches(r: FieldReader, selected: { selector: LabelSelector; valid: boolean }, rawTemplate: unknown, template: PodTemplateSpec, path: string): void {
  if (rawTemplate === undefined || rawTemplate === null) return;
  if (selected.valid && !selectorMatches(selected.selector, template.metadata.labels)) {
    r.error(at(at(path, 'metadata'), 'labels'), 'invalid value: `selector` does not match template `labels`');
  }
}

function decodeDeploymentSpec(r: FieldReader, v: unknown, path: string): DeploymentSpec {
  const s =
    r.object(v, path, ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'paused']) ?? {};
  const given = isMapping(v); // otherwise already reported: nothing more to say about its fields
  const selected = given ? decodeSelector(r, s.selector, at(path, 'selector'), 'deployment') : { selector: { matchLabels: {} }, valid: false };
  const templatePath = at(path, 'template');
  const template = given ? decodeTemplate(r, s.template, templatePath, { restartPolicies: ['Always'] }) : emptyTemplate(r, templatePath);
  checkSelectorMatches(r, selected, s.template, template, templatePath);
  const minReadySeconds = nonNegative(r, s.minReadySeconds, at(path, 'minReadySeconds')) ?? 0;
  const progressPath = at(path, 'progressDeadlineSeconds');
  const progressDeadlineSeconds = nonNegative(r, s.progressDeadlineSeconds, progressPath) ?? 600;
  if (progressDeadlineSeconds <= minReadySeconds) {
    r.error(progressPath, `invalid value ${progressDeadlineSeconds}: must be greater than minReadySeconds`);
  }
  return {
    replicas: nonNegative(r, s.replicas, at(path, 'replicas')) ?? 1,
    selector: selected.selector,
    template,
    strategy: decodeDeploymentStrategy(r, s.strategy, at(path, 'strategy')),
    minReadySeconds,
    revisionHistoryLimit: nonNegative(r, s.revisionHistoryLimit, at(path, 'revisionHistoryLimit')) ?? 10,
    progressDeadlineSeconds,
    paused: r.bool(s.paused, at(path, 'paused')) ?? false,
  };
}

/** Without a spec, the caller has already said so: decode nothing more, report nothing more. */
function emptyTemplate(r: FieldReader, path: string): PodTemplateSpec {
  return { metadata: { labels: {}, annotations: {} }, spec: decodeSpec(r, undefined, at(path, 'spec')) };
}

function decodeDeploymentStrategy(r: FieldReader, v: unknown, path: string): DeploymentStrategy {
  const o = r.object(v, path, ['type', 'rollingUpdate']) ?? {};
  const type = r.oneOf(o.type, at(path, 'type'), ['RollingUpdate', 'Recreate'] as const, 'RollingUpdate');
  const ruPath = at(path, 'rollingUpdate');
  if (type === 'Recreate') {
    if (o.rollingUpdate !== undefined && o.rollingUpdate !== null) r.error(ruPath, "may not be specified when strategy `type` is 'Recreate'");
    return { type };
  }
  const ru = r.object(o.rollingUpdate, ruPath, ['maxSurge', 'maxUnavailable']) ?? {};
  const maxSurge = intOrPercent(r, ru.maxSurge, at(ruPath, 'maxSurge'), '25%');
  const unavailablePath = at(ruPath, 'maxUnavailable');
  const maxUnavailable = intOrPercent(r, ru.maxUnavailable, unavailablePath, '25%');
  if (maxSurge !== undefined && maxUnavailable !== undefined && statedValue(maxSurge) === 0 && statedValue(maxUnavailable) === 0) {
    r.error(unavailablePath, 'may not be 0 when `maxSurge` is 0');
  }
  checkNotOver100Percent(r, maxUnavailable, unavailablePath);
  return { type, rollingUpdate: { maxSurge: maxSurge ?? '25%', maxUnavailable: maxUnavailable ?? '25%' } };
}

function decodeStatefulSetSpec(r: FieldReader, v: unknown, path: string): StatefulSetSpec {
  const s =
    r.object(v, path, [
      'replicas',
      'selector',
      'serviceName',
      'template',
      'volumeClaimTemplates',
      'podManagementPolicy',
      'updateStrategy',
      'revisionHistoryLimit',
      'minReadySeconds',
      'persistentVolumeClaimRetentionPolicy',
    ]) ?? {};
  const given = isMapping(v); // otherwise already reported: nothing more to say about its fields
  const volumeClaimTemplates = decodeClaimTemplates(r, s.volumeClaimTemplates, at(path, 'volumeClaimTemplates'));
  const selected = given ? decodeSelector(r, s.selector, at(path, 'selector'), 'statefulset') : { selector: { matchLabels: {} }, valid: false };
  const templatePath = at(path, 'template');
  const template = given
    ? decodeTemplate(r, s.template, templatePath, { restartPolicies: ['Always'], claimNames: volumeClaimTemplates.map((c) => c.metadata.name) })
    : emptyTemplate(r, templatePath);
  checkSelectorMatches(r, selected, s.template, template, templatePath);
  const serviceName = r.string(s.serviceName, at(path, 'serviceName')) || undefined;
  // Not checked by the API server, but it becomes every pod's subdomain, which must be a DNS label.
  checkFormat(r, at(path, 'serviceName'), serviceName, checkDnsLabel);
  const retentionPath = at(path, 'persistentVolumeClaimRetentionPolicy');
  const retention = r.object(s.persistentVolumeClaimRetentionPolicy, retentionPath, ['whenDeleted', 'whenScaled']) ?? {};
  return compact({
    replicas: nonNegative(r, s.replicas, at(path, 'replicas')) ?? 1,
    selector: selected.selector,
    serviceName,
    template,
    volumeClaimTemplates,
    podManagementPolicy: r.oneOf(s.podManagementPolicy, at(path, 'podManagementPolicy'), ['OrderedReady', 'Parallel'] as const, 'OrderedReady'),
    updateStrategy: decodeStatefulSetUpdateStrategy(r, s.updateStrategy, at(path, 'updateStrategy')),
    revisionHistoryLimit: nonNegative(r, s.revisionHistoryLimit, at(path, 'revisionHistoryLimit')) ?? 10,
    minReadySeconds: nonNegative(r, s.minReadySeconds, at(path, 'minReadySeconds')) ?? 0,
    persistentVolumeClaimRetentionPolicy: {
      whenDeleted: r.oneOf(retention.whenDeleted, at(retentionPath, 'whenDeleted'), ['Retain', 'Delete'] as const, 'Retain'),
      whenScaled: r.oneOf(retention.whenScaled, at(retentionPath, 'whenScaled'), ['Retain', 'Delete'] as const, 'Retain'),
    },
  });
}

function decodeStatefulSetUpdateStrategy(r: FieldReader, v: unknown, path: string): StatefulSetUpdateStrategy {
  const o = r.object(v, path, ['type', 'rollingUpdate']) ?? {};
  const type = r.oneOf(o.type, at(path, 'type'), ['RollingUpdate', 'OnDelete'] as const, 'RollingUpdate');
  const ruPath = at(path, 'rollingUpdate');
  if (type === 'OnDelete') {
    if (o.rollingUpdate !== undefined && o.rollingUpdate !== null) r.error(ruPath, "only allowed for updateStrategy 'RollingUpdate'");
    return { type };
  }
  const ru = r.object(o.rollingUpdate, ruPath, ['partition']) ?? {};
  return { type, rollingUpdate: { partition: nonNegative(r, ru.partition, at(ruPath, 'partition')) ?? 0 } };
}

function decodeClaimTemplates(r: FieldReader, v: unknown, path: string): PersistentVolumeClaimTemplate[] {
  const out: PersistentVolumeClaimTemplate[] = [];
  const names = new Set<string>();
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    // apiVersion, kind and status appear in `kubectl get -o yaml` output; they carry nothing here.
    const o = item(r, raw, p, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    if (!o) return;
    const metaPath = at(p, 'metadata');
    const m = r.object(o.metadata, metaPath, ['name', 'namespace', 'labels', 'annotations', 'creationTimestamp']) ?? {};
    const namePath = at(metaPath, 'name');
    const name = r.requiredString(m.name, namePath) ?? '';
    // The claim's name is the volume name containers mount, so it follows volume-name rules.
    checkFormat(r, namePath, name || undefined, checkDnsLabel);
    if (name && names.has(name)) r.error(namePath, `duplicate value ${JSON.stringify(name)}`);
    names.add(name);
    const specPath = at(p, 'spec');
    if (o.spec === undefined || o.spec === null) r.error(specPath, 'required value');
    const s = r.object(o.spec, specPath, ['accessModes', 'resources', 'storageClassName']) ?? {};
    const modesPath = at(specPath, 'accessModes');
    const accessModes: AccessMode[] = [];
    r.stringList(s.accessModes, modesPath)?.forEach((mode, j) => {
      const ok = r.oneOf(mode, idx(modesPath, j), ACCESS_MODES);
      if (ok) accessModes.push(ok);
    });
    const resPath = at(specPath, 'resources');
    const res = r.object(s.resources, resPath, ['requests']) ?? {};
    const reqPath = at(resPath, 'requests');
    const req = r.object(res.requests, reqPath, ['storage']) ?? {};
    const storagePath = at(reqPath, 'storage');
    if (o.spec !== undefined && o.spec !== null && (req.storage === undefined || req.storage === null)) r.error(storagePath, 'required value');
    const storage = quantity(r, req.storage, storagePath);
    if (storage && storage.nanos === 0n) r.error(storagePath, `invalid value ${JSON.stringify(storage.text)}: must be greater than zero`);
    out.push({
      metadata: { name, labels: decodeLabels(r, m.labels, at(metaPath, 'labels')), annotations: decodeAnnotations(r, m.annotations, at(metaPath, 'annotations')) },
      spec: compact({
        accessModes: accessModes.length > 0 ? accessModes : ['ReadWriteOnce'],
        resources: { requests: { storage: storage?.text ?? '' } },
        storageClassName: r.string(s.storageClassName, at(specPath, 'storageClassName')) || undefined,
      }),
    });
  });
  return out;
}

function decodeJobSpec(r: FieldReader, v: unknown, path: string, name: string): JobSpec {
  const s =
    r.object(v, path, [
      'completions',
      'parallelism',
      'backoffLimit',
      'activeDeadlineSeconds',
      'ttlSecondsAfterFinished',
      'suspend',
      'manualSelector',
      'selector',
      'template',
    ]) ?? {};
  const given = isMapping(v); // otherwise already reported: nothing more to say about its fields
  const manualSelector = r.bool(s.manualSelector, at(path, 'manualSelector'));
  const selectorPath = at(path, 'selector');
  let selected: { selector: LabelSelector; valid: boolean } | undefined;
  if (manualSelector) selected = decodeSelector(r, s.selector, selectorPath, 'job');
  else if (s.selector !== undefined && s.selector !== null) {
    r.error(selectorPath, 'may not be set unless manualSelector is true: it is generated');
  }
  const templatePath = at(path, 'template');
  const extraLabels = manualSelector || !name ? {} : Object.fromEntries(JOB_NAME_LABELS.map((key) => [key, name]));
  const template = given
    ? decodeTemplate(r, s.template, templatePath, { restartPolicies: ['OnFailure', 'Never'], extraLabels })
    : emptyTemplate(r, templatePath);
  if (selected) checkSelectorMatches(r, selected, s.template, template, templatePath);
  const parallelism = nonNegative(r, s.parallelism, at(path, 'parallelism'));
  const completions = nonNegative(r, s.completions, at(path, 'completions'));
  const activeDeadlinePath = at(path, 'activeDeadlineSeconds');
  const activeDeadlineSeconds = r.int(s.activeDeadlineSeconds, activeDeadlinePath, 1, Number.MAX_SAFE_INTEGER);
  return compact({
    // Kubernetes defaults completions only when parallelism is unset too (otherwise: a work queue).
    completions: completions ?? (s.parallelism === undefined || s.parallelism === null ? 1 : undefined),
    parallelism: parallelism ?? 1,
    backoffLimit: nonNegative(r, s.backoffLimit, at(path, 'backoffLimit')) ?? 6,
    activeDeadlineSeconds,
    ttlSecondsAfterFinished: nonNegative(r, s.ttlSecondsAfterFinished, at(path, 'ttlSecondsAfterFinished')),
    suspend: r.bool(s.suspend, at(path, 'suspend')) ?? false,
    manualSelector,
    selector: selected?.selector,
    template,
  });
}

function decodeDaemonSetSpec(r: FieldReader, v: unknown, path: string): DaemonSetSpec {
  const s = r.object(v, path, ['selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit']) ?? {};
  const given = isMapping(v); // otherwise already reported: nothing more to say about its fields
  const selected = given ? decodeSelector(r, s.selector, at(path, 'selector'), 'daemonset') : { selector: { matchLabels: {} }, valid: false };
  const templatePath = at(path, 'template');
  const template = given ? decodeTemplate(r, s.template, templatePath, { restartPolicies: ['Always'] }) : emptyTemplate(r, templatePath);
  checkSelectorMatches(r, selected, s.template, template, templatePath);
  return {
    selector: selected.selector,
    template,
    updateStrategy: decodeDaemonSetUpdateStrategy(r, s.updateStrategy, at(path, 'updateStrategy')),
    minReadySeconds: nonNegative(r, s.minReadySeconds, at(path, 'minReadySeconds')) ?? 0,
    revisionHistoryLimit: nonNegative(r, s.revisionHistoryLimit, at(path, 'revisionHistoryLimit')) ?? 10,
  };
}

function decodeDaemonSetUpdateStrategy(r: FieldReader, v: unknown, path: string): DaemonSetUpdateStrategy {
  const o = r.object(v, path, ['type', 'rollingUpdate']) ?? {};
  const type = r.oneOf(o.type, at(path, 'type'), ['RollingUpdate', 'OnDelete'] as const, 'RollingUpdate');
  if (type === 'OnDelete') return { type };
  const ruPath = at(path, 'rollingUpdate');
  const ru = r.object(o.rollingUpdate, ruPath, ['maxUnavailable', 'maxSurge']) ?? {};
  const unavailablePath = at(ruPath, 'maxUnavailable');
  const surgePath = at(ruPath, 'maxSurge');
  const maxUnavailable = intOrPercent(r, ru.maxUnavailable, unavailablePath, 1);
  const maxSurge = intOrPercent(r, ru.maxSurge, surgePath, 0);
  checkNotOver100Percent(r, maxUnavailable, unavailablePath);
  checkNotOver100Percent(r, maxSurge, surgePath);
  if (maxUnavailable !== undefined && maxSurge !== undefined) {
    // One node's daemon pod is either replaced in place (unavailable) or surged, never both at once.
    const hasUnavailable = statedValue(maxUnavailable) !== 0;
    const hasSurge = statedValue(maxSurge) !== 0;
    if (hasUnavailable && hasSurge) r.error(surgePath, 'may not be set when maxUnavailable is non-zero');
    if (!hasUnavailable && !hasSurge) r.error(unavailablePath, 'cannot be 0 when maxSurge is 0');
  }
  return { type, rollingUpdate: { maxUnavailable: maxUnavailable ?? 1, maxSurge: maxSurge ?? 0 } };
}
