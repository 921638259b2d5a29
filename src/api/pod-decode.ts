/**
 * Pod manifests: YAML (one or many documents) or JSON text → validated, defaulted Pods, the way the
 * Kubernetes API server would accept them (defaulting plus validation), restricted to the fields in
 * pod-types.ts. Every problem is reported with its field path; unknown fields become warnings.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { CoreletError, messageOf } from '../lib/index.js';
import {
  FieldReader,
  compact,
  describeValue,
  fieldPath as at,
  indexPath as idx,
  isMapping,
  setEntry,
} from './field-reader.js';
import {
  checkDnsLabel,
  checkDnsSubdomain,
  checkUid,
  checkEnvVarName,
  checkHttpHeaderName,
  checkIp,
  checkLabelValue,
  checkPortName,
  checkQualifiedName,
} from './names.js';
import type {
  Container,
  ContainerPort,
  EnvVar,
  ExecAction,
  HTTPGetAction,
  LifecycleHandler,
  ObjectMeta,
  Pod,
  PodSpec,
  Probe,
  ResourceRequirements,
  SecurityContext,
  SeccompProfile,
  TCPSocketAction,
  Toleration,
  Volume,
  VolumeMount,
} from './pod-types.js';
import { parseQuantityNanos } from './quantity.js';
import { duplicateJsonKeys } from './json-duplicates.js';
import { MAX_GRACE_PERIOD_SECONDS } from './grace-period.js';

/** What {@link decodePods} returns: the pods, and one warning per unknown field ("<source>: spec.x: unknown field"). */
export interface DecodedPods {
  pods: Pod[];
  warnings: string[];
}

/**
 * A manifest that failed to parse or validate (kind InvalidArgument). The message lists every problem,
 * one per line, each "<source>: <field path>: <problem>", then the unknown-field warnings (a misspelt
 * field is often the cause of a "required value" error). `problems` and `warnings` hold the lines.
 */
export class ManifestError extends CoreletError {
  constructor(
    readonly problems: readonly string[],
    readonly warnings: readonly string[] = [],
    /** The text could not be read at all (YAML/JSON syntax): 400 BadRequest rather than 422 Invalid. */
    readonly undecodable = false,
  ) {
    super('InvalidArgument', [...problems, ...warnings].join('\n'));
    this.name = 'ManifestError';
  }
}

/** The env fieldRef paths corelet can resolve (a subset of Kubernetes' downward API). */
export const SUPPORTED_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'status.podIP',
  'spec.nodeName',
  'status.hostIP',
] as const;

const POD_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'labels',
  'annotations',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'resourceVersion',
  'ownerReferences',
  // Accepted and not read: server-side apply's record (the API server keeps its own), in objects read back from it.
  'managedFields',
];
const SPEC_FIELDS = [
  'containers',
  'initContainers',
  'restartPolicy',
  'terminationGracePeriodSeconds',
  'hostNetwork',
  'shareProcessNamespace',
  'hostname',
  'subdomain',
  'dnsPolicy',
  'dnsConfig',
  'volumes',
  'nodeSelector',
  'nodeName',
  'tolerations',
  'securityContext',
  'priority',
];
const CONTAINER_FIELDS = [
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'workingDir',
  'env',
  'ports',
  'resources',
  'volumeMounts',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'securityContext',
  'stdin',
  'tty',
];
const PROBE_FIELDS = [
  'exec',
  'httpGet',
  'tcpSocket',
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
];
const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] as const;
const INT64_MAX_SAFE = Number.MAX_SAFE_INTEGER;
const UID_MAX = 2147483647;
const SYSCTL_RE = /^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/;

/**
 * Decodes every Pod in a manifest: YAML documents separated by "---" (JSON is YAML too), each an
 * apiVersion v1 Pod or a v1 List of Pods. Fills in the API server's defaults (namespace "default", a
 * uid derived from source + namespace + name when absent, restartPolicy Always, probe timings, ...).
 * `source` names the input in messages (a file name) and seeds default uids, so pass something stable.
 * Throws {@link ManifestError} listing every problem of every document.
 */
export function decodePods(text: string, source: string): DecodedPods {
  const { items: pods, warnings } = decodeManifest(
    text,
    source,
    (r, value) => decodeDocument(r, value, source),
    (pod) => `pod ${JSON.stringify(`${pod.metadata.namespace}/${pod.metadata.name}`)}`,
  );
  return { pods, warnings };
}

/**
 * Decodes every document of a manifest with `decode` (a document's objects, each with its path), and
 * refuses a second object with the same `identity` (what messages call it, e.g. `pod "ns/name"`).
 * Problems and warnings are prefixed with the document they are in. Throws {@link ManifestError}
 * listing every problem of every document. Shared by the decoders of src/api.
 */
export function decodeManifest<T>(
  text: string,
  source: string,
  decode: (r: FieldReader, value: unknown) => { item: T; path: string }[],
  identity: (item: T) => string,
): { items: T[]; warnings: string[] } {
  const { docs, errors } = readDocuments(text, source);
  const undecodable = errors.length > 0;
  const warnings: string[] = [];
  const items: T[] = [];
  const seen = new Set<string>();
  for (const { value, where, duplicates } of docs) {
    const r = new FieldReader();
    for (const path of duplicates ?? []) r.warnings.push(`${path}: duplicate field`);
    for (const { item, path } of decode(r, value)) {
      const key = identity(item);
      if (seen.has(key)) r.error(at(at(path, 'metadata'), 'name'), `duplicate ${key} in this source`);
      seen.add(key);
      items.push(item);
    }
    errors.push(...r.errors.map((e) => `${where}: ${e}`));
    warnings.push(...r.warnings.map((w) => `${where}: ${w}`));
  }
  if (errors.length > 0) throw new ManifestError(errors, warnings, undecodable);
  return { items, warnings };
}

