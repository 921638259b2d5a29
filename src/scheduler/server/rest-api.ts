/**
 * The REST API under /api: Kubernetes-shaped objects, lists, watches and Status errors. Every request
 * must carry an API token ("Authorization: Bearer <token>"); the router never runs for one that does
 * not.
 *
 * Routes (all under /api/v1):
 *   POST   apply                                          create or update every object of a manifest
 *   GET    nodes[/NAME], events, <resource>               cluster-wide lists (?watch=true streams)
 *   PATCH  nodes/NAME                                     merge patch (cordon: {"spec":{"unschedulable":true}})
 *   DELETE nodes/NAME                                     the node and the pods bound to it
 *   GET|POST namespaces, GET|PATCH|DELETE namespaces/NAME  Namespace objects (DELETE: with everything in it)
 *   GET    namespaces/NS/<resource>|events                one namespace (?watch=true streams)
 *   POST   namespaces/NS/<resource>                       create one object
 *   GET|PUT|PATCH|DELETE namespaces/NS/<resource>/NAME    PUT: the whole object (metadata.resourceVersion, when set,
 *                                                  must be current: 409 Conflict); PATCH: merge, strategic merge
 *                                                  (api/strategic-merge.ts) or JSON patch, by Content-Type
 *   GET|PUT|PATCH namespaces/NS/deployments|statefulsets/NAME/scale  an autoscaling/v1 Scale
 *   GET|PUT|PATCH namespaces/NS/<resource>/NAME/status   the status alone
 *   POST   namespaces/NS/deployments/NAME/rollback        {toRevision?}: rollout undo
 *   GET    namespaces/NS/pods/NAME/log                    text, streamed with follow=true
 *   POST   namespaces/NS/pods/NAME/exec                   {command, container?} → {stdout, stderr, exitCode}
 *   GET|POST clusterroles|clusterrolebindings, GET|PATCH|DELETE clusterroles|clusterrolebindings/NAME
 * Access reviews, users' and service accounts' tokens: see rest-access.ts. Every request is
 * authenticated and authorized there (RBAC) before it is routed.
 *   GET|POST bootstraptokens, DELETE bootstraptokens/ID   agents' join tokens (bootstrap-tokens-api.ts)
 * Lists take labelSelector=k=v,k!=v,k in (a,b),k notin (a),k,!k (api/label-selector.ts) and
 * fieldSelector=path=value,path!=value.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import {
  decodeObjects,
  unknownFieldPaths,
  duplicateJsonKeys,
  formatBytes,
  MAX_REQUEST_BODY_BYTES,
  type DecodedObjects,
  isRbacKind,
  kindEntry,
  kindOfResource,
  formatLabelSelector,
  labelsMatch,
  parseLabelSelector,
  type LabelRequirement,
  withJobSelector,
  ManifestError,
  MESSAGE_VERSION,
  type AnyObject,
  type LabelSelector,
  type Pod,
  strategicMergePatch,
  jsonPatch,
  jsonDepthProblem,
  MAX_JSON_PATCH_OPERATIONS,
  statusProblems,
  recordUpdate,
} from '../../api/index.js';
import { CoreletError, invalidArgument, notFound, type Logger, messageOf } from '../../lib/index.js';
import type { NodeCertificates, Pki, TokenRecord } from '../auth/index.js';
import { requestAttributes, type AuditSink } from '../rbac/index.js';
import { AccessError, accessRoute, auditFinished, checkAccess, type AccessContext, type AuthorizationMode } from './rest-access.js';
import { deletePod, rolloutUndo } from '../controllers/index.js';
import { requestedGracePeriod } from './delete-options.js';
import { admitWrite, deleteNamespace, namespaceLevelWarnings, podSecurityWarnings, refuseInternalVolumes, ServiceAllocator } from '../admission/index.js';
import { API_VERSIONS, MAX_OBJECT_BYTES, STORE_KINDS, groupOfKind, isNamespaced, type ObjectInput, type Store, type StoreKind, type StoredObject, type WatchChange } from '../store/index.js';
import type { NodeSessions } from './node-sessions.js';
import type { PodExecOptions, PodLogOptions, PodProxy } from './pod-proxy.js';
import { podLogOptions } from './log-options.js';
import { bootstrapTokensRoute } from './bootstrap-tokens-api.js';
import { requestedTimeoutSeconds, streamLifetime, streamTimeoutMs, type StreamLifetime } from './stream-lifetime.js';
import type { TokenStore } from '../auth/index.js';
import { DecoderBusyError, decodeObjectsOffLoop, INLINE_DECODE_BYTES, type DecodeSlots } from './decode-off-loop.js';
import { isBigList, sendListInSlices } from './send-list.js';
import { apiPath } from './discovery.js';
import { decodeProtobufBody, PROTOBUF_TYPE, ProtobufError } from './protobuf.js';
import { asPartialMetadata, asTable, eventOnWire, includeObjectParam, metadataRequested, tableRequested } from './table.js';
import { openApiRoute } from './openapi.js';
import { checkFields, fieldValidationOf, type FieldValidation } from './field-validation.js';
import { CONTINUE_TOKEN_TTL_SECONDS, encodeContinue, versionParams, type VersionParams } from './list-chunks.js';
import { historyOf } from './watch-history.js';
import { appliedConfiguration, checkManagedFields, serverSideApply, updateManager, writeRequestOf, type WriteRequest } from './server-side-apply.js';

/** Largest request body accepted: kube-apiserver's 3 MiB (a manifest of several objects, each at most 1.5 MiB). */
export const MAX_BODY_BYTES = MAX_REQUEST_BODY_BYTES;

/** A watch whose client reads slower than this much unsent output is closed (it can list again). */
const MAX_WATCH_BACKLOG_BYTES = 16 * 1024 * 1024;
/** A resumed watch replays at most this much of the history (stored JSON text); more is 410 Expired: the client lists. */
const MAX_WATCH_REPLAY_BYTES = 4 * 1024 * 1024;
/** How far in the future a continue token's issue time may be (this server's clock moving back a little). */
const CONTINUE_TOKEN_CLOCK_SKEW_SECONDS = 60;

/** How often a watch that allows bookmarks gets one (kube-apiserver: about once a minute). */
const WATCH_BOOKMARK_MS = 60_000;

/** The annotation of the BOOKMARK that ends a watch's initial ADDED events (as Kubernetes marks it). */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

/** Response header of POST apply: what happened to each object, in order (created, configured, unchanged). */
export const APPLY_RESULTS_HEADER = 'corelet-apply-results';

/**
 * URL resource names (plural, lower case, as kubectl uses them) → stored kind, for the routes every
 * stored kind shares: the kind registry's kinds but nodes and events, which have routes of their own.
 */
export const RESOURCES: Readonly<Record<string, StoreKind>> = Object.assign(
  Object.create(null) as Record<string, StoreKind>, // a URL segment such as "constructor" finds nothing
  Object.fromEntries(STORE_KINDS.filter((k) => k !== 'Node').map((k) => [kindEntry(k).plural, k])),
);

/** What the API handler needs. */
export interface RestApiOptions {
  store: Store;
  sessions: NodeSessions;
  tokenLookup: (id: string) => TokenRecord | undefined;
  logger: Logger;
  now: () => Date;
  /** Called after writes that may leave pods to schedule or controllers to run. */
  onPodsChanged?: () => void;
  /** Reaches bound pods' containers for logs and exec; without it those routes answer 501. */
  podProxy?: PodProxy;
  /** RBAC (default) or AlwaysAllow. */
  authorizationMode?: AuthorizationMode;
  /** Where writes, exec and refusals are recorded. */
  audit?: AuditSink;
  /** Signs users' client certificates. */
  pki?: Pki;
  /** Stores new token records (users, service accounts). */
  addToken?: (record: TokenRecord) => void;
  /** The caller of the request being routed (set by handleApiRequest). */
  access?: AccessContext;
  /** The request's ?fieldValidation= (set by handleApiRequest): what unknown fields of a create or patch do. */
  fieldValidation?: FieldValidation;
  /** The field manager and force flag of the request being routed (set by handleApiRequest). */
  writeRequest?: WriteRequest;
  /** Bootstrap token records for /api/v1/bootstraptokens (bootstrap-tokens-api.ts); 404 without. */
  bootstrapTokens?: TokenStore;
  /**
   * Watches and log follows end after a random time between 1× and 2× this (kube-apiserver's
   * --min-request-timeout, default 1800 s); a watch's ?timeoutSeconds= may shorten it.
   */
  minRequestTimeoutSeconds?: number;
  /** How often a stream's caller is checked again (a deleted token ends it); 5 s by default. */
  streamRecheckMs?: number;
  /** Node certificates: REST authentication checks them; DELETE of a node name revokes them. */
  nodeCertificates?: NodeCertificates;
  /** The decoder's worker slots (decode-off-loop.ts); the process-wide ones by default. */
  decodeSlots?: DecodeSlots;
  /** Cluster IPs and node ports of Services; the default service range and node ports when absent. */
  services?: ServiceAllocator;
}

const DEFAULT_SERVICE_ALLOCATOR = new ServiceAllocator();

/** Allocates a Service's cluster IP and node ports in the caller's transaction (other kinds: nothing). */
function allocateService(opts: RestApiOptions, kind: StoreKind, obj: unknown, current?: unknown): void {
  if (kind !== 'Service') return;
  (opts.services ?? DEFAULT_SERVICE_ALLOCATOR).allocate(opts.store, obj as Parameters<ServiceAllocator['allocate']>[1], current as Parameters<ServiceAllocator['allocate']>[2]);
}

/** An HTTP failure with a Kubernetes Status reason. */
class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** More of the Status details (causes, retryAfterSeconds). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const STATUS_OF_KIND: Record<string, [number, string]> = {
  NotFound: [404, 'NotFound'],
  AlreadyExists: [409, 'AlreadyExists'],
  InvalidArgument: [400, 'BadRequest'],
  FailedPrecondition: [409, 'Conflict'],
  PermissionDenied: [403, 'Forbidden'],
  Unavailable: [503, 'ServiceUnavailable'],
  Unimplemented: [501, 'NotImplemented'],
  DeadlineExceeded: [504, 'Timeout'],
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}, details?: Record<string, unknown>): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code }, headers);
}

function list(kind: string, items: unknown[], resourceVersion: string): unknown {
  return { kind: `${kind}List`, apiVersion: kind === 'Event' ? 'v1' : API_VERSIONS[kind as StoreKind] ?? 'v1', metadata: { resourceVersion }, items };
}

