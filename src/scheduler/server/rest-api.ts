/**
 * The REST API under /api: Kubernetes-shaped objects, lists and Status errors. Every request must
 * carry an API token ("Authorization: Bearer <token>"); the router never runs for one that does not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeObjects, ManifestError, MESSAGE_VERSION, type AnyObject } from '../../api/index.js';
import { CoreletError, invalidArgument, notFound, type Logger } from '../../lib/index.js';
import { AuthenticationError, authenticateToken, bearerToken, type TokenRecord } from '../auth/index.js';
import { API_VERSIONS, isNamespaced, type ObjectInput, type Store, type StoreKind, type StoredObject } from '../store/index.js';
import type { NodeSessions } from './node-sessions.js';

/** Largest request body accepted (a manifest of several objects, each at most 1.5 MiB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** URL resource names (plural, lower case, as kubectl uses them) → stored kind. */
export const RESOURCES: Readonly<Record<string, StoreKind>> = {
  pods: 'Pod',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  jobs: 'Job',
  daemonsets: 'DaemonSet',
};

/** What the API handler needs. */
export interface RestApiOptions {
  store: Store;
  sessions: NodeSessions;
  tokenLookup: (id: string) => TokenRecord | undefined;
  logger: Logger;
  now: () => Date;
  /** Called after writes that may leave pods to schedule. */
  onPodsChanged?: () => void;
}

/** An HTTP failure with a Kubernetes Status reason. */
class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF_KIND: Record<string, [number, string]> = {
  NotFound: [404, 'NotFound'],
  AlreadyExists: [409, 'AlreadyExists'],
  InvalidArgument: [400, 'BadRequest'],
  FailedPrecondition: [409, 'Conflict'],
  Unavailable: [503, 'ServiceUnavailable'],
  Unimplemented: [501, 'NotImplemented'],
  DeadlineExceeded: [504, 'Timeout'],
};

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }, headers);
}

function list(kind: string, items: unknown[], resourceVersion: string): unknown {
  return { kind: `${kind}List`, apiVersion: kind === 'Event' ? 'v1' : API_VERSIONS[kind as StoreKind] ?? 'v1', metadata: { resourceVersion }, items };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'RequestEntityTooLarge', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** "a=b,c=d" → {a: 'b', c: 'd'} (equality selectors only). */
function parseSelector(s: string | null): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const m = /^\s*([^=!\s]+)\s*==?\s*([^=\s]*)\s*$/.exec(part);
    if (!m) throw invalidArgument(`labelSelector: unsupported term ${JSON.stringify(part)} (only key=value)`);
    out[m[1]] = m[2];
  }
  return out;
}

function resourceKind(resource: string): StoreKind {
  const kind = RESOURCES[resource];
  if (!kind) throw new HttpError(404, 'NotFound', `the server could not find the requested resource "${resource}" (known: ${Object.keys(RESOURCES).join(', ')}, events)`);
  return kind;
}

/**
 * Handles one request: authenticates, routes, and answers with JSON. Errors become Kubernetes
 * Status bodies: 401 Unauthorized, 404 NotFound, 409 AlreadyExists/Conflict, 400 BadRequest...
 */