/**
 * Parses YAML (or JSON) text into its non-empty documents, each with the name messages should use
 * for it ("<source>" alone, or "<source> (document N)" when there are several). Syntax errors come
 * back as problem lines instead of documents. Shared by the decoders of src/api.
 */
export function readDocuments(text: string, source: string): { docs: { value: unknown; where: string; duplicates?: string[] }[]; errors: string[] } {
  // JSON, what API clients send, parses an order of magnitude faster with JSON.parse than through the
  // YAML parser. Its one difference, a repeated key, is accepted (the last one wins, as in Go's
  // encoding/json) and named in `duplicates` (a warning, or an error under ?fieldValidation=Strict);
  // text that is not strict JSON (a YAML flow mapping, a syntax error) goes the YAML way.
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    let value: unknown;
    let isJson = false;
    try {
      value = JSON.parse(text);
      isJson = true;
    } catch {
      // not JSON: the YAML parser decides, and names the problem
    }
    if (isJson) {
      const duplicates = duplicateJsonKeys(text);
      return { docs: value === null ? [] : [{ value, where: source, ...(duplicates.length > 0 ? { duplicates } : {}) }], errors: [] };
    }
  }
  // yaml, loaded when a manifest is decoded (api/ is imported by every CLI command).
  const { parseAllDocuments } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const parsed = parseAllDocuments(text, { intAsBigInt: true });
  const errors: string[] = [];
  const docs: { value: unknown; where: string }[] = [];
  parsed.forEach((doc, i) => {
    const where = parsed.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push(`${where}: ${e.message.split('\n')[0].replace(/:$/, '')}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 }); // the alias limit stops "billion laughs" expansion
    } catch (e) {
      errors.push(`${where}: ${messageOf(e)}`);
      return;
    }
    if (value === null || value === undefined) return; // an empty document ("---" or only comments)
    docs.push({ value, where });
  });
  return { docs, errors };
}

/**
 * The uid a pod gets when its manifest has none: a UUID-shaped sha256 of source, namespace and name,
 * so a static pod keeps its uid across agent restarts.
 */
export function staticPodUid(source: string, namespace: string, name: string): string {
  const h = createHash('sha256').update(`${source}\0${namespace}\0${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // RFC 9562 version 8 (custom), so it never collides with random v4 uids
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The kubelet's default pull policy: Always for ":latest" or an untagged, undigested image. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const digestAt = image.indexOf('@');
  const name = digestAt >= 0 ? image.slice(0, digestAt) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return tag === 'latest' || (tag === '' && digestAt < 0) ? 'Always' : 'IfNotPresent';
}

function decodeDocument(r: FieldReader, value: unknown, source: string): { item: Pod; path: string }[] {
  if (!isMapping(value)) {
    r.error('', `expected a mapping with apiVersion and kind, got ${describeValue(value)}`);
    return [];
  }
  const kind = checkKind(r, value, '', ['Pod', 'List']);
  if (kind === 'Pod') {
    const pod = decodePod(r, value, '', source);
    return pod ? [{ item: pod, path: '' }] : [];
  }
  if (kind !== 'List') return [];
  const list = r.object(value, '', ['apiVersion', 'kind', 'metadata', 'items']) ?? {};
  const out: { item: Pod; path: string }[] = [];
  (r.list(list.items, 'items') ?? []).forEach((item, i) => {
    const path = idx('items', i);
    if (!isMapping(item)) return r.error(path, `expected a mapping, got ${describeValue(item)}`);
    if (checkKind(r, item, path, ['Pod']) !== 'Pod') return;
    const pod = decodePod(r, item, path, source);
    if (pod) out.push({ item: pod, path });
  });
  return out;
}

function checkKind(r: FieldReader, o: Record<string, unknown>, path: string, kinds: string[]): string | undefined {
  const apiVersion = r.requiredString(o.apiVersion, at(path, 'apiVersion'));
  const kind = r.requiredString(o.kind, at(path, 'kind'));
  if (apiVersion !== undefined && apiVersion !== 'v1') {
    r.error(at(path, 'apiVersion'), `unsupported value ${JSON.stringify(apiVersion)} (supported: v1)`);
    return undefined;
  }
  if (kind !== undefined && !kinds.includes(kind)) {
    r.error(at(path, 'kind'), `unsupported value ${JSON.stringify(kind)} (supported: ${kinds.join(', ')})`);
    return undefined;
  }
  return apiVersion && kind;
}

/** Reports a format problem as "invalid value "x": why". */
export function checkFormat(r: FieldReader, path: string, value: string | undefined, check: (s: string) => string | undefined): void {
  if (value === undefined) return;
  const why = check(value);
  if (why) r.error(path, `invalid value ${JSON.stringify(value)}: ${why}`);
}

/** A list item that must be a mapping (null items are errors, not absent). */
export function item(r: FieldReader, v: unknown, path: string, known: readonly string[]): Record<string, unknown> | undefined {
  if (v === null || v === undefined) {
    r.error(path, 'expected a mapping, got null');
    return undefined;
  }
  return r.object(v, path, known);
}

/** Decodes one Pod object (kind and apiVersion already checked) at path base; undefined when it has errors. */
export function decodePod(r: FieldReader, o: Record<string, unknown>, base: string, source: string): Pod | undefined {
  const before = r.errors.length;
  r.object(o, base, POD_FIELDS); // warns about unknown top-level fields; status is accepted and dropped
  const metaPath = at(base, 'metadata');
  if (o.metadata === undefined || o.metadata === null) r.error(metaPath, 'required value');
  const metadata = decodeMeta(r, o.metadata, metaPath, source);
  const specPath = at(base, 'spec');
  if (o.spec === undefined || o.spec === null) r.error(specPath, 'required value');
  const spec = decodeSpec(r, o.spec, specPath);
  if (r.errors.length > before) return undefined;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** Object metadata with the API server's defaults (namespace "default", uid from {@link staticPodUid}). */
export function decodeMeta(r: FieldReader, v: unknown, path: string, source: string): ObjectMeta {
  const given = r.object(v, path, META_FIELDS);
  const m = given ?? {};
  // Without metadata at all, the caller has already said so; do not also complain about its name.
  const name = (given ? r.requiredString(m.name, at(path, 'name')) : undefined) ?? '';
  checkFormat(r, at(path, 'name'), name || undefined, checkDnsSubdomain);
  const namespace = r.string(m.namespace, at(path, 'namespace')) || 'default';
  checkFormat(r, at(path, 'namespace'), namespace, checkDnsLabel);
  const ownerPath = at(path, 'ownerReferences');
  const ownerReferences = r.list(m.ownerReferences, ownerPath)?.map((v, i) => {
    const p = idx(ownerPath, i);
    const o = item(r, v, p, ['apiVersion', 'kind', 'name', 'uid', 'controller']) ?? {};
    return compact({
      apiVersion: r.requiredString(o.apiVersion, at(p, 'apiVersion')) ?? '',
      kind: r.requiredString(o.kind, at(p, 'kind')) ?? '',
      name: r.requiredString(o.name, at(p, 'name')) ?? '',
      uid: r.requiredString(o.uid, at(p, 'uid')) ?? '',
      controller: r.bool(o.controller, at(p, 'controller')),
    });
  });
  const givenUid = r.string(m.uid, at(path, 'uid'));
  checkFormat(r, at(path, 'uid'), givenUid || undefined, checkUid);
  return compact({
    name,
    namespace,
    uid: givenUid || staticPodUid(source, namespace, name),
    labels: decodeLabels(r, m.labels, at(path, 'labels')),
    annotations: decodeAnnotations(r, m.annotations, at(path, 'annotations')),
    creationTimestamp: r.string(m.creationTimestamp, at(path, 'creationTimestamp')),
    deletionTimestamp: r.string(m.deletionTimestamp, at(path, 'deletionTimestamp')),
    deletionGracePeriodSeconds: r.int(m.deletionGracePeriodSeconds, at(path, 'deletionGracePeriodSeconds'), 0, MAX_GRACE_PERIOD_SECONDS),
    generation: r.int(m.generation, at(path, 'generation'), 0, INT64_MAX_SAFE),
    resourceVersion: r.string(m.resourceVersion, at(path, 'resourceVersion')),
    generateName: r.string(m.generateName, at(path, 'generateName')),
    ownerReferences,
  });
}

/** Labels and nodeSelector: qualified-name keys, label values. */
export function decodeLabels(r: FieldReader, v: unknown, path: string): Record<string, string> {
  const labels = r.stringMap(v, path) ?? {};
  for (const [key, value] of Object.entries(labels)) {
    const why = checkQualifiedName(key);
    if (why) r.error(path, `invalid key ${JSON.stringify(key)}: ${why}`);
    checkFormat(r, at(path, key), value, checkLabelValue);
  }
  return labels;
}

/** Annotations: qualified-name keys (any case), at most 256 KiB in all. */
export function decodeAnnotations(r: FieldReader, v: unknown, path: string): Record<string, string> {
  const annotations = r.stringMap(v, path) ?? {};
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    const why = checkQualifiedName(key.toLowerCase());
    if (why) r.error(path, `invalid key ${JSON.stringify(key)}: ${why}`);
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > 256 * 1024) r.error(path, 'too long: must have at most 262144 bytes');
  return annotations;
}

/**
 * A PodSpec at path with the API server's defaults. `claimNames` are extra names volumeMounts may
 * refer to (a StatefulSet's volumeClaimTemplates).
 */
export function decodeSpec(r: FieldReader, v: unknown, path: string, claimNames: readonly string[] = []): PodSpec {
  const given = r.object(v, path, SPEC_FIELDS);
  const s = given ?? {};
  const hostNetwork = r.bool(s.hostNetwork, at(path, 'hostNetwork')) ?? false;
  const volumes = decodeVolumes(r, s.volumes, at(path, 'volumes'));
  const ctx: ContainerContext = { volumeNames: new Set([...volumes.map((vol) => vol.name), ...claimNames]), hostNetwork, init: true };
  const initContainers = decodeContainers(r, s.initContainers, at(path, 'initContainers'), ctx);
  const containersPath = at(path, 'containers');
  const containers = decodeContainers(r, s.containers, containersPath, { ...ctx, init: false });
  if (given && (Array.isArray(s.containers) ? s.containers.length === 0 : s.containers === undefined || s.containers === null)) {
    r.error(containersPath, 'required value');
  }
  checkContainerNames(r, s, path);
  checkHostPorts(r, containers, containersPath);

  const dnsPolicy = r.oneOf(s.dnsPolicy, at(path, 'dnsPolicy'), ['ClusterFirst', 'Default', 'None', 'ClusterFirstWithHostNet'], 'ClusterFirst');
  const dnsConfig = decodeDnsConfig(r, s.dnsConfig, at(path, 'dnsConfig'));
  if (dnsPolicy === 'None' && !(dnsConfig?.nameservers && dnsConfig.nameservers.length > 0)) {
    r.error(at(path, 'dnsConfig'), 'must provide at least one DNS nameserver when dnsPolicy is None');
  }
  const hostname = r.string(s.hostname, at(path, 'hostname'));
  checkFormat(r, at(path, 'hostname'), hostname, checkDnsLabel);
  const subdomain = r.string(s.subdomain, at(path, 'subdomain'));
  checkFormat(r, at(path, 'subdomain'), subdomain, checkDnsLabel);
  const nodeName = r.string(s.nodeName, at(path, 'nodeName'));
  checkFormat(r, at(path, 'nodeName'), nodeName || undefined, checkDnsSubdomain);

  return compact({
    containers,
    initContainers,
    restartPolicy: r.oneOf(s.restartPolicy, at(path, 'restartPolicy'), ['Always', 'OnFailure', 'Never'], 'Always'),
    terminationGracePeriodSeconds: r.int(s.terminationGracePeriodSeconds, at(path, 'terminationGracePeriodSeconds'), 0, MAX_GRACE_PERIOD_SECONDS) ?? 30,
    hostNetwork,
    shareProcessNamespace: r.bool(s.shareProcessNamespace, at(path, 'shareProcessNamespace')) ?? false,
    hostname,
    subdomain,
    dnsPolicy,
    dnsConfig,
    volumes,
    nodeSelector: decodeLabels(r, s.nodeSelector, at(path, 'nodeSelector')),
    nodeName: nodeName || undefined,
    tolerations: decodeTolerations(r, s.tolerations, at(path, 'tolerations')),
    securityContext: decodePodSecurityContext(r, s.securityContext, at(path, 'securityContext')),
    priority: r.int(s.priority, at(path, 'priority')),
  });
}

/** Container names must be unique across init and app containers. */
function checkContainerNames(r: FieldReader, s: Record<string, unknown>, path: string): void {
  const seen = new Set<string>();
  for (const field of ['initContainers', 'containers']) {
    const list = s[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      const name = isMapping(c) ? c.name : undefined;
      if (typeof name !== 'string' || name === '') return;
      if (seen.has(name)) r.error(at(idx(at(path, field), i), 'name'), `duplicate value ${JSON.stringify(name)}`);
      seen.add(name);
    });
  }
}

/** Two app containers may not claim the same host port (protocol, host IP). */
function checkHostPorts(r: FieldReader, containers: Container[], path: string): void {
  const seen = new Set<string>();
  containers.forEach((c, i) =>
    c.ports.forEach((p, j) => {
      if (!p.hostPort) return;
      const key = `${p.hostPort}/${p.protocol}${p.hostIP ? ` on ${p.hostIP}` : ''}`;
      if (seen.has(key)) r.error(at(idx(at(idx(path, i), 'ports'), j), 'hostPort'), `duplicate value ${JSON.stringify(key)}`);
      seen.add(key);
    }),
  );
}

function decodeVolumes(r: FieldReader, v: unknown, path: string): Volume[] {
  const names = new Set<string>();
  const out: Volume[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    const o = item(r, raw, p, ['name', 'emptyDir', 'hostPath', 'persistentLocal']);
    if (!o) return;
    const name = r.requiredString(o.name, at(p, 'name')) ?? '';
    checkFormat(r, at(p, 'name'), name || undefined, checkDnsLabel);
    if (name && names.has(name)) r.error(at(p, 'name'), `duplicate value ${JSON.stringify(name)}`);
    names.add(name);

    const emptyDirRaw = r.object(o.emptyDir, at(p, 'emptyDir'), ['medium', 'sizeLimit']);
    const emptyDir = emptyDirRaw
      ? compact({
          medium: r.oneOf(emptyDirRaw.medium, at(at(p, 'emptyDir'), 'medium'), ['', 'Memory'] as const),
          sizeLimit: quantity(r, emptyDirRaw.sizeLimit, at(at(p, 'emptyDir'), 'sizeLimit'))?.text,
        })
      : undefined;
    const hostPathRaw = r.object(o.hostPath, at(p, 'hostPath'), ['path', 'type']);
    let hostPath: Volume['hostPath'];
    if (hostPathRaw) {
      const hp = at(at(p, 'hostPath'), 'path');
      const hostDir = r.requiredString(hostPathRaw.path, hp);
      if (hostDir !== undefined && !hostDir.startsWith('/')) r.error(hp, `invalid value ${JSON.stringify(hostDir)}: must be an absolute path`);
      if (hostDir?.split('/').includes('..')) r.error(hp, `invalid value ${JSON.stringify(hostDir)}: must not contain '..'`);
      hostPath = compact({ path: hostDir ?? '', type: r.oneOf(hostPathRaw.type, at(at(p, 'hostPath'), 'type'), HOST_PATH_TYPES) });
    }
    const localRaw = r.object(o.persistentLocal, at(p, 'persistentLocal'), ['claimName']);
    let persistentLocal: Volume['persistentLocal'];
    if (localRaw) {
      const cp = at(at(p, 'persistentLocal'), 'claimName');
      const claimName = r.requiredString(localRaw.claimName, cp) ?? '';
      checkFormat(r, cp, claimName || undefined, checkDnsSubdomain);
      persistentLocal = { claimName };
    }
    const sources = [emptyDir, hostPath, persistentLocal].filter((x) => x !== undefined).length;
    if (sources === 0) r.error(p, 'must specify a volume source (one of emptyDir, hostPath, persistentLocal)');
    if (sources > 1) r.error(p, 'may not specify more than one volume source');
    out.push(compact({ name, emptyDir, hostPath, persistentLocal }));
  });
  return out;
}

interface ContainerContext {
  volumeNames: Set<string>;
  hostNetwork: boolean;
  init: boolean;
}

function decodeContainers(r: FieldReader, v: unknown, path: string, ctx: ContainerContext): Container[] {
  const out: Container[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const c = decodeContainer(r, raw, idx(path, i), ctx);
    if (c) out.push(c);
  });
  return out;
}