function tooLarge(what: string): HttpError {
  return new HttpError(413, 'RequestEntityTooLarge', `request body ${what} is over the limit of ${formatBytes(MAX_BODY_BYTES)} per request (as kube-apiserver's): split the manifest into several files`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw tooLarge(`of ${formatBytes(declared)}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge(`of more than ${formatBytes(MAX_BODY_BYTES)}`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body as a manifest, decoded off the event loop when big (decode-off-loop.ts), and its text. */
async function readManifest(req: IncomingMessage, opts: Pick<RestApiOptions, 'decodeSlots' | 'access'>, beforeWorker?: () => void): Promise<DecodedObjects & { text: string }> {
  // An object in Kubernetes' protobuf (kubectl create namespace|deployment|...: typed clients) as JSON (protobuf.ts).
  const text = isProtobuf(req) ? JSON.stringify(await readJson(req)) : await readBody(req);
  // JSON (or YAML's flow style) nested too deep for the decoders: refused before any of them recurses.
  if (/^\s*[{[]/.test(text)) checkJsonDepth(text, 'request body');
  if (beforeWorker && Buffer.byteLength(text) > INLINE_DECODE_BYTES) beforeWorker();
  try {
    return { ...(await decodeObjectsOffLoop(text, 'request body', { slots: opts.decodeSlots })), text };
  } catch (err) {
    // An invalid object (one JSON object, as clients send it) is named in the Status details and the audit record.
    if (err instanceof ManifestError && opts.access && opts.access.auditName === undefined) {
      const name = jsonObjectName(text);
      if (name !== undefined) opts.access.auditName = name;
    }
    throw err;
  }
}

/** metadata.name of a body that is one JSON object, if it has one. */
function jsonObjectName(text: string): string | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const name = (JSON.parse(text) as { metadata?: { name?: unknown } }).metadata?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

const isProtobuf = (req: IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === PROTOBUF_TYPE;

/** The body as JSON (or Kubernetes' protobuf of the kinds protobuf.ts reads); undefined when empty. */
/** A body nested deeper than MAX_JSON_DEPTH: 400, before it is parsed (the patchers and decoders recurse per level). */
function checkJsonDepth(text: string, what: string): void {
  const problem = jsonDepthProblem(text);
  if (problem) throw invalidArgument(`${what}: ${problem}`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (isProtobuf(req)) {
    try {
      return decodeProtobufBody(await readBodyBytes(req));
    } catch (err) {
      if (err instanceof ProtobufError) throw new HttpError(err.unsupported ? 415 : 400, err.unsupported ? 'UnsupportedMediaType' : 'BadRequest', err.message);
      throw err;
    }
  }
  const text = await readBody(req);
  if (text.trim() === '') return undefined;
  return parseJsonBody(text, 'request body');
}

/** A JSON body (WHAT names it in the 400): its nesting checked before anything recurses, then parsed. */
function parseJsonBody(text: string, what: string): unknown {
  checkJsonDepth(text, 'request body');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${messageOf(err)}`);
  }
}

/** ?labelSelector=: undefined when absent or empty (everything), else its requirements. */
function labelSelectorParam(s: string | null): LabelRequirement[] | undefined {
  return s ? parseLabelSelector(s) : undefined;
}

/** One term of a field selector: the value at a dotted path equals (or not) a string. */
export interface FieldTerm {
  path: string;
  equal: boolean;
  value: string;
}

/** "spec.nodeName=n1,metadata.name!=x" → terms. Any dotted field path may be used. */
export function parseFieldSelector(s: string | null): FieldTerm[] {
  if (!s) return [];
  return s.split(',').map((part) => {
    const m = /^\s*([A-Za-z][A-Za-z0-9.]*)\s*(!=|==|=)\s*([^=,\s]*)\s*$/.exec(part);
    if (!m) throw invalidArgument(`fieldSelector: unsupported term ${JSON.stringify(part)} (use path=value or path!=value, e.g. spec.nodeName=node-1)`);
    return { path: m[1], equal: m[2] !== '!=', value: m[3] };
  });
}

/** True when obj satisfies every term; a missing field counts as "". */
export function fieldsMatch(obj: unknown, terms: readonly FieldTerm[]): boolean {
  return terms.every((t) => {
    let v: unknown = obj;
    for (const key of t.path.split('.')) v = isRecord(v) ? v[key] : undefined;
    const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return (s === t.value) === t.equal;
  });
}

/**
 * RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything else (arrays
 * included) replaces. Returns a new value; target is not changed.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * A JSON patch applied within kube-apiserver's bounds: more than MAX_JSON_PATCH_OPERATIONS operations
 * is 413 RequestEntityTooLarge; an operation that would make the object larger than an object may be
 * (the store's limit) is refused before the value is built.
 */
function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw invalidArgument('a JSON patch must be a list of operations, like [{"op": "replace", "path": "/spec/replicas", "value": 3}]');
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new HttpError(413, 'RequestEntityTooLarge', `The request entity is too large: the JSON patch has ${ops.length} operations, more than the limit of ${MAX_JSON_PATCH_OPERATIONS}`);
  }
  try {
    return jsonPatch(doc, ops, { maxBytes: MAX_OBJECT_BYTES });
  } catch (err) {
    // A patch that does not apply (a missing path, a failed test): 422, as kube-apiserver.
    if (err instanceof CoreletError && err.kind === 'InvalidArgument') throw unprocessable([err.message]);
    throw err;
  }
}

function resourceKind(resource: string): StoreKind {
  const kind = RESOURCES[resource];
  if (!kind) throw new HttpError(404, 'NotFound', `the server could not find the requested resource "${resource}" (known: ${Object.keys(RESOURCES).join(', ')}, nodes, events)`);
  return kind;
}

/**
 * Handles one request: authenticates, routes, and answers with JSON (or a stream for watches and
 * logs). Errors become Kubernetes Status bodies: 401 Unauthorized, 404 NotFound, 409
 * AlreadyExists/Conflict, 400 BadRequest...
 */
export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, opts: RestApiOptions): Promise<void> {
  // Audited when the handler is done, with the code it answered (or would have: a client that hung
  // up mid-exec still gets its exec recorded; 'finish' never fires for a destroyed response).
  let access: AccessContext | undefined;
  let code = 500;
  let clientGone = false;
  const failed = (status: number, message: string) => {
    code = status;
    if (access) access.failure = message;
  };
  try {
    const url = new URL(req.url ?? '/', 'https://scheduler');
    access = checkAccess(req, url, opts);
    const openApi = openApiRoute(req.method ?? 'GET', url.pathname, url.searchParams, req.headers['if-none-match']);
    if (openApi) {
      code = openApi.status;
      res.writeHead(openApi.status, openApi.headers).end(req.method === 'HEAD' ? undefined : openApi.body);
      return;
    }
    const reply = (await accessRoute(req, url, access, opts, () => readJson(req))) ?? (await route(req, { ...opts, access, writeRequest: writeRequestOf(url, req.headers), fieldValidation: WRITE_METHODS.has(req.method ?? '') ? fieldValidationOf(url.searchParams) : undefined }));
    clientGone = res.destroyed;
    if ('stream' in reply) {
      code = 200;
      await reply.stream(res);
      code = res.statusCode;
    } else {
      code = reply.status;
      // kubectl's server-side printing (table.ts): a GET that asks for a Table gets one.
      const body = req.method === 'GET' && reply.status === 200 ? tableIfAsked(req, url, reply.body, opts.now()) : reply.body;
      if (isBigList(body)) await sendListInSlices(res, reply.status, body, reply.headers);
      else sendJson(res, reply.status, body, reply.headers);
    }
  } catch (err) {
    if (res.headersSent || res.destroyed) {
      // A stream that failed midway: the client sees it cut short; nothing else can be said.
      opts.logger.debug({ err, url: req.url }, 'API stream ended by an error');
      if (!res.headersSent) {
        clientGone = true;
        const [status] = err instanceof HttpError || err instanceof AccessError ? [err.code] : err instanceof CoreletError && STATUS_OF_KIND[err.kind] ? STATUS_OF_KIND[err.kind] : [500];
        failed(status, messageOf(err));
      }
      res.destroy();
      return;
    }
    // A refusal before the body was read: drain it, so the connection stays usable for the next request.
    if (!req.readableEnded) req.resume();
    // Status details as kube-apiserver gives them: the resource (its group, plural, name) the request was about.
    const details = statusDetails(access, err, req);
    if (err instanceof HttpError || err instanceof AccessError) {
      failed(err.code, err.message);
      const more = err instanceof HttpError ? err.details : undefined;
      sendStatus(res, err.code, err.reason, err.message, err.code === 401 ? { 'www-authenticate': 'Bearer' } : {}, err.code === 401 ? undefined : more ? { ...details, ...more } : details);
      return;
    }
    if (err instanceof DecoderBusyError) {
      failed(429, err.message);
      sendStatus(res, 429, 'TooManyRequests', err.message, { 'retry-after': String(err.retryAfterSeconds) }, { ...details, retryAfterSeconds: err.retryAfterSeconds });
      return;
    }
    if (err instanceof CoreletError && STATUS_OF_KIND[err.kind]) {
      // An invalid object is 422 Invalid, as kube-apiserver (a body it cannot decode at all stays 400 BadRequest).
      const [status, reason] = (err instanceof ManifestError && !err.undecodable) || UNPROCESSABLE.has(err) ? [422, 'Invalid'] : STATUS_OF_KIND[err.kind];
      failed(status, err.message);
      sendStatus(res, status, err instanceof ManifestError && !err.undecodable ? 'Invalid' : reason, err.message, {}, details);
      return;
    }
    opts.logger.error({ err, method: req.method, url: req.url }, 'API request failed');
    failed(500, messageOf(err));
    sendStatus(res, 500, 'InternalError', messageOf(err), {}, details);
  } finally {
    if (access) {
      try {
        auditFinished(opts, access, code, clientGone);
      } catch (err) {
        opts.logger.error({ err }, 'could not write the audit record');
      }
    }
  }
}

/**
 * A failure's Status details: the group, resource (Kubernetes' "kind" there is the plural) and name
 * of a resource request, and for an invalid object each problem as a cause.
 */