export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, opts: RestApiOptions): Promise<void> {
  try {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      throw new HttpError(401, 'Unauthorized', 'authentication required: send "Authorization: Bearer <api token>" (create one with "corelet token create --api")');
    }
    try {
      authenticateToken(token, opts.tokenLookup, 'api', opts.now());
    } catch (err) {
      if (err instanceof AuthenticationError) throw new HttpError(401, 'Unauthorized', `authentication failed: ${err.message}`);
      throw err;
    }
    const { status, body, headers } = await route(req, opts);
    sendJson(res, status, body, headers);
  } catch (err) {
    if (err instanceof HttpError) {
      sendStatus(res, err.code, err.reason, err.message, err.code === 401 ? { 'www-authenticate': 'Bearer' } : {});
      return;
    }
    if (err instanceof CoreletError && STATUS_OF_KIND[err.kind]) {
      const [code, reason] = STATUS_OF_KIND[err.kind];
      sendStatus(res, code, err instanceof ManifestError ? 'Invalid' : reason, err.message);
      return;
    }
    opts.logger.error({ err, method: req.method, url: req.url }, 'API request failed');
    sendStatus(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
  }
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

async function route(req: IncomingMessage, opts: RestApiOptions): Promise<Reply> {
  const { store } = opts;
  const url = new URL(req.url ?? '/', 'https://scheduler');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (parts[0] !== 'api' || parts[1] !== 'v1') throw new HttpError(404, 'NotFound', `no such path ${url.pathname}: the API is under /api/v1`);
  const rest = parts.slice(2);
  const labelSelector = parseSelector(url.searchParams.get('labelSelector'));

  // /api/v1/apply
  if (rest.length === 1 && rest[0] === 'apply') {
    if (method !== 'POST') throw methodNotAllowed(method, url.pathname);
    return apply(await readBody(req), opts);
  }
  // /api/v1/events, /api/v1/nodes(/name)
  if (rest.length === 1 && rest[0] === 'events' && method === 'GET') {
    return { status: 200, body: list('Event', store.listEvents(), store.resourceVersion()) };
  }
  if (rest[0] === 'nodes' && rest.length <= 2) {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname);
    if (rest.length === 1) return { status: 200, body: list('Node', store.list('Node', { labelSelector }), store.resourceVersion()) };
    const node = store.get('Node', '', rest[1]);
    if (!node) throw notFound(`nodes "${rest[1]}" not found`);
    return { status: 200, body: node };
  }
  // /api/v1/<resource>: all namespaces
  if (rest.length === 1 && method === 'GET') {
    const kind = resourceKind(rest[0]);
    return { status: 200, body: list(kind, store.list(kind, { labelSelector }), store.resourceVersion()) };
  }
  // /api/v1/namespaces/<ns>/<resource>(/<name>)
  if (rest[0] === 'namespaces' && (rest.length === 3 || rest.length === 4)) {
    const ns = rest[1];
    if (rest[2] === 'events' && rest.length === 3 && method === 'GET') {
      return { status: 200, body: list('Event', store.listEvents({ namespace: ns }), store.resourceVersion()) };
    }
    const kind = resourceKind(rest[2]);
    const name = rest[3];
    if (name === undefined) {
      if (method === 'GET') return { status: 200, body: list(kind, store.list(kind, { namespace: ns, labelSelector }), store.resourceVersion()) };
      if (method === 'POST') return { status: 201, body: createFromBody(kind, ns, await readBody(req), opts) };
      throw methodNotAllowed(method, url.pathname);
    }
    if (method === 'GET') {
      const obj = store.get(kind, ns, name);
      if (!obj) throw notFound(`${rest[2]} "${name}" not found in namespace ${ns}`);
      return { status: 200, body: obj };
    }
    if (method === 'DELETE') {
      const gone = store.delete<StoredObject & { spec?: { nodeName?: string } }>(kind, ns, name);
      if (!gone) throw notFound(`${rest[2]} "${name}" not found in namespace ${ns}`);
      // A bound pod's agent must stop it; an agent without a session resyncs when it registers.
      if (kind === 'Pod' && gone.spec?.nodeName) {
        opts.sessions.send(gone.spec.nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: gone.metadata.uid, reason: 'Deleted' });
      }
      return { status: 200, body: gone };
    }
    throw methodNotAllowed(method, url.pathname);
  }
  throw new HttpError(404, 'NotFound', `no such path ${url.pathname}`);
}

function methodNotAllowed(method: string, path: string): HttpError {
  return new HttpError(405, 'MethodNotAllowed', `${method} is not supported on ${path}`);
}

/** POST to a collection: the body is one object of that kind (JSON or YAML), validated as apply does. */
function createFromBody(kind: StoreKind, namespace: string, text: string, opts: RestApiOptions): unknown {
  const { objects } = decodeObjects(text, 'request body');
  if (objects.length !== 1) throw invalidArgument(`request body: expected one ${kind}, got ${objects.length} objects`);
  const obj = objects[0];
  if (obj.kind !== kind) throw invalidArgument(`request body: kind ${obj.kind} posted to the ${kind} collection`);
  if (isNamespaced(kind) && obj.metadata.namespace !== namespace) {
    // decodeObjects defaults a missing namespace to "default"; the URL decides then, a conflict is an error.
    if (obj.metadata.namespace === 'default' && !/\bnamespace\b/.test(text)) obj.metadata.namespace = namespace;
    else throw invalidArgument(`request body: metadata.namespace "${obj.metadata.namespace}" does not match the URL's namespace "${namespace}"`);
  }
  const created = opts.store.create(kind, obj as unknown as ObjectInput);
  if (kind === 'Pod') opts.onPodsChanged?.();
  return created;
}

/**
 * Creates or updates every object of a manifest, in one transaction (all or nothing). An existing
 * Pod keeps its binding. Answers with a List of the stored objects; decoder warnings go in Warning
 * headers as the API server sends them.
 */
function apply(text: string, opts: RestApiOptions): Reply {
  const { store } = opts;
  const { objects, warnings } = decodeObjects(text, 'request body');
  const items = store.transaction(() =>
    objects.map((obj: AnyObject) => {
      const kind = obj.kind as StoreKind;
      const current = store.get<StoredObject & { spec?: { nodeName?: string } }>(kind, obj.metadata.namespace, obj.metadata.name);
      if (!current) return store.create(kind, obj as unknown as ObjectInput);
      const next = { ...obj, metadata: { ...current.metadata, labels: obj.metadata.labels, annotations: obj.metadata.annotations } } as unknown as ObjectInput & { spec?: Record<string, unknown>; status?: unknown };
      if (kind === 'Pod') next.spec = { ...next.spec, nodeName: current.spec?.nodeName };
      // The manifest has no status: keep what controllers and agents reported.
      if ((current as { status?: unknown }).status !== undefined) next.status = (current as { status?: unknown }).status;
      return store.update(kind, next, current.metadata.resourceVersion);
    }),
  );
  if (objects.some((o) => o.kind === 'Pod')) opts.onPodsChanged?.();
  const headers: Record<string, string> = {};
  // Header values must be printable ASCII, or writeHead throws.
  if (warnings.length > 0) headers.warning = warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[^\x20-\x7e]+/g, ' '))}`).join(', ');
  return { status: 200, body: list('', items, store.resourceVersion()), headers };
}