function decodeContainer(r: FieldReader, v: unknown, p: string, ctx: ContainerContext): Container | undefined {
  const o = item(r, v, p, CONTAINER_FIELDS);
  if (!o) return undefined;
  const name = r.requiredString(o.name, at(p, 'name')) ?? '';
  checkFormat(r, at(p, 'name'), name || undefined, checkDnsLabel);
  const image = r.requiredString(o.image, at(p, 'image')) ?? '';
  if (image !== image.trim()) r.error(at(p, 'image'), 'must not have leading or trailing whitespace');

  if (ctx.init) {
    for (const field of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (o[field] !== undefined && o[field] !== null) r.error(at(p, field), 'may not be set for init containers');
    }
  }
  const lifecycleRaw = r.object(o.lifecycle, at(p, 'lifecycle'), ['preStop', 'postStart']);
  const lifecycle = lifecycleRaw
    ? compact({
        preStop: decodeLifecycleHandler(r, lifecycleRaw.preStop, at(at(p, 'lifecycle'), 'preStop')),
        postStart: decodeLifecycleHandler(r, lifecycleRaw.postStart, at(at(p, 'lifecycle'), 'postStart')),
      })
    : undefined;

  return compact({
    name,
    image,
    imagePullPolicy: r.oneOf(o.imagePullPolicy, at(p, 'imagePullPolicy'), ['Always', 'IfNotPresent', 'Never'] as const) ?? defaultPullPolicy(image),
    command: r.stringList(o.command, at(p, 'command')),
    args: r.stringList(o.args, at(p, 'args')),
    workingDir: r.string(o.workingDir, at(p, 'workingDir')),
    env: decodeEnv(r, o.env, at(p, 'env')),
    ports: decodePorts(r, o.ports, at(p, 'ports'), ctx.hostNetwork),
    resources: decodeResources(r, o.resources, at(p, 'resources')),
    volumeMounts: decodeVolumeMounts(r, o.volumeMounts, at(p, 'volumeMounts'), ctx.volumeNames),
    livenessProbe: decodeProbe(r, o.livenessProbe, at(p, 'livenessProbe'), 'liveness'),
    readinessProbe: decodeProbe(r, o.readinessProbe, at(p, 'readinessProbe'), 'readiness'),
    startupProbe: decodeProbe(r, o.startupProbe, at(p, 'startupProbe'), 'startup'),
    lifecycle,
    securityContext: decodeSecurityContext(r, o.securityContext, at(p, 'securityContext')),
    stdin: r.bool(o.stdin, at(p, 'stdin')),
    tty: r.bool(o.tty, at(p, 'tty')),
  });
}