function statusDetails(access: AccessContext | undefined, err: unknown, req: IncomingMessage): Record<string, unknown> | undefined {
  // Refused before the caller was known (403 of checkAccess): the attributes of the request line.
  const url = new URL(req.url ?? '/', 'https://scheduler');
  const a = access?.attrs ?? requestAttributes(req.method ?? 'GET', url.pathname, flag(url, 'watch'));
  const causes = err instanceof ManifestError ? err.problems.map(invalidCause) : [];
  if ((!a || a.kind !== 'resource') && causes.length === 0) return undefined;
  // An invalid object is named by its Kind (kubectl prints `The Role "r" is invalid: ...`), other failures by the resource.
  const kind = a?.kind === 'resource' ? (causes.length ? (kindOfResource(a.resource)?.kind ?? a.resource) : a.resource) : undefined;
  return {
    ...(a?.kind === 'resource' ? { ...(a.name ? { name: a.name } : access?.auditName ? { name: access.auditName } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), kind } : {}),
    ...(causes.length ? { causes } : {}),
  };
}

/** A decoder's problem ("request body: rules[0].apiGroups: required value") as a Status cause with its field. */
function invalidCause(problem: string): { reason: string; message: string; field?: string } {
  const m = /^(?:[^\n]*?: )??([a-z][A-Za-z0-9]*(?:\[\d+\]|\.[A-Za-z][\w-]*)+): ([^]*)$/.exec(problem);
  return m ? { reason: 'FieldValueInvalid', message: m[2], field: m[1] } : { reason: 'FieldValueInvalid', message: problem };
}

type Reply =
  | {
      status: number;
      body: unknown;
      headers?: Record<string, string>;
    }
  | {
      /** Writes the whole response itself; resolves when it is over. */
      stream: (res: ServerResponse) => Promise<void>;
    };

/** What a list or watch selects. */
interface Selection {
  kind: StoreKind | 'Event';
  /** undefined: every namespace. */
  namespace?: string;
  labelSelector?: readonly LabelRequirement[];
  fields: FieldTerm[];
  /** What a watch sends of each object (a Table row when the client asked for Tables: table.ts). */
  render?: (object: unknown) => unknown;
}

/** The body as the Table (or metadata only) the request's Accept asks for (table.ts), or as it is. */
function tableIfAsked(req: IncomingMessage, url: URL, body: unknown, now: Date): unknown {
  const version = tableRequested(req.headers.accept);
  if (version) return asTable(body, { version, includeObject: includeObjectParam(url.searchParams.get('includeObject')), now });
  const metadata = metadataRequested(req.headers.accept);
  return metadata ? asPartialMetadata(body, metadata) : body;
}

/** For a watch asking for Tables: each object as a Table of one row, the columns in the first only (or, asked, its metadata only). */
function watchRenderer(req: IncomingMessage, url: URL, now: () => Date): Selection['render'] {
  const version = tableRequested(req.headers.accept);
  if (!version) {
    const metadata = metadataRequested(req.headers.accept);
    return metadata ? (object) => asPartialMetadata(object, metadata) : undefined;
  }
  const includeObject = includeObjectParam(url.searchParams.get('includeObject'));
  let first = true;
  return (object) => {
    const table = asTable(object, { version, includeObject, now: now(), noHeaders: !first });
    first = false;
    return table;
  };
}

/** The methods whose body is decoded as an object: the ones ?fieldValidation= applies to. */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

const flag = (url: URL, name: string) => ['true', '1'].includes(url.searchParams.get(name) ?? '');

async function route(req: IncomingMessage, opts: RestApiOptions): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'https://scheduler');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = req.method ?? 'GET';
  // Discovery, and the path below /api/v1 or /apis/GROUP/VERSION (a kind under its own group only): discovery.ts.
  const resolved = apiPath(parts, req.headers.accept);
  if ('notFound' in resolved) throw new HttpError(404, 'NotFound', resolved.notFound);
  if (resolved.discovery) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, url.pathname);
    const { body, contentType } = resolved;
    if (typeof body === 'string') return { stream: async (res) => void res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body) };
    return { status: 200, body, headers: { 'content-type': contentType } };
  }
  const rest = resolved.rest;
  const labelSelector = labelSelectorParam(url.searchParams.get('labelSelector'));
  const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
  const collection = (sel: Selection): Reply => {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname);
    const versions = versionParams(url.searchParams);
    return flag(url, 'watch') ? watch({ ...sel, render: watchRenderer(req, url, opts.now) }, flag(url, 'allowWatchBookmarks'), requestedTimeoutSeconds(url), opts, versions) : listReply(sel, opts, versions);
  };

  // /api/v1/apply
  if (rest.length === 1 && rest[0] === 'apply') {
    if (method !== 'POST') throw methodNotAllowed(method, url.pathname);
    // A body big enough for the decoding workers (a shared, bounded resource) is decoded only for a
    // caller who may write something at all; small ones are decoded inline and each object is
    // authorized as usual (the refusal names the object's resource and namespace, as kubectl shows).
    return apply(await readManifest(req, opts, () => opts.access?.requireSomeApply(Object.keys(RESOURCES))), opts);
  }
  // /api/v1/bootstraptokens(/ID)
  if (rest[0] === 'bootstraptokens' && rest.length <= 2 && opts.bootstrapTokens) {
    if (!(rest.length === 1 ? ['GET', 'POST'] : ['DELETE']).includes(method)) throw methodNotAllowed(method, url.pathname);
    return bootstrapTokensRoute(opts.bootstrapTokens, method, rest, method === 'POST' ? await readBody(req) : undefined, opts.now());
  }
  // /api/v1/events, /api/v1/nodes(/name)
  if (rest.length === 1 && rest[0] === 'events') return collection({ kind: 'Event', fields });
  if (rest[0] === 'nodes' && rest.length === 1) return collection({ kind: 'Node', labelSelector, fields });
  if (rest[0] === 'nodes' && rest.length === 2) return nodeRoute(req, method, rest[1], opts);
  // /api/v1/namespaces (POST) and /api/v1/namespaces/NAME: the Namespace objects themselves
  if (rest[0] === 'namespaces' && (rest.length === 2 || (rest.length === 1 && method === 'POST'))) return namespaceRoute(req, method, rest[1], opts);
  const clusterKind = RESOURCES[rest[0]];
  if (clusterKind && !isNamespaced(clusterKind) && rest.length <= 2) return clusterObjectRoute(req, method, clusterKind, rest[0], rest[1], collection, opts);
  // /api/v1/<resource>: all namespaces
  if (rest.length === 1) {
    const kind = resourceKind(rest[0]);
    return collection({ kind, labelSelector, fields });
  }
  if (rest[0] !== 'namespaces' || rest.length < 3 || rest.length > 5) throw new HttpError(404, 'NotFound', `no such path ${url.pathname}`);
  // /api/v1/namespaces/<ns>/<resource>(/<name>(/<subresource>))
  const [, ns, resource, name, sub] = rest;
  if (resource === 'events' && rest.length === 3) return collection({ kind: 'Event', namespace: ns, fields });
  const kind = resourceKind(resource);
  // A cluster-scoped kind has no collection inside a namespace (Kubernetes answers 404 too).
  if (!isNamespaced(kind)) throw new HttpError(404, 'NotFound', `the server could not find the requested resource: ${resource} are cluster-scoped, use /api/v1/${resource}`);
  if (name === undefined) {
    if (method === 'POST') return done(opts, createFromBody(kind, ns, await readManifest(req, opts), opts));
    return collection({ kind, namespace: ns, labelSelector, fields });
  }
  if (sub !== undefined) return subresource(req, method, url, kind, ns, name, sub, opts);
  if (method === 'GET') {
    const obj = opts.store.get(kind, ns, name);
    if (!obj) throw notFound(`${resource} "${name}" not found in namespace ${ns}`);
    return { status: 200, body: obj };
  }
  if (method === 'PATCH') {
    const { object, warnings, created } = patch(kind, ns, name, await readBody(req), req.headers['content-type'], opts);
    return done(opts, { status: created ? 201 : 200, body: object, headers: warningHeaders(warnings) });
  }
  if (method === 'PUT') return done(opts, replaceObject(kind, ns, name, await readManifest(req, opts), opts));
  if (method === 'DELETE' && opts.writeRequest?.dryRun) return dryRunDelete(kind, ns, name, opts);
  if (method === 'DELETE' && kind === 'Pod') {
    // Graceful (controllers/pod-deletion.ts): a pod on a node stays Terminating until its agent confirms.
    const body = isProtobuf(req) ? JSON.stringify(await readJson(req)) : await readBody(req);
    const deletion = deletePod(opts.store, ns, name, opts.now(), requestedGracePeriod(url.searchParams, body));
    if (!deletion) throw notFound(`${resource} "${name}" not found in namespace ${ns}`);
    const nodeName = deletion.pod.spec?.nodeName;
    if (nodeName && deletion.removed) opts.sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: deletion.pod.metadata.uid, reason: 'Deleted', gracePeriodSeconds: 0 });
    else if (nodeName) opts.sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: deletion.pod.metadata.uid, reason: 'Deleted', gracePeriodSeconds: deletion.gracePeriodSeconds });
    return done(opts, { status: 200, body: deletion.pod });
  }
  if (method === 'DELETE') {
    const gone = opts.store.delete<StoredObject & { spec?: { nodeName?: string } }>(kind, ns, name);
    if (!gone) throw notFound(`${resource} "${name}" not found in namespace ${ns}`);
    // A bound pod's agent must stop it; an agent without a session resyncs when it registers.
    if (kind === 'Pod' && gone.spec?.nodeName) {
      opts.sessions.send(gone.spec.nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: gone.metadata.uid, reason: 'Deleted' });
    }
    return done(opts, { status: 200, body: gone });
  }
  throw methodNotAllowed(method, url.pathname);
}

function methodNotAllowed(method: string, path: string): HttpError {
  return new HttpError(405, 'MethodNotAllowed', `${method} is not supported on ${path}`);
}

/** The Content-Type of a server-side apply (a PATCH whose body is the caller's whole intent, YAML or JSON). */
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

/** 409 Conflict for a write whose resourceVersion precondition no longer holds, worded as kube-apiserver words it. */
function conflict(kind: StoreKind, name: string): HttpError {
  const group = groupOfKind(kind);
  return new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${resourceOfKind(kind)}${group ? `.${group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
}

/** A successful write: tells the control loop, which schedules pods and runs controllers. */
function done(opts: RestApiOptions, reply: Reply): Reply {
  opts.onPodsChanged?.();
  return reply;
}

function warningHeaders(warnings: readonly string[]): Record<string, string> {
  // Header values must be printable ASCII, or writeHead throws.
  if (warnings.length === 0) return {};
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[^\x20-\x7e]+/g, ' '))}`).join(', ') };
}