function decodeEnv(r: FieldReader, v: unknown, path: string): EnvVar[] {
  const out: EnvVar[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    const o = item(r, raw, p, ['name', 'value', 'valueFrom']);
    if (!o) return;
    const name = r.requiredString(o.name, at(p, 'name')) ?? '';
    checkFormat(r, at(p, 'name'), name || undefined, checkEnvVarName);
    const value = r.string(o.value, at(p, 'value'));
    const fromPath = at(p, 'valueFrom');
    const from = r.object(o.valueFrom, fromPath, ['fieldRef']);
    let valueFrom: EnvVar['valueFrom'];
    if (from) {
      if (value) r.error(fromPath, 'may not be specified when value is not empty');
      const refPath = at(fromPath, 'fieldRef');
      const ref = r.object(from.fieldRef, refPath, ['fieldPath', 'apiVersion']);
      if (from.fieldRef === undefined || from.fieldRef === null) r.error(fromPath, 'must specify one of: fieldRef');
      if (ref) {
        const fp = at(refPath, 'fieldPath');
        const fieldPath = r.requiredString(ref.fieldPath, fp);
        if (fieldPath !== undefined && !(SUPPORTED_FIELD_PATHS as readonly string[]).includes(fieldPath)) {
          r.error(fp, `unsupported value ${JSON.stringify(fieldPath)} (supported: ${SUPPORTED_FIELD_PATHS.join(', ')})`);
        }
        r.oneOf(ref.apiVersion, at(refPath, 'apiVersion'), ['v1']);
        valueFrom = { fieldRef: { fieldPath: fieldPath ?? '' } };
      }
    }
    out.push(compact({ name, value, valueFrom }));
  });
  return out;
}

function decodePorts(r: FieldReader, v: unknown, path: string, hostNetwork: boolean): ContainerPort[] {
  const out: ContainerPort[] = [];
  const names = new Set<string>();
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    const o = item(r, raw, p, ['name', 'containerPort', 'hostPort', 'hostIP', 'protocol']);
    if (!o) return;
    const name = r.string(o.name, at(p, 'name'));
    if (name) {
      checkFormat(r, at(p, 'name'), name, checkPortName);
      if (names.has(name)) r.error(at(p, 'name'), `duplicate value ${JSON.stringify(name)}`);
      names.add(name);
    }
    if (o.containerPort === undefined || o.containerPort === null) r.error(at(p, 'containerPort'), 'required value');
    const containerPort = r.int(o.containerPort, at(p, 'containerPort'), 1, 65535) ?? 0;
    let hostPort = r.int(o.hostPort, at(p, 'hostPort'), 0, 65535) || undefined;
    // The API server defaults host ports on host-network pods: the container port is the host port.
    if (hostNetwork && containerPort > 0) {
      if (hostPort === undefined) hostPort = containerPort;
      else if (hostPort !== containerPort) r.error(at(p, 'hostPort'), 'must match containerPort when hostNetwork is true');
    }
    const hostIP = r.string(o.hostIP, at(p, 'hostIP'));
    checkFormat(r, at(p, 'hostIP'), hostIP || undefined, checkIp);
    out.push(
      compact({
        name: name || undefined,
        containerPort,
        hostPort,
        hostIP: hostIP || undefined,
        protocol: r.oneOf(o.protocol, at(p, 'protocol'), ['TCP', 'UDP', 'SCTP'] as const, 'TCP'),
      }),
    );
  });
  return out;
}

/** A quantity as written (trimmed) and its value in nano-units. */
export interface ParsedQuantity {
  text: string;
  nanos: bigint;
}

/** A quantity written as a string or a bare YAML number; negative values are errors. */
/** A non-negative quantity written as a string or number. */
export function quantity(r: FieldReader, v: unknown, path: string): ParsedQuantity | undefined {
  if (v === undefined || v === null) return undefined;
  let text: string;
  if (typeof v === 'string') text = v.trim(); // the API server trims quantities too
  else if (typeof v === 'number' || typeof v === 'bigint') text = String(v);
  else {
    r.error(path, `expected a quantity (string or number), got ${describeValue(v)}`);
    return undefined;
  }
  let nanos: bigint;
  try {
    nanos = parseQuantityNanos(text);
  } catch (e) {
    r.error(path, messageOf(e));
    return undefined;
  }
  if (nanos < 0n) {
    r.error(path, `invalid value ${JSON.stringify(text)}: must be greater than or equal to 0`);
    return undefined;
  }
  return { text, nanos };
}