/** The objects (or events) a selection names, as stored now. */
function select(sel: Selection, store: Store): unknown[] {
  if (sel.kind === 'Event') return store.listEvents({ namespace: sel.namespace }).filter((e) => fieldsMatch(e, sel.fields)).map(eventOnWire);
  return store.list(sel.kind, { namespace: isNamespaced(sel.kind) ? sel.namespace : undefined, labelSelector: sel.labelSelector }).filter((o) => fieldsMatch(o, sel.fields));
}

/**
 * A list, in chunks when ?limit= asks (events: always whole). A chunk ends with metadata.continue
 * when more follow; every chunk reports the first one's resourceVersion. The chunks are read from
 * the store as it is when each is asked for (no snapshot: an object changed meanwhile shows its new
 * state); a token older than CONTINUE_TOKEN_TTL_SECONDS is 410 Gone (Expired), as kube-apiserver
 * answers a token whose revision etcd has compacted (client-go then lists whole).
 */
function listReply(sel: Selection, opts: RestApiOptions, versions: VersionParams = { sendInitialEvents: false }): Reply {
  const { store } = opts;
  historyOf(store); // from now on, a watch can resume from the version this list reports
  const { limit, continueFrom } = versions;
  if (sel.kind === 'Event' || (limit === undefined && continueFrom === undefined)) return { status: 200, body: list(sel.kind, select(sel, store), store.resourceVersion()) };
  const now = Math.floor(opts.now().getTime() / 1000);
  // A token claiming to come from the future (a later issue time or version than this server has) is not one it gave.
  if (continueFrom && (continueFrom.issuedAt > now + CONTINUE_TOKEN_CLOCK_SKEW_SECONDS || Number(continueFrom.rv) > Number(store.resourceVersion()))) {
    throw invalidArgument('continue: the token is not one this server gave (list again without it)');
  }
  if (continueFrom && now - continueFrom.issuedAt > CONTINUE_TOKEN_TTL_SECONDS) {
    throw new HttpError(
      410,
      'Expired',
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    );
  }
  const rv = continueFrom?.rv ?? store.resourceVersion();
  const kind = sel.kind;
  const items: StoredObject[] = [];
  let after = continueFrom ? { namespace: continueFrom.namespace, name: continueFrom.name } : undefined;
  let more = false;
  // One more than the limit tells whether another chunk follows; a field selector may drop some of each batch.
  for (;;) {
    const want = (limit ?? Number.MAX_SAFE_INTEGER) + 1 - items.length;
    const batch = store.list<StoredObject>(kind, { namespace: isNamespaced(kind) ? sel.namespace : undefined, labelSelector: sel.labelSelector, ...(after ? { after } : {}), limit: Math.min(want, 10_000) });
    for (const obj of batch) if (fieldsMatch(obj, sel.fields)) items.push(obj);
    if (limit !== undefined && items.length > limit) {
      items.length = limit;
      more = true;
      break;
    }
    if (batch.length < Math.min(want, 10_000)) break;
    const last = batch[batch.length - 1].metadata;
    after = { namespace: last.namespace ?? '', name: last.name };
  }
  const body = list(kind, items, rv) as { metadata: Record<string, unknown> };
  if (more) {
    const last = items[items.length - 1].metadata;
    body.metadata.continue = encodeContinue({ rv, namespace: last.namespace ?? '', name: last.name, issuedAt: continueFrom?.issuedAt ?? now });
    // As kube-apiserver: how many follow, when no selector makes that costly to know.
    if (!sel.labelSelector?.length && sel.fields.length === 0) {
      body.metadata.remainingItemCount = store.count(kind, { namespace: isNamespaced(kind) ? sel.namespace : undefined, after: { namespace: last.namespace ?? '', name: last.name } });
    }
  }
  return { status: 200, body };
}

/** True when a stored object (not an event) belongs to the selection. */
function objectSelected(obj: Readonly<StoredObject>, sel: Selection): boolean {
  if (sel.namespace !== undefined && sel.kind !== 'Node' && obj.metadata.namespace !== sel.namespace) return false;
  if (sel.labelSelector && !labelsMatch(sel.labelSelector, obj.metadata.labels)) return false;
  return fieldsMatch(obj, sel.fields);
}

/**
 * A watch: newline-delimited JSON {"type": "ADDED"|"MODIFIED"|"DELETED", "object": {...}}, starting
 * with an ADDED event per object selected now (then, with bookmarks, a BOOKMARK annotated
 * k8s.io/initial-events-end), then every committed change. An object that stops matching the
 * selectors is sent as DELETED, one that starts matching as ADDED, as Kubernetes does. Ends when the
 * client goes away, cleanly at its timeout (stream-lifetime.ts), or when its caller's token,
 * ServiceAccount or permission is gone.
 */