const STANDARD_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

/** Extended ("example.com/gpu") and hugepages resources cannot be overcommitted: requests must equal limits. */
function isOvercommitForbidden(name: string): boolean {
  return name.startsWith('hugepages-') || name.includes('/');
}

function decodeResourceList(r: FieldReader, v: unknown, path: string): Map<string, ParsedQuantity> {
  const out = new Map<string, ParsedQuantity>();
  if (v === undefined || v === null) return out;
  if (!isMapping(v)) {
    r.error(path, `expected a mapping, got ${describeValue(v)}`);
    return out;
  }
  for (const [name, raw] of Object.entries(v)) {
    const p = at(path, name);
    const known =
      STANDARD_RESOURCES.includes(name) ||
      (name.startsWith('hugepages-') && safeQuantity(name.slice('hugepages-'.length))) ||
      (name.includes('/') && !checkQualifiedName(name));
    if (!known) {
      r.error(p, `unsupported resource name ${JSON.stringify(name)} (supported: cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-prefixed extended resource)`);
      continue;
    }
    const q = quantity(r, raw, p);
    if (!q) continue;
    if (name.includes('/') && q.nanos % 1_000_000_000n !== 0n) {
      r.error(p, `invalid value ${JSON.stringify(q.text)}: must be an integer`);
      continue;
    }
    out.set(name, q);
  }
  return out;
}

function safeQuantity(s: string): boolean {
  try {
    return parseQuantityNanos(s) > 0n;
  } catch {
    return false;
  }
}

function decodeResources(r: FieldReader, v: unknown, path: string): ResourceRequirements {
  const o = r.object(v, path, ['requests', 'limits']) ?? {};
  const requestsPath = at(path, 'requests');
  const limitsPath = at(path, 'limits');
  const requests = decodeResourceList(r, o.requests, requestsPath);
  const limits = decodeResourceList(r, o.limits, limitsPath);
  // API server defaulting: a resource with only a limit is requested at that limit.
  for (const [name, limit] of limits) if (!requests.has(name)) requests.set(name, limit);
  for (const [name, request] of requests) {
    const limit = limits.get(name);
    if (isOvercommitForbidden(name)) {
      if (!limit) r.error(at(limitsPath, name), 'required value: limit must be set for non-overcommitable resources');
      else if (limit.nanos !== request.nanos) r.error(at(requestsPath, name), `invalid value ${JSON.stringify(request.text)}: must be equal to ${name} limit of ${limit.text}`);
    } else if (limit && request.nanos > limit.nanos) {
      r.error(at(requestsPath, name), `invalid value ${JSON.stringify(request.text)}: must be less than or equal to ${name} limit of ${limit.text}`);
    }
  }
  const toRecord = (m: Map<string, ParsedQuantity>) => {
    const rec: Record<string, string> = {};
    for (const [name, q] of m) setEntry(rec, name, q.text);
    return rec;
  };
  return { requests: toRecord(requests), limits: toRecord(limits) };
}

function decodeVolumeMounts(r: FieldReader, v: unknown, path: string, volumeNames: Set<string>): VolumeMount[] {
  const out: VolumeMount[] = [];
  const mountPaths = new Set<string>();
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    const o = item(r, raw, p, ['name', 'mountPath', 'readOnly', 'subPath']);
    if (!o) return;
    const name = r.requiredString(o.name, at(p, 'name')) ?? '';
    if (name && !volumeNames.has(name)) r.error(at(p, 'name'), `not found: no volume named ${JSON.stringify(name)} in spec.volumes`);
    const mountPath = r.requiredString(o.mountPath, at(p, 'mountPath')) ?? '';
    if (mountPath && !mountPath.startsWith('/')) r.error(at(p, 'mountPath'), `invalid value ${JSON.stringify(mountPath)}: must be an absolute path`);
    if (mountPath && mountPaths.has(mountPath)) r.error(at(p, 'mountPath'), `duplicate value ${JSON.stringify(mountPath)}: must be unique`);
    mountPaths.add(mountPath);
    const subPath = r.string(o.subPath, at(p, 'subPath'));
    if (subPath?.startsWith('/')) r.error(at(p, 'subPath'), `invalid value ${JSON.stringify(subPath)}: must be a relative path`);
    if (subPath?.split('/').includes('..')) r.error(at(p, 'subPath'), `invalid value ${JSON.stringify(subPath)}: must not contain '..'`);
    out.push(compact({ name, mountPath, readOnly: r.bool(o.readOnly, at(p, 'readOnly')), subPath: subPath || undefined }));
  });
  return out;
}

type HandlerKind = 'exec' | 'httpGet' | 'tcpSocket' | 'sleep';

/** Reads the handler fields of a probe or lifecycle hook: exactly one of the given kinds must be set. */
function decodeHandler(r: FieldReader, o: Record<string, unknown>, path: string, kinds: HandlerKind[]): LifecycleHandler {
  const present = kinds.filter((k) => o[k] !== undefined && o[k] !== null);
  if (present.length === 0) r.error(path, `must specify a handler type (one of ${kinds.join(', ')})`);
  if (present.length > 1) r.error(path, `may not specify more than one handler type (got ${present.join(', ')})`);
  const handler: LifecycleHandler = {};
  const execRaw = r.object(o.exec, at(path, 'exec'), ['command']);
  if (execRaw) {
    const cp = at(at(path, 'exec'), 'command');
    const command = r.stringList(execRaw.command, cp) ?? [];
    if (command.length === 0 && (execRaw.command === undefined || execRaw.command === null || Array.isArray(execRaw.command))) {
      r.error(cp, 'required value');
    }
    handler.exec = { command } satisfies ExecAction;
  }
  const hp = at(path, 'httpGet');
  const httpRaw = r.object(o.httpGet, hp, ['path', 'port', 'host', 'scheme', 'httpHeaders']);
  if (httpRaw) {
    const hdrPath = at(hp, 'httpHeaders');
    const httpHeaders = r.list(httpRaw.httpHeaders, hdrPath)?.map((raw, i) => {
      const p = idx(hdrPath, i);
      const h = item(r, raw, p, ['name', 'value']) ?? {};
      const name = r.requiredString(h.name, at(p, 'name')) ?? '';
      checkFormat(r, at(p, 'name'), name || undefined, checkHttpHeaderName);
      return { name, value: r.string(h.value, at(p, 'value')) ?? '' };
    });
    handler.httpGet = compact({
      path: r.string(httpRaw.path, at(hp, 'path')) || '/',
      port: decodePortRef(r, httpRaw.port, at(hp, 'port')),
      host: r.string(httpRaw.host, at(hp, 'host')) || undefined,
      scheme: r.oneOf(httpRaw.scheme, at(hp, 'scheme'), ['HTTP', 'HTTPS'] as const, 'HTTP'),
      httpHeaders,
    }) satisfies HTTPGetAction;
  }
  const tp = at(path, 'tcpSocket');
  const tcpRaw = r.object(o.tcpSocket, tp, ['port', 'host']);
  if (tcpRaw) {
    handler.tcpSocket = compact({
      port: decodePortRef(r, tcpRaw.port, at(tp, 'port')),
      host: r.string(tcpRaw.host, at(tp, 'host')) || undefined,
    }) satisfies TCPSocketAction;
  }
  if (kinds.includes('sleep')) {
    const sleepRaw = r.object(o.sleep, at(path, 'sleep'), ['seconds']);
    if (sleepRaw) {
      const sp = at(at(path, 'sleep'), 'seconds');
      if (sleepRaw.seconds === undefined || sleepRaw.seconds === null) r.error(sp, 'required value');
      handler.sleep = { seconds: r.int(sleepRaw.seconds, sp, 0, INT64_MAX_SAFE) ?? 0 };
    }
  }
  return handler;
}

/** A port given as a number (1..65535) or a container port name. */
function decodePortRef(r: FieldReader, v: unknown, path: string): number | string {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return 0;
  }
  if (typeof v === 'string') {
    checkFormat(r, path, v, checkPortName);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return r.int(v, path, 1, 65535) ?? 0;
  r.error(path, `expected integer or string, got ${describeValue(v)}`);
  return 0;
}

function decodeLifecycleHandler(r: FieldReader, v: unknown, path: string): LifecycleHandler | undefined {
  const o = r.object(v, path, ['exec', 'httpGet', 'tcpSocket', 'sleep']);
  return o ? decodeHandler(r, o, path, ['exec', 'httpGet', 'tcpSocket', 'sleep']) : undefined;
}

function decodeProbe(r: FieldReader, v: unknown, path: string, kind: 'liveness' | 'readiness' | 'startup'): Probe | undefined {
  const o = r.object(v, path, PROBE_FIELDS);
  if (!o) return undefined;
  const { exec, httpGet, tcpSocket } = decodeHandler(r, o, path, ['exec', 'httpGet', 'tcpSocket']);
  // The API server defaults zero as well as absent timings (Go cannot tell them apart).
  const timing = (key: string, fallback: number) => r.int(o[key], at(path, key), 0, INT64_MAX_SAFE) || fallback;
  const successThreshold = timing('successThreshold', 1);
  if (kind !== 'readiness' && successThreshold !== 1) r.error(at(path, 'successThreshold'), `must be 1 for ${kind} probes`);
  const gracePath = at(path, 'terminationGracePeriodSeconds');
  const terminationGracePeriodSeconds = r.int(o.terminationGracePeriodSeconds, gracePath, 1, MAX_GRACE_PERIOD_SECONDS);
  if (kind === 'readiness' && o.terminationGracePeriodSeconds !== undefined && o.terminationGracePeriodSeconds !== null) {
    r.error(gracePath, 'may not be set for readiness probes');
  }
  return compact({
    exec,
    httpGet,
    tcpSocket,
    initialDelaySeconds: timing('initialDelaySeconds', 0),
    timeoutSeconds: timing('timeoutSeconds', 1),
    periodSeconds: timing('periodSeconds', 10),
    successThreshold,
    failureThreshold: timing('failureThreshold', 3),
    terminationGracePeriodSeconds,
  });
}

function decodeSecurityContext(r: FieldReader, v: unknown, path: string): SecurityContext | undefined {
  const o = r.object(v, path, [
    'runAsUser',
    'runAsGroup',
    'runAsNonRoot',
    'readOnlyRootFilesystem',
    'privileged',
    'allowPrivilegeEscalation',
    'capabilities',
    'seccompProfile',
  ]);
  if (!o) return undefined;
  const capsPath = at(path, 'capabilities');
  const caps = r.object(o.capabilities, capsPath, ['add', 'drop']);
  const privileged = r.bool(o.privileged, at(path, 'privileged'));
  const allowPrivilegeEscalation = r.bool(o.allowPrivilegeEscalation, at(path, 'allowPrivilegeEscalation'));
  if (privileged === true && allowPrivilegeEscalation === false) {
    r.error(at(path, 'allowPrivilegeEscalation'), 'cannot set allowPrivilegeEscalation to false and privileged to true');
  }
  return compact({
    runAsUser: r.int(o.runAsUser, at(path, 'runAsUser'), 0, UID_MAX),
    runAsGroup: r.int(o.runAsGroup, at(path, 'runAsGroup'), 0, UID_MAX),
    runAsNonRoot: r.bool(o.runAsNonRoot, at(path, 'runAsNonRoot')),
    readOnlyRootFilesystem: r.bool(o.readOnlyRootFilesystem, at(path, 'readOnlyRootFilesystem')),
    privileged,
    allowPrivilegeEscalation,
    capabilities: caps
      ? compact({ add: r.stringList(caps.add, at(capsPath, 'add')), drop: r.stringList(caps.drop, at(capsPath, 'drop')) })
      : undefined,
    seccompProfile: decodeSeccompProfile(r, o.seccompProfile, at(path, 'seccompProfile')),
  });
}