function watch(sel: Selection, bookmarks: boolean, timeoutSeconds: number | undefined, opts: RestApiOptions, versions: VersionParams = { sendInitialEvents: false }): Reply {
  const { store } = opts;
  const history = historyOf(store);
  // ?resourceVersion=N: the changes after N, no initial state (unless sendInitialEvents asks for it).
  const resumeFrom = versions.sendInitialEvents ? undefined : versions.resumeFrom;
  const current = Number(store.resourceVersion());
  if (resumeFrom !== undefined && resumeFrom > current) {
    // A version this server has not reached (one store: it is not lagging behind, waiting would not
    // help): kube-apiserver's answer, which client-go's reflector takes as "list again".
    throw new HttpError(504, 'Timeout', `Too large resource version: ${resumeFrom}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
  return {
    stream: (res) =>
      new Promise<void>((resolve) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
        res.flushHeaders(); // the client learns the watch started even before the first event
        const lifetime = streamLifetime({
          timeoutMs: streamTimeoutMs(timeoutSeconds, opts.minRequestTimeoutSeconds),
          recheckMs: opts.streamRecheckMs,
          stillAllowed: opts.access ? () => opts.access!.stillAllowed() : undefined,
          end: () => res.end(),
        });
        const send = (type: string, object: unknown) => {
          if (res.destroyed || res.writableEnded || !lifetime.check()) return;
          res.write(`${JSON.stringify({ type, object: sel.render && type !== 'BOOKMARK' ? sel.render(object) : object })}\n`);
          if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) {
            opts.logger.warn({ kind: sel.kind }, 'closing a watch whose client does not keep up');
            res.destroy();
          }
        };
        const selected = new Set<string>();
        const onChange = (change: WatchChange) => {
          if (change.kind !== sel.kind) return;
          if (change.kind === 'Event') {
            const e = change.object;
            if (sel.namespace !== undefined && e.involvedObject.namespace !== sel.namespace) return;
            if (fieldsMatch(e, sel.fields)) send(change.type, eventOnWire(e));
            return;
          }
          const uid = change.object.metadata.uid;
          const was = selected.has(uid);
          const is = change.type !== 'DELETED' && objectSelected(change.object, sel);
          if (is) selected.add(uid);
          else selected.delete(uid);
          if (change.type === 'DELETED' || (was && !is)) {
            if (was) send('DELETED', change.object);
          } else if (is) {
            send(was ? 'MODIFIED' : 'ADDED', change.object);
          }
        };
        // Subscribing and listing (or reading the history) in one synchronous step: no commit can fall between.
        const stop = store.watch(onChange);
        const apiVersion = sel.kind === 'Event' ? 'v1' : API_VERSIONS[sel.kind];
        // Bookmarks now and then carry the latest version, so a client resumes from a recent one.
        const bookmarkTimer = bookmarks ? setInterval(() => send('BOOKMARK', { kind: sel.kind, apiVersion, metadata: { resourceVersion: store.resourceVersion() } }), WATCH_BOOKMARK_MS) : undefined;
        bookmarkTimer?.unref();
        res.once('close', () => {
          lifetime.stop();
          clearInterval(bookmarkTimer);
          stop();
          resolve();
        });
        if (resumeFrom === undefined) {
          for (const obj of select(sel, store)) {
            if (sel.kind !== 'Event') selected.add((obj as StoredObject).metadata.uid);
            send('ADDED', obj);
          }
          if (bookmarks) {
            send('BOOKMARK', { kind: sel.kind, apiVersion, metadata: { resourceVersion: store.resourceVersion(), annotations: { [INITIAL_EVENTS_END_ANNOTATION]: 'true' } } });
          }
        } else if (sel.kind !== 'Event') {
          // Only the kind's and namespace's changes are parsed, at most MAX_WATCH_REPLAY_BYTES of them.
          const replay = history.since(resumeFrom, { kind: sel.kind, namespace: sel.namespace, maxBytes: MAX_WATCH_REPLAY_BYTES });
          if (typeof replay === 'string') {
            // As kube-apiserver: the watch starts, then says 410 Gone (Expired) in an ERROR event and ends; the client lists again.
            const message =
              replay === 'too-old'
                ? `too old resource version: ${resumeFrom} (${history.oldestResumable()})`
                : `too old resource version: ${resumeFrom}: the changes since are more than ${formatBytes(MAX_WATCH_REPLAY_BYTES)} to replay; list again`;
            send('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 });
            res.end();
            return;
          }
          for (const obj of select(sel, store)) selected.add((obj as StoredObject).metadata.uid);
          replayChanges(sel, replay, send);
        }
      }),
  };
}

/**
 * A resumed watch's past: the changes after its version, as ADDED/MODIFIED/DELETED for the selection.
 * Whether an object matched before its first replayed change is judged from that change (an object
 * whose labels stopped matching in it is not sent as DELETED).
 */
function replayChanges(sel: Selection, changes: readonly WatchChange[], send: (type: string, object: unknown) => void): void {
  const matched = new Map<string, boolean>();
  for (const change of changes) {
    if (change.kind !== sel.kind || change.kind === 'Event') continue;
    const obj = change.object;
    const uid = obj.metadata.uid;
    const was = matched.get(uid) ?? (change.type !== 'ADDED' && objectSelected(obj, sel));
    const is = change.type !== 'DELETED' && objectSelected(obj, sel);
    matched.set(uid, is);
    if (change.type === 'DELETED' || (was && !is)) {
      if (was) send('DELETED', obj);
    } else if (is) send(was ? 'MODIFIED' : 'ADDED', obj);
  }
}

async function nodeRoute(req: IncomingMessage, method: string, name: string, opts: RestApiOptions): Promise<Reply> {
  const { store } = opts;
  if (method === 'GET') {
    const node = store.get('Node', '', name);
    if (!node) throw notFound(`nodes "${name}" not found`);
    return { status: 200, body: node };
  }
  if (method === 'PATCH') {
    const { object } = patch('Node', '', name, await readBody(req), req.headers['content-type'], opts);
    return done(opts, { status: 200, body: object });
  }
  if (method === 'DELETE' && opts.writeRequest?.dryRun) return dryRunDelete('Node', '', name, opts);
  if (method === 'DELETE') {
    // The node's pods go with it, as Kubernetes' pod garbage collector removes pods of deleted nodes;
    // their controllers make replacements elsewhere.
    const { node, pods } = store.transaction(() => {
      const pods = store.list<StoredObject>('Pod', { nodeName: name });
      const node = store.delete('Node', '', name);
      for (const p of node ? pods : []) store.delete('Pod', p.metadata.namespace, p.metadata.name);
      return { node, pods: node ? pods : [] };
    });
    if (!node) {
      // A name with certificates but no Node yet (issued, never registered): free it.
      if (opts.nodeCertificates?.revoke(name)) {
        return done(opts, { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: `the certificates issued for node ${name} were revoked (it had not registered)`, details: { name, kind: 'nodes' } } });
      }
      throw notFound(`nodes "${name}" not found`);
    }
    for (const p of pods) opts.sessions.send(name, { v: MESSAGE_VERSION, type: 'unassign', uid: p.metadata.uid, reason: 'NodeDeleted' });
    return done(opts, { status: 200, body: node });
  }
  throw methodNotAllowed(method, `/api/v1/nodes/${name}`);
}

async function subresource(
  req: IncomingMessage,
  method: string,
  url: URL,
  kind: StoreKind,
  ns: string,
  name: string,
  sub: string,
  opts: RestApiOptions,
): Promise<Reply> {
  const path = url.pathname;
  if (kind === 'Pod' && sub === 'log') {
    if (method !== 'GET') throw methodNotAllowed(method, path);
    const logOpts: PodLogOptions = podLogOptions(url.searchParams, opts.now());
    const proxy = podProxyOf(opts);
    const pod = boundPod(opts.store, ns, name);
    const lifetime = (end: () => void): StreamLifetime | undefined =>
      logOpts.follow
        ? streamLifetime({
            timeoutMs: streamTimeoutMs(undefined, opts.minRequestTimeoutSeconds),
            recheckMs: opts.streamRecheckMs,
            stillAllowed: opts.access ? () => opts.access!.stillAllowed() : undefined,
            end,
          })
        : undefined;
    return { stream: (res) => streamLogs(proxy, pod, logOpts, res, lifetime) };
  }
  // kubectl's streams arrive as connection upgrades (server.ts → pod-stream.ts); only the corelet
  // CLI's JSON exec (a POST with a body) is served here.
  if (kind === 'Pod' && (sub === 'attach' || sub === 'portforward' || (sub === 'exec' && method !== 'POST'))) {
    throw new HttpError(400, 'BadRequest', `Upgrade request required: pods/${sub} streams over a WebSocket (v5.channel.k8s.io) or SPDY/3.1 upgrade, as kubectl ${sub === 'portforward' ? 'port-forward' : sub} sends it`);
  }
  if (kind === 'Pod' && sub === 'exec') {
    if (method !== 'POST') throw methodNotAllowed(method, path);
    // A command cannot be run "dry": refused rather than run.
    if (opts.writeRequest?.dryRun) throw new HttpError(400, 'BadRequest', 'dryRun is not supported by pods/exec: the command would run');
    const body = await readJson(req);
    const proxy = podProxyOf(opts);
    const pod = boundPod(opts.store, ns, name);
    // The proxy picks the container when none is named (the default-container annotation, or the only one).
    return { status: 200, body: await proxy.exec(pod, execOptions(body)) };
  }
  if ((kind === 'Deployment' || kind === 'StatefulSet') && sub === 'scale') {
    if (method === 'GET') {
      const obj = opts.store.get<Scalable>(kind, ns, name);
      if (!obj) throw notFound(`${kind} ${ns}/${name} not found`);
      return { status: 200, body: scaleOf(obj) };
    }
    if (method === 'PATCH') return done(opts, { status: 200, body: patchScale(kind, ns, name, await readBody(req), req.headers['content-type'], opts) });
    if (method !== 'PUT') throw methodNotAllowed(method, path);
    return done(opts, { status: 200, body: putScale(kind, ns, name, await readJson(req), opts.store, opts) });
  }
  if (kind === 'Deployment' && sub === 'rollback') {
    if (method !== 'POST') throw methodNotAllowed(method, path);
    const body = await readJson(req);
    if (body !== undefined && !isRecord(body)) throw invalidArgument('rollback: the body must be a JSON object like {"toRevision": 2}');
    const to = body?.toRevision;
    if (to !== undefined && to !== null && (!Number.isInteger(to) || (to as number) < 0)) {
      throw invalidArgument(`rollback: toRevision must be a non-negative integer, got ${JSON.stringify(to)}`);
    }
    // ?dryRun=All: the rolled-back Deployment is answered, nothing is stored.
    const rolled = writeTransaction(opts, () => rolloutUndo(opts.store, ns, name, (to as number | null | undefined) ?? undefined, opts.now()));
    return done(opts, { status: 200, body: rolled });
  }
  if (sub === 'status') return statusRoute(req, method, path, kind, ns, name, opts);
  throw new HttpError(404, 'NotFound', `no subresource "${sub}" for ${kind}: known are status, pods/log, pods/exec, deployments|statefulsets/scale, deployments/rollback`);
}

function podProxyOf(opts: RestApiOptions): PodProxy {
  if (!opts.podProxy) throw new HttpError(501, 'NotImplemented', 'this scheduler cannot reach pods on their nodes (no pod proxy configured)');
  return opts.podProxy;
}

/** The pod, which must be bound to a node for its containers to be reached. */
function boundPod(store: Store, ns: string, name: string): Pod {
  const pod = store.get<Pod>('Pod', ns, name);
  if (!pod) throw notFound(`pods "${name}" not found in namespace ${ns}`);
  if (!pod.spec?.nodeName) {
    throw new HttpError(400, 'BadRequest', `pod "${name}" is not scheduled to a node yet, so it has no containers to reach; see why with "corelet describe pod ${name} -n ${ns}"`);
  }
  return pod;
}

function execOptions(body: unknown): PodExecOptions {
  if (!isRecord(body)) throw invalidArgument('exec: the body must be a JSON object like {"command": ["ls", "/"], "container": "c"}');
  const { command, container, timeoutSeconds } = body;
  if (!Array.isArray(command) || command.length === 0 || command.some((c) => typeof c !== 'string')) {
    throw invalidArgument('exec: command must be a non-empty list of strings');
  }
  if (container !== undefined && typeof container !== 'string') throw invalidArgument('exec: container must be a string');
  if (timeoutSeconds !== undefined && (!Number.isInteger(timeoutSeconds) || (timeoutSeconds as number) <= 0)) {
    throw invalidArgument('exec: timeoutSeconds must be a positive integer');
  }
  return { command: command as string[], ...(container ? { container } : {}), ...(timeoutSeconds !== undefined ? { timeoutSeconds: timeoutSeconds as number } : {}) };
}

/**
 * Streams the pod's log. The status line waits for the first byte, so a proxy that refuses before
 * writing anything still gets a proper Status error; a client that hangs up aborts the proxy.
 */
async function streamLogs(proxy: PodProxy, pod: Pod, logOpts: PodLogOptions, res: ServerResponse, lifetimeOf?: (end: () => void) => StreamLifetime | undefined): Promise<void> {
  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.once('close', onClose);
  // A follow ends at the server's timeout (or when the caller's access is gone): the proxy stops and the answer ends cleanly.
  const lifetime = lifetimeOf?.(() => abort.abort());
  const start = () => {
    if (res.headersSent) return;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders(); // a followed log that is quiet for now still tells the client it was found
  };
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (res.destroyed) return callback(new Error('the client went away'));
      if (lifetime && !lifetime.check()) return callback(new Error('the stream is over'));
      start();
      if (res.write(chunk)) return callback();
      const resume = () => {
        res.off('drain', resume);
        res.off('close', resume);
        callback();
      };
      res.on('drain', resume);
      res.on('close', resume);
    },
  });
  try {
    await proxy.logs(pod, logOpts, out, abort.signal);
  } catch (err) {
    if (res.destroyed) return;
    // A container that has not started, or has no previous run: 400 as the kubelet answers it.
    if (!abort.signal.aborted && err instanceof CoreletError && err.kind === 'FailedPrecondition') throw new HttpError(400, 'BadRequest', err.message);
    if (!abort.signal.aborted) throw err;
  } finally {
    res.off('close', onClose);
    lifetime?.stop();
  }
  start();
  res.end();
}

type Scalable = StoredObject & { spec: { replicas?: number; selector?: LabelSelector }; status?: { replicas?: number } };

/** The autoscaling/v1 Scale of a Deployment or StatefulSet. */
function scaleOf(obj: Scalable): unknown {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: obj.spec.replicas ?? 1 },
    status: { replicas: obj.status?.replicas ?? 0, selector: formatLabelSelector(obj.spec.selector) },
  };
}

/** Sets spec.replicas from a Scale body; metadata.resourceVersion, when given, must still be current. */
function putScale(kind: StoreKind, ns: string, name: string, body: unknown, store: Store, opts?: RestApiOptions): unknown {
  const replicas = isRecord(body) && isRecord(body.spec) ? body.spec.replicas : undefined;
  if (!Number.isInteger(replicas) || (replicas as number) < 0 || (replicas as number) > 2 ** 31 - 1) {
    throw invalidArgument(`scale: the body must be a Scale with spec.replicas a non-negative integer, like {"spec": {"replicas": 3}}; got ${JSON.stringify(replicas)}`);
  }
  const rv = isRecord(body) && isRecord(body.metadata) && typeof body.metadata.resourceVersion === 'string' ? body.metadata.resourceVersion : undefined;
  const write = () => {
    const current = store.get<Scalable>(kind, ns, name);
    if (!current) throw notFound(`${kind} ${ns}/${name} not found`);
    if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
    const next = { ...current, spec: { ...current.spec, replicas: replicas as number } };
    if (opts) recordWrite(opts, kind, current, next, 'scale');
    return store.update(kind, next, current.metadata.resourceVersion);
  };
  const updated = opts ? writeTransaction(opts, write) : store.transaction(write);
  return scaleOf(updated as Scalable);
}

/**
 * PATCH of a Scale (kubectl scale sends {"spec":{"replicas":N}} as a merge patch): the patch applies
 * to the Scale as GET shows it, then the result is PUT.
 */
function patchScale(kind: StoreKind, ns: string, name: string, text: string, contentType: string | undefined, opts: RestApiOptions): unknown {
  const { store } = opts;
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!(Object.values(PATCH_TYPES) as string[]).includes(type)) {
    throw new HttpError(415, 'UnsupportedMediaType', `PATCH of a scale needs a Content-Type of ${Object.values(PATCH_TYPES).join(', ')}; got ${JSON.stringify(contentType ?? '')}`);
  }
  const body = parseJsonBody(text, 'the patch');
  return writeTransaction(opts, () => {
    const obj = store.get<Scalable>(kind, ns, name);
    if (!obj) throw notFound(`${kind} ${ns}/${name} not found`);
    const scale = scaleOf(obj);
    const patched = type === PATCH_TYPES.json ? applyJsonPatch(scale, body) : type === PATCH_TYPES.strategic ? strategicMergePatch(scale, body, 'Scale') : mergePatch(scale, body);
    if (type === PATCH_TYPES.json && !Array.isArray(body)) throw invalidArgument('a JSON patch must be a list of operations');
    const rv = isRecord(body) && isRecord(body.metadata) && typeof body.metadata.resourceVersion === 'string' ? body.metadata.resourceVersion : undefined;
    if (rv !== undefined && rv !== obj.metadata.resourceVersion) throw conflict(kind, name);
    const replicas = isRecord(patched) && isRecord(patched.spec) ? patched.spec.replicas : undefined;
    return putScale(kind, ns, name, { spec: { replicas } }, store, opts);
  });
}

/**
 * The status subresource: GET the object; PUT (the whole object, of which only status is taken) or
 * PATCH (any patch type, of which only the resulting status is taken) replace its status and nothing
 * else, as controllers write it (RBAC: only roles that grant <resource>/status). The controllers and
 * agents that own a status write it again at their next pass.
 */
async function statusRoute(req: IncomingMessage, method: string, path: string, kind: StoreKind, ns: string, name: string, opts: RestApiOptions): Promise<Reply> {
  const { store } = opts;
  if (method === 'GET') {
    const obj = store.get(kind, ns, name);
    if (!obj) throw notFound(`${resourceOfKind(kind)} "${name}" not found in namespace ${ns}`);
    return { status: 200, body: obj };
  }
  if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method, path);
  const text = await readBody(req);
  const body = parseJsonBody(text, 'request body');
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (method === 'PATCH' && !(Object.values(PATCH_TYPES) as string[]).includes(type)) {
    throw new HttpError(415, 'UnsupportedMediaType', `PATCH of a status needs a Content-Type of ${Object.values(PATCH_TYPES).join(', ')}; got ${JSON.stringify(type)}`);
  }
  const written = writeTransaction(opts, () => {
    const current = store.get<StoredObject & { status?: unknown }>(kind, ns, name);
    if (!current) throw notFound(`${resourceOfKind(kind)} "${name}" not found in namespace ${ns}`);
    const updated =
      method === 'PUT' ? body : type === PATCH_TYPES.json ? applyJsonPatch(current, body) : type === PATCH_TYPES.strategic ? strategicMergePatch(current, body, kind) : mergePatch(current, body);
    if (method === 'PATCH' && type === PATCH_TYPES.json && !Array.isArray(body)) throw invalidArgument('a JSON patch must be a list of operations');
    if (!isRecord(updated)) throw invalidArgument('the status subresource takes an object');
    if (updated.status !== undefined && !isRecord(updated.status)) throw invalidArgument('status must be an object');
    // The shape the controllers and printers read: a bad status is refused, never stored.
    const problems = statusProblems(kind, updated.status);
    if (problems.length) throw new ManifestError(problems);
    const rv = isRecord(updated.metadata) ? updated.metadata.resourceVersion : undefined;
    if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
    const next = { ...current, status: updated.status };
    if (next.status === undefined) delete next.status;
    return store.update(kind, next as ObjectInput, current.metadata.resourceVersion);
  });
  return done(opts, { status: 200, body: written });
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** The parts of a Node's spec the scheduler acts on, checked after a patch. */
function checkNodeSpec(spec: unknown, name: string): void {
  const at = `Node ${name}: spec`;
  if (!isRecord(spec)) throw invalidArgument(`${at} must be an object`);
  if (spec.unschedulable !== undefined && typeof spec.unschedulable !== 'boolean') throw invalidArgument(`${at}.unschedulable must be true or false`);
  if (spec.taints === undefined) return;
  if (!Array.isArray(spec.taints)) throw invalidArgument(`${at}.taints must be a list`);
  spec.taints.forEach((t: unknown, i) => {
    if (!isRecord(t) || typeof t.key !== 'string' || t.key === '') throw invalidArgument(`${at}.taints[${i}].key must be a non-empty string`);
    if (t.value !== undefined && typeof t.value !== 'string') throw invalidArgument(`${at}.taints[${i}].value must be a string`);
    if (!TAINT_EFFECTS.includes(t.effect as string)) throw invalidArgument(`${at}.taints[${i}].effect must be one of ${TAINT_EFFECTS.join(', ')}`);
  });
}

/**
 * A workload's spec as the manifest decoder accepts it (validated, defaulted), with its warnings. A
 * Job keeps the selector generated for it, which a manifest may not carry.
 */
function decodeSpec(kind: StoreKind, obj: StoredObject): { spec: unknown; warnings: string[] } {
  const spec = structuredClone(obj.spec) as Record<string, unknown> | undefined;
  const generated = kind === 'Job' && isRecord(spec) && !spec.manualSelector ? spec.selector : undefined;
  if (generated !== undefined) delete spec!.selector;
  const { name, namespace, labels, annotations } = obj.metadata;
  const declared = { apiVersion: obj.apiVersion, kind, metadata: { name, namespace, labels, annotations }, spec };
  const { objects, warnings } = decodeObjects(JSON.stringify(declared), `${kind} ${namespace}/${name}`);
  const decoded = (objects[0] as unknown as { spec: Record<string, unknown> }).spec;
  if (generated !== undefined) decoded.selector = generated;
  return { spec: decoded, warnings };
}

/** The PATCH bodies this API applies, by Content-Type. */
export const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const;

/**
 * Applies a patch to a stored object: an RFC 7386 merge patch, a strategic merge patch
 * (api/strategic-merge.ts: lists merged by their patch keys, as kubectl apply, scale and rollout
 * restart send them) or an RFC 6902 JSON patch. Only metadata.labels, metadata.annotations and
 * spec may change (status belongs to controllers and agents; a Pod's spec is fixed once created);
 * the result is validated as a manifest would be. metadata.resourceVersion in the patch makes it
 * conditional (409 Conflict when the object has changed since).
 */
function patch(kind: StoreKind, ns: string, name: string, text: string, contentType: string | undefined, opts: RestApiOptions): { object: StoredObject; warnings: string[]; created?: boolean } {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === APPLY_PATCH_TYPE) return applyPatch(kind, ns, name, text, opts);
  if (!(Object.values(PATCH_TYPES) as string[]).includes(type)) {
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `PATCH needs a Content-Type of ${Object.values(PATCH_TYPES).join(', ')} or ${APPLY_PATCH_TYPE} (server-side apply); got ${JSON.stringify(contentType ?? '')}`,
    );
  }
  const body = parseJsonBody(text, 'the patch');
  if (type === PATCH_TYPES.json) {
    if (!Array.isArray(body)) throw invalidArgument('a JSON patch must be a list of operations, like [{"op": "replace", "path": "/spec/replicas", "value": 3}]');
  } else if (!isRecord(body)) {
    throw invalidArgument(`a ${type === PATCH_TYPES.merge ? 'merge' : 'strategic merge'} patch must be a JSON object, like {"spec": {"replicas": 3}}`);
  }
  const ref = ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
  const { store } = opts;
  return writeTransaction(opts, () => {
    const current = store.get<StoredObject & { spec?: unknown; status?: unknown }>(kind, ns, name);
    if (!current) throw notFound(`${ref} not found`);
    const patched = type === PATCH_TYPES.strategic ? strategicMergePatch(current, body, kind) : type === PATCH_TYPES.json ? applyJsonPatch(current, body) : mergePatch(current, body);
    if (!isRecord(patched)) throw invalidArgument(`${ref}: the patch must leave an object`);
    // A patch that sets managedFields (kubectl's upgrade of client-side apply's ownership) sets them; otherwise the patch's manager gets what it changed.
    const managedFields = isRecord(patched.metadata) && JSON.stringify(patched.metadata.managedFields) !== JSON.stringify(managedFieldsOf(current)) ? checkManagedFields(patched.metadata.managedFields, ref) : undefined;
    return writePatched(kind, current, patched as StoredObject, opts, managedFields, duplicateJsonKeys(text));
  });
}

/**
 * Server-side apply (application/apply-patch+yaml): the body is the caller's whole intent for the
 * fields it manages (server-side-apply.ts). A missing object is created; conflicts with other
 * managers' fields are 409 Conflict unless ?force=true.
 */
function applyPatch(kind: StoreKind, ns: string, name: string, text: string, opts: RestApiOptions): { object: StoredObject; warnings: string[]; created?: boolean } {
  const request = opts.writeRequest ?? { force: false };
  const { store } = opts;
  const applied = appliedConfiguration(text, kind, API_VERSIONS[kind], ns, name);
  return writeTransaction(opts, () => {
    const current = store.get<StoredObject & { spec?: unknown; status?: unknown }>(kind, ns, name);
    // A resourceVersion in the applied configuration is a precondition, as in a PUT.
    const rv = (applied.metadata as { resourceVersion?: unknown }).resourceVersion;
    if (current && typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
    const merged = serverSideApply(current, applied, { kind, apiVersion: API_VERSIONS[kind], request, time: rfc3339(opts.now()) });
    if (current) return writePatched(kind, current, merged, opts, managedFieldsOf(merged) ?? []);
    // A new object: the caller must be allowed to create it (the PATCH was authorized as a patch);
    // validated and admitted as a POST's body, owned by the applier.
    opts.access?.require({ verb: 'create', apiGroup: groupOfKind(kind), resource: resourceOfKind(kind), ...(ns ? { namespace: ns } : {}) }, name);
    const { managedFields, ...metadata } = merged.metadata as StoredObject['metadata'] & { managedFields?: unknown };
    const decoded = decodeObjects(JSON.stringify({ ...merged, metadata }), 'request body');
    const warnings = checkFields(opts.fieldValidation, kind, decoded.warnings);
    const obj = decoded.objects[0];
    if (isNamespaced(kind)) obj.metadata.namespace = ns;
    if (opts.access) opts.access.auditName = obj.metadata.name;
    opts.access?.admit(kind, obj);
    warnings.push(...admitWrite(store, kind, obj));
    allocateService(opts, kind, obj);
    const created = store.create(kind, { ...obj, metadata: { ...obj.metadata, managedFields } } as unknown as ObjectInput) as StoredObject;
    return { object: created, warnings, created: true };
  });
}

/**
 * Writes a patched object over current: only metadata.labels, metadata.annotations (and managed
 * fields) and the spec may change; the result is validated as a manifest. The patched
 * metadata.resourceVersion, when it differs from the stored one, is a stale precondition: 409.
 */
function writePatched(kind: StoreKind, current: StoredObject & { spec?: unknown; status?: unknown }, merged: StoredObject & { spec?: unknown }, opts: RestApiOptions, managedFields?: unknown, duplicated: readonly string[] = []): { object: StoredObject; warnings: string[] } {
  const { store } = opts;
  const { name, namespace: ns } = current.metadata;
  const ref = ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
  if (!isRecord(merged.metadata)) throw invalidArgument(`${ref}: metadata cannot be removed`);
  for (const field of ['name', 'namespace', 'uid'] as const) {
    // An absent uid is the stored one (kubectl apply's patch removes it when the last-applied configuration had it).
    if (field === 'uid' && (merged.metadata.uid === undefined || merged.metadata.uid === '')) continue;
    if (merged.metadata[field] !== current.metadata[field]) throw invalidArgument(`${ref}: metadata.${field} cannot be changed by a patch`);
  }
  if (merged.kind !== current.kind || merged.apiVersion !== current.apiVersion) throw invalidArgument(`${ref}: kind and apiVersion cannot be changed by a patch`);
  const rv = merged.metadata.resourceVersion;
  if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
  const next: StoredObject & { spec?: unknown; status?: unknown } = {
    ...merged,
    metadata: { ...current.metadata, labels: merged.metadata.labels ?? {}, annotations: merged.metadata.annotations ?? {} },
  };
  delete next.status;
  if (current.status !== undefined) next.status = current.status;
  let warnings: string[] = [];
  checkSelectorKept(kind, current, next.spec, ref);
  if (kind === 'Node') checkNodeSpec(next.spec, name);
  else if (isRbacKind(kind)) {
    checkRoleRefKept(kind, current, next, ref);
    opts.access?.admit(kind, next);
  }
  else if (kind === 'Pod') {
    // Compared as decoded (defaulted): a patch or apply that drops a defaulted field, or writes a
    // quantity in another spelling, changes nothing.
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec) && JSON.stringify(decodeSpec(kind, next).spec) !== JSON.stringify(decodeSpec(kind, current).spec)) {
      throw podSpecChanged(ref);
    }
    next.spec = current.spec;
  } else if (kind === 'ReplicaSet') {
    const replicas = isRecord(next.spec) ? next.spec.replicas : undefined;
    if (!Number.isInteger(replicas) || (replicas as number) < 0) throw invalidArgument(`${ref}: spec.replicas must be a non-negative integer`);
  } else if (kind === 'EndpointSlice') {
    const { name: n, namespace, labels, annotations } = next.metadata;
    const { objects } = decodeObjects(JSON.stringify({ ...next, metadata: { name: n, namespace, labels, annotations } }), ref);
    const decoded = objects[0] as unknown as Record<string, unknown>;
    for (const field of ['addressType', 'endpoints', 'ports']) (next as Record<string, unknown>)[field] = decoded[field];
  } else {
    // A patch of spec.clusterIP alone: the stored clusterIPs (derived from it) must not contradict it.
    if (kind === 'Service' && isRecord(next.spec) && isRecord(current.spec) && next.spec.clusterIP !== current.spec.clusterIP && JSON.stringify(next.spec.clusterIPs) === JSON.stringify(current.spec.clusterIPs)) delete next.spec.clusterIPs;
    ({ spec: next.spec, warnings } = decodeSpec(kind, next));
    refuseInternalVolumes(kind, next, current);
    allocateService(opts, kind, next, current);
  }
  // ?fieldValidation=: the decoder saw the spec only; the schema names unknown fields anywhere in the result.
  const problems = [...duplicated.map((p) => `${p}: duplicate field`), ...unknownFieldPaths(kind, merged).map((p) => `${p}: unknown field`)];
  warnings = checkFields(opts.fieldValidation, kind, [...problems, ...warnings]);
  // Pod Security: a workload's template, a namespace's new level (before it is written).
  warnings.push(...(kind === 'Namespace' ? namespaceLevelWarnings(store, name, next.metadata.labels) : podSecurityWarnings(store, kind, next)));
  if (managedFields !== undefined) {
    // An empty list clears them in the store (absent would keep the stored ones).
    (next.metadata as { managedFields?: unknown }).managedFields = managedFields;
  }
  else recordWrite(opts, kind, current, next);
  return { object: store.update(kind, next as ObjectInput, current.metadata.resourceVersion) as StoredObject, warnings };
}

const DRY_RUN = Symbol('dry run');

/** DELETE with ?dryRun=All: the object as it is, nothing deleted. */
function dryRunDelete(kind: StoreKind, ns: string, name: string, opts: RestApiOptions): Reply {
  const obj = opts.store.get(kind, ns, name);
  if (!obj) throw notFound(`${resourceOfKind(kind)} "${name}" not found${ns ? ` in namespace ${ns}` : ''}`);
  return { status: 200, body: obj };
}

/**
 * Runs a write's transaction; with ?dryRun=All (kubectl --dry-run=server, kubectl diff) it is rolled
 * back after it has validated, admitted and produced its result: nothing is stored, no watch hears
 * of it, and the answer is what a real write would have answered.
 */
function writeTransaction<T>(opts: RestApiOptions, fn: () => T): T {
  if (!opts.writeRequest?.dryRun) return opts.store.transaction(fn);
  let result: T | undefined;
  try {
    opts.store.transaction(() => {
      result = fn();
      throw DRY_RUN;
    });
  } catch (err) {
    if (err !== DRY_RUN) throw err;
  }
  return result as T;
}

/** A write other than apply: its manager (?fieldManager=, else the client's User-Agent) gets the fields it changed. */
function recordWrite(opts: RestApiOptions, kind: StoreKind, before: unknown, after: object, subresource?: string): void {
  recordUpdate(before, after, { kind, manager: updateManager(opts.writeRequest), apiVersion: API_VERSIONS[kind], time: rfc3339(opts.now()), ...(subresource ? { subresource } : {}) });
}

function managedFieldsOf(obj: StoredObject): unknown {
  return (obj.metadata as { managedFields?: unknown }).managedFields;
}

/** RFC 3339 in whole seconds, as metadata timestamps are written. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Annotation prefixes controllers write on the objects users apply (a Deployment's revision). */
const CONTROLLER_ANNOTATION_PREFIXES = ['deployment.kubernetes.io/'];

/** The annotations controllers put on an object, which re-applying its manifest must not drop. */
function controllerAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => CONTROLLER_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))));
}

/** POST to a collection: the body is one object of that kind (JSON or YAML), validated as apply does. */
function createFromBody(kind: StoreKind, namespace: string, body: DecodedObjects & { text: string }, opts: RestApiOptions): Reply {
  const { objects, text } = body;
  if (objects.length !== 1) throw invalidArgument(`request body: expected one ${kind}, got ${objects.length} objects`);
  const warnings = checkFields(opts.fieldValidation, kind, body.warnings);
  const obj = objects[0];
  if (obj.kind !== kind) throw invalidArgument(`request body: kind ${obj.kind} posted to the ${kind} collection`);
  if (isNamespaced(kind) && obj.metadata.namespace !== namespace) {
    // decodeObjects defaults a missing namespace to "default"; the URL decides then, a conflict is an error.
    if (obj.metadata.namespace === 'default' && !/\bnamespace\b/.test(text)) obj.metadata.namespace = namespace;
    else throw invalidArgument(`request body: metadata.namespace "${obj.metadata.namespace}" does not match the URL's namespace "${namespace}"`);
  }
  if (opts.access) opts.access.auditName = obj.metadata.name;
  const created = writeTransaction(opts, () => {
    opts.access?.admit(kind, obj);
    warnings.push(...admitWrite(opts.store, kind, obj));
    allocateService(opts, kind, obj);
    recordWrite(opts, kind, undefined, obj);
    return opts.store.create(kind, obj as unknown as ObjectInput);
  });
  return { status: 201, body: created, headers: warningHeaders(warnings) };
}

/** POST /api/v1/namespaces and GET|PATCH|DELETE /api/v1/namespaces/NAME. */
async function namespaceRoute(req: IncomingMessage, method: string, name: string | undefined, opts: RestApiOptions): Promise<Reply> {
  if (name === undefined) return done(opts, createFromBody('Namespace', '', await readManifest(req, opts), opts));
  if (method === 'GET') {
    const obj = opts.store.get('Namespace', '', name);
    if (!obj) throw notFound(`namespaces "${name}" not found`);
    return { status: 200, body: obj };
  }
  if (method === 'PATCH') {
    const { object, warnings } = patch('Namespace', '', name, await readBody(req), req.headers['content-type'], opts);
    return done(opts, { status: 200, body: object, headers: warningHeaders(warnings) });
  }
  if (method === 'PUT') return done(opts, replaceObject('Namespace', '', name, await readManifest(req, opts), opts));
  if (method === 'DELETE' && opts.writeRequest?.dryRun) return dryRunDelete('Namespace', '', name, opts);
  if (method === 'DELETE') {
    const { namespace, pods } = deleteNamespace(opts.store, name);
    if (!namespace) throw notFound(`namespaces "${name}" not found`);
    for (const pod of pods as (StoredObject & { spec?: { nodeName?: string } })[]) {
      if (pod.spec?.nodeName) opts.sessions.send(pod.spec.nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: pod.metadata.uid, reason: 'Deleted' });
    }
    return done(opts, { status: 200, body: namespace });
  }
  throw methodNotAllowed(method, `/api/v1/namespaces/${name}`);
}