const SECCOMP_TYPES = ['RuntimeDefault', 'Unconfined', 'Localhost'];

/** securityContext.seccompProfile: RuntimeDefault or Unconfined (Localhost profiles are not supported yet). */
function decodeSeccompProfile(r: FieldReader, v: unknown, path: string): SeccompProfile | undefined {
  const o = r.object(v, path, ['type', 'localhostProfile']);
  if (!o) return undefined;
  const type = r.requiredString(o.type, at(path, 'type'));
  if (type === undefined) return undefined;
  if (!SECCOMP_TYPES.includes(type)) {
    r.error(at(path, 'type'), `unsupported value ${JSON.stringify(type)} (supported: ${SECCOMP_TYPES.join(', ')})`);
    return undefined;
  }
  if (type === 'Localhost') {
    r.error(at(path, 'type'), 'Localhost seccomp profiles are not supported by corelet yet: use RuntimeDefault');
    return undefined;
  }
  if (o.localhostProfile !== undefined) r.error(at(path, 'localhostProfile'), 'may only be set when type is Localhost');
  return { type: type as SeccompProfile['type'] };
}

function decodePodSecurityContext(r: FieldReader, v: unknown, path: string): PodSpec['securityContext'] {
  const o = r.object(v, path, ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'supplementalGroups', 'fsGroup', 'sysctls', 'seccompProfile']);
  if (!o) return undefined;
  const sysctlsPath = at(path, 'sysctls');
  const sysctls = r.list(o.sysctls, sysctlsPath)?.map((raw, i) => {
    const p = idx(sysctlsPath, i);
    const s = item(r, raw, p, ['name', 'value']) ?? {};
    const name = r.requiredString(s.name, at(p, 'name')) ?? '';
    checkFormat(r, at(p, 'name'), name || undefined, (n) => (n.length <= 253 && SYSCTL_RE.test(n) ? undefined : 'must be a valid sysctl name'));
    return { name, value: r.string(s.value, at(p, 'value')) ?? '' };
  });
  return compact({
    runAsUser: r.int(o.runAsUser, at(path, 'runAsUser'), 0, UID_MAX),
    runAsGroup: r.int(o.runAsGroup, at(path, 'runAsGroup'), 0, UID_MAX),
    runAsNonRoot: r.bool(o.runAsNonRoot, at(path, 'runAsNonRoot')),
    supplementalGroups: r.intList(o.supplementalGroups, at(path, 'supplementalGroups'), 0, UID_MAX),
    fsGroup: r.int(o.fsGroup, at(path, 'fsGroup'), 0, UID_MAX),
    sysctls,
    seccompProfile: decodeSeccompProfile(r, o.seccompProfile, at(path, 'seccompProfile')),
  });
}

function decodeDnsConfig(r: FieldReader, v: unknown, path: string): PodSpec['dnsConfig'] {
  const o = r.object(v, path, ['nameservers', 'searches', 'options']);
  if (!o) return undefined;
  const nsPath = at(path, 'nameservers');
  const nameservers = r.stringList(o.nameservers, nsPath);
  nameservers?.forEach((ns, i) => checkFormat(r, idx(nsPath, i), ns, checkIp));
  if (nameservers && nameservers.length > 3) r.error(nsPath, 'must not have more than 3 nameservers');
  const searchPath = at(path, 'searches');
  const searches = r.stringList(o.searches, searchPath);
  searches?.forEach((s, i) => checkFormat(r, idx(searchPath, i), s.replace(/\.$/, ''), checkDnsSubdomain));
  if (searches && searches.length > 32) r.error(searchPath, 'must not have more than 32 search paths');
  const optPath = at(path, 'options');
  const options = r.list(o.options, optPath)?.map((raw, i) => {
    const p = idx(optPath, i);
    const opt = item(r, raw, p, ['name', 'value']) ?? {};
    return compact({ name: r.requiredString(opt.name, at(p, 'name')) ?? '', value: r.string(opt.value, at(p, 'value')) });
  });
  return compact({ nameservers, searches, options });
}

function decodeTolerations(r: FieldReader, v: unknown, path: string): Toleration[] {
  const out: Toleration[] = [];
  (r.list(v, path) ?? []).forEach((raw, i) => {
    const p = idx(path, i);
    const o = item(r, raw, p, ['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
    if (!o) return;
    const key = r.string(o.key, at(p, 'key'));
    if (key) {
      const why = checkQualifiedName(key);
      if (why) r.error(at(p, 'key'), `invalid value ${JSON.stringify(key)}: ${why}`);
    }
    const operator = r.oneOf(o.operator, at(p, 'operator'), ['Exists', 'Equal'] as const);
    const value = r.string(o.value, at(p, 'value'));
    const effect = r.oneOf(o.effect, at(p, 'effect'), ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const);
    const tolerationSeconds = r.int(o.tolerationSeconds, at(p, 'tolerationSeconds'), -INT64_MAX_SAFE, INT64_MAX_SAFE);
    if (!key && operator !== 'Exists') r.error(at(p, 'operator'), 'must be Exists when key is empty (which matches all keys and values)');
    if (operator === 'Exists' && value) r.error(at(p, 'value'), 'must be empty when operator is Exists');
    if (operator !== 'Exists') checkFormat(r, at(p, 'value'), value, checkLabelValue);
    if (tolerationSeconds !== undefined && effect !== 'NoExecute') r.error(at(p, 'effect'), 'must be NoExecute when tolerationSeconds is set');
    out.push(compact({ key, operator, value, effect, tolerationSeconds }));
  });
  return out;
}