/**
 * Creates or updates every object of a manifest, in one transaction (all or nothing). An existing
 * Pod keeps its binding, a Job the selector generated for it, a Deployment its revision annotation. Answers with a List of the stored
 * objects and, in the corelet-apply-results header, what happened to each; decoder warnings go in
 * Warning headers as the API server sends them.
 */
function apply(decoded: DecodedObjects, opts: RestApiOptions): Reply {
  const { store } = opts;
  const { objects, warnings } = decoded;
  const results: string[] = [];
  // ?dryRun=All: checked and answered, rolled back (writeTransaction).
  const items = writeTransaction(opts, () =>
    objects.map((obj: AnyObject) => {
      const kind = obj.kind as StoreKind;
      const current = store.get<StoredObject & { spec?: { nodeName?: string; selector?: unknown } }>(kind, obj.metadata.namespace, obj.metadata.name);
      // Authorized object by object, as kubectl apply's requests are: create when new, patch when not.
      const resource = resourceOfKind(kind);
      // (A create carries no name in Kubernetes' attributes: the name is in the body.)
      opts.access?.require({ verb: current ? 'patch' : 'create', apiGroup: groupOfKind(kind), resource, namespace: obj.metadata.namespace, ...(current ? { name: obj.metadata.name } : {}) }, obj.metadata.name);
      opts.access?.admit(kind, obj);
      if (current) checkRoleRefKept(kind, current, obj, `${kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`);
      warnings.push(...admitWrite(store, kind, obj as Parameters<typeof admitWrite>[2], current));
      allocateService(opts, kind, obj, current);
      if (!current) {
        results.push('created');
        return store.create(kind, obj as unknown as ObjectInput);
      }
      const stored = replaceWith(kind, obj, current, store);
      results.push(stored.metadata.resourceVersion === current.metadata.resourceVersion ? 'unchanged' : 'configured');
      return stored;
    }),
  );
  opts.onPodsChanged?.();
  return { status: 200, body: list('', items, store.resourceVersion()), headers: { ...warningHeaders(warnings), [APPLY_RESULTS_HEADER]: results.join(',') } };
}

/**
 * Writes a declared object (a manifest's, or a PUT's body) over the stored one: an existing Pod keeps
 * its binding, a Job the selector generated for it, an object its controllers' annotations, its
 * managed fields and its status (a manifest has no status: controllers and agents report it).
 */
function replaceWith(kind: StoreKind, obj: AnyObject, current: StoredObject & { spec?: { nodeName?: string; selector?: unknown } }, store: Store, beforeWrite?: (next: ObjectInput) => void): StoredObject {
  const declared = obj.kind === 'Job' && current.spec?.selector !== undefined ? withJobSelector(obj, current.metadata.uid) : obj;
  const annotations = { ...controllerAnnotations(current.metadata.annotations), ...obj.metadata.annotations };
  const next = { ...declared, metadata: { ...current.metadata, labels: obj.metadata.labels, annotations } } as unknown as ObjectInput & { spec?: Record<string, unknown>; status?: unknown };
  if (kind === 'Pod') next.spec = { ...next.spec, nodeName: current.spec?.nodeName };
  delete next.status;
  if ((current as { status?: unknown }).status !== undefined) next.status = (current as { status?: unknown }).status;
  beforeWrite?.(next);
  return store.update(kind, next, current.metadata.resourceVersion);
}

/**
 * PUT of a named object (kubectl replace and edit, client-go's Update): the body is the whole object,
 * validated as a manifest; its metadata.resourceVersion, when set, must be the stored one (else 409
 * Conflict, the optimistic concurrency every Kubernetes client retries on); without one the update
 * is unconditional, as kube-apiserver allows for the built-in kinds. Status in the body is ignored
 * (it has its own writers).
 */
function replaceObject(kind: StoreKind, ns: string, name: string, body: DecodedObjects & { text: string }, opts: RestApiOptions): Reply {
  const { objects } = body;
  // ?fieldValidation= (what a GET returned and the caller sends back carries managedFields: the schema knows them)
  const warnings = checkFields(opts.fieldValidation, kind, body.warnings);
  if (objects.length !== 1) throw invalidArgument(`request body: expected one ${kind}, got ${objects.length} objects`);
  const obj = objects[0];
  if (obj.kind !== kind) throw invalidArgument(`request body: kind ${obj.kind} sent to a ${kind}'s URL`);
  if (obj.metadata.name !== name) throw invalidArgument(`request body: metadata.name "${obj.metadata.name}" does not match the URL's name "${name}"`);
  if (isNamespaced(kind) && obj.metadata.namespace !== ns) {
    if (obj.metadata.namespace === 'default' && !/\bnamespace\b/.test(body.text)) obj.metadata.namespace = ns;
    else throw invalidArgument(`request body: metadata.namespace "${obj.metadata.namespace}" does not match the URL's namespace "${ns}"`);
  }
  const rv = (obj.metadata as { resourceVersion?: unknown }).resourceVersion;
  const { store } = opts;
  const stored = writeTransaction(opts, () => {
    const current = store.get<StoredObject & { spec?: { nodeName?: string; selector?: unknown } }>(kind, ns, name);
    if (!current) throw notFound(`${resourceOfKind(kind)} "${name}" not found${ns ? ` in namespace ${ns}` : ''}`);
    if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
    if (current.metadata.uid && obj.metadata.uid && obj.metadata.uid !== current.metadata.uid) {
      throw new HttpError(409, 'Conflict', `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    opts.access?.admit(kind, obj);
    const ref = `${kind} ${ns ? `${ns}/` : ''}${name}`;
    checkRoleRefKept(kind, current, obj, ref);
    // A Job's body may leave out the selector generated for it (replaceWith keeps it).
    if (!(kind === 'Job' && (obj as { spec?: { selector?: unknown } }).spec?.selector === undefined)) checkSelectorKept(kind, current, (obj as { spec?: unknown }).spec, ref);
    if (kind === 'Pod') {
      // As PATCH: a pod's spec stays what it was created with (its binding is kept by replaceWith).
      const spec = (o: { spec?: unknown }) => JSON.stringify({ ...(o.spec as Record<string, unknown>), nodeName: undefined });
      if (spec(obj as { spec?: unknown }) !== spec(current) && spec(obj as { spec?: unknown }) !== spec(decodeSpec(kind, current))) throw podSpecChanged(ref);
    }
    warnings.push(...admitWrite(store, kind, obj as Parameters<typeof admitWrite>[2], current));
    allocateService(opts, kind, obj, current);
    return replaceWith(kind, obj, current, store, (next) => recordWrite(opts, kind, current, next));
  });
  return { status: 200, body: stored, headers: warningHeaders(warnings) };
}

/** The URL resource of a kind ("Deployment" → "deployments"). */
function resourceOfKind(kind: StoreKind): string {
  return kindEntry(kind).plural;
}

/** A cluster-scoped kind other than Node (clusterroles, clusterrolebindings): list, create, get, patch, delete. */
async function clusterObjectRoute(
  req: IncomingMessage,
  method: string,
  kind: StoreKind,
  resource: string,
  name: string | undefined,
  collection: (sel: Selection) => Reply,
  opts: RestApiOptions,
): Promise<Reply> {
  const { store } = opts;
  if (name === undefined) {
    if (method === 'POST') return done(opts, createFromBody(kind, '', await readManifest(req, opts), opts));
    return collection({ kind, fields: [] });
  }
  if (method === 'GET') {
    const obj = store.get(kind, '', name);
    if (!obj) throw notFound(`${resource} "${name}" not found`);
    return { status: 200, body: obj };
  }
  if (method === 'PATCH') {
    const { object } = patch(kind, '', name, await readBody(req), req.headers['content-type'], opts);
    return done(opts, { status: 200, body: object });
  }
  if (method === 'PUT') return done(opts, replaceObject(kind, '', name, await readManifest(req, opts), opts));
  if (method === 'DELETE' && opts.writeRequest?.dryRun) return dryRunDelete(kind, '', name, opts);
  if (method === 'DELETE') {
    const gone = store.delete(kind, '', name);
    if (!gone) throw notFound(`${resource} "${name}" not found`);
    return done(opts, { status: 200, body: gone });
  }
  throw methodNotAllowed(method, `/api/v1/${resource}/${name}`);
}

/** A binding's roleRef cannot change (as in Kubernetes): delete and create the binding instead. */
/** Failures kube-apiserver answers 422 Invalid (a field that cannot change), sent with that code. */
const UNPROCESSABLE = new WeakSet<Error>();

/** A ManifestError answered 422 Invalid (its problems as causes). */
function unprocessable(problems: string[]): ManifestError {
  const err = new ManifestError(problems);
  UNPROCESSABLE.add(err);
  return err;
}

/** The kinds whose spec.selector cannot change once created (apps/v1 and batch/v1, as Kubernetes). */
const SELECTOR_IMMUTABLE = new Set<StoreKind>(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']);

/** A label selector in one spelling: matchLabels sorted, no empty parts. */
function canonicalSelector(sel: unknown): string {
  if (!isRecord(sel)) return JSON.stringify(sel ?? null);
  const labels = isRecord(sel.matchLabels) ? Object.entries(sel.matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  return JSON.stringify({ labels, exprs });
}

/** spec.selector of a Deployment, ReplicaSet, StatefulSet, DaemonSet or Job is immutable: 422 Invalid (as kube-apiserver). */
function checkSelectorKept(kind: StoreKind, current: { spec?: unknown }, nextSpec: unknown, ref: string): void {
  if (!SELECTOR_IMMUTABLE.has(kind) || !isRecord(current.spec)) return;
  const next = isRecord(nextSpec) ? nextSpec.selector : undefined;
  if (canonicalSelector(next) !== canonicalSelector(current.spec.selector)) {
    throw unprocessable([`spec.selector: Invalid value: ${JSON.stringify(next ?? null)}: field is immutable (${ref}: delete it and create it again to change its selector)`]);
  }
}

/** A pod's spec cannot change (PATCH or PUT) but for its binding: 422 Invalid. */
function podSpecChanged(ref: string): ManifestError {
  return unprocessable([`spec: Forbidden: pod updates may not change fields other than metadata.labels and metadata.annotations (${ref}: delete the pod and create it again)`]);
}

function checkRoleRefKept(kind: StoreKind, current: unknown, next: unknown, ref: string): void {
  if (kind !== 'RoleBinding' && kind !== 'ClusterRoleBinding') return;
  const key = (o: unknown) => {
    const r = (o as { roleRef?: { apiGroup?: string; kind?: string; name?: string } }).roleRef;
    return `${r?.apiGroup ?? 'rbac.authorization.k8s.io'}/${r?.kind}/${r?.name}`;
  };
  if (key(current) !== key(next)) throw unprocessable([`roleRef: Invalid value: ${JSON.stringify((next as { roleRef?: unknown }).roleRef ?? null)}: cannot change roleRef (${ref}: delete the binding and create it again)`]);
}
