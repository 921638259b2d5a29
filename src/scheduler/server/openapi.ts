/**
 * OpenAPI v3, as kube-apiserver publishes it: GET /openapi/v3 lists the group-versions, each with the
 * URL of its document (carrying a hash of it, so clients cache by URL); GET /openapi/v3/api/v1 and
 * /openapi/v3/apis/GROUP/v1 are the documents. Each has the paths of its kinds (list, create, read,
 * replace, patch, delete) with x-kubernetes-group-version-kind and x-kubernetes-action on every
 * operation, the fieldValidation query parameter on the writes, and components.schemas named as
 * Kubernetes names them (io.k8s.api.core.v1.Pod), generated from api/'s one schema description
 * (src/api/schema/), which the decoders are checked against.
 *
 * What kubectl 1.36 reads: `kubectl explain` fetches the index and the group-version's document and
 * follows the GVK of a path's operation to the schema carrying the same GVK. `kubectl apply`/`create`
 * look for a PATCH operation of the kind with a fieldValidation query parameter: found, they leave
 * validation to the server (?fieldValidation=Strict by default); the client-side schema validation
 * and /openapi/v2 are only their fallback when the v3 document is missing, so /openapi/v2 is not
 * served. Client-side apply computes its strategic merge patch from the same document
 * (x-kubernetes-patch-merge-key / -strategy) when the PATCH operation accepts
 * application/strategic-merge-patch+json.
 */
import { createHash } from 'node:crypto';
import { KINDS, openApiSchemaOf, reachableTypes, SCHEMA_TYPES, type KindEntry } from '../../api/index.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** The Kubernetes version whose document shape this follows (the info.version). */
const INFO_VERSION = 'v1.36.0';

/** Query parameters of the writes, by the verbs that take them. */
const WRITE_PARAMETERS = {
  dryRun: 'When present ("All"), the request is checked and not persisted.',
  fieldManager: 'The name of the actor making the change (recorded in metadata.managedFields by server-side apply).',
  fieldValidation:
    'What to do with fields the schema lacks (or given twice): Ignore drops them silently, Warn (the default) drops them with a Warning header each, Strict refuses the request (400 BadRequest naming every such field).',
} as const;

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

/** "api/v1" or "apis/apps/v1": the key of a group-version in the index and its document's path. */
function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** The group-versions served, each with its kinds. */
function groupVersions(): Map<string, KindEntry[]> {
  const out = new Map<string, KindEntry[]>();
  for (const k of KINDS as readonly KindEntry[]) {
    const key = groupVersionPath(k.group, k.version);
    out.set(key, [...(out.get(key) ?? []), k]);
  }
  return out;
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: unknown) => ({ 'application/json': { schema }, 'application/yaml': { schema } });
const param = (name: string, description: string, required = false) => ({ name, in: 'query', description, ...(required ? { required } : {}), schema: { type: 'string', uniqueItems: true } });
const pathParam = (name: string, description: string) => ({ name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } });

function operations(k: KindEntry, gvPath: string): Record<string, unknown> {
  const id = SCHEMA_TYPES[k.kind].id;
  const listId = `${id}List`;
  const gvk = { group: k.group, version: k.version, kind: k.kind };
  const op = (verb: string, action: string, scope: string, extra: Record<string, unknown>) => ({
    operationId: `${verb}${scope}${k.kind}`,
    description: `${verb} ${k.plural}`,
    tags: [gvPath.replace(/\//g, '_')],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const ok = (schema: unknown, codes: readonly string[] = ['200']) => ({
    responses: Object.fromEntries([...codes.map((c) => [c, { description: c === '201' ? 'Created' : 'OK', content: json(schema) }]), ['401', { description: 'Unauthorized' }]]),
  });
  const writes = (names: readonly (keyof typeof WRITE_PARAMETERS)[]) => names.map((n) => param(n, WRITE_PARAMETERS[n]));
  const scope = k.namespaced ? 'Namespaced' : '';
  const base = `/${gvPath}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.plural}`;
  const nsParam = k.namespaced ? [pathParam('namespace', 'The object\'s namespace.')] : [];
  const listParams = [
    param('labelSelector', 'Only objects whose labels match this selector.'),
    param('fieldSelector', 'Only objects whose fields match this selector (metadata.name, metadata.namespace, spec.nodeName, status.phase).'),
    param('limit', 'At most this many objects; metadata.continue then names the rest.'),
    param('continue', 'The metadata.continue of a previous chunk.'),
    param('resourceVersion', 'With watch: the version to start after.'),
    param('watch', 'Stream changes instead of listing.'),
  ];
  const paths: Record<string, unknown> = {
    [base]: {
      parameters: nsParam,
      get: op('list', 'list', scope, { parameters: listParams, ...ok(ref(listId)) }),
      post: op('create', 'post', scope, { parameters: writes(['dryRun', 'fieldManager', 'fieldValidation']), requestBody: { required: true, content: json(ref(id)) }, ...ok(ref(id), ['200', '201']) }),
    },
    [`${base}/{name}`]: {
      parameters: [pathParam('name', `The ${k.singular}'s name.`), ...nsParam],
      get: op('read', 'get', scope, ok(ref(id))),
      put: op('replace', 'put', scope, { parameters: writes(['dryRun', 'fieldManager', 'fieldValidation']), requestBody: { required: true, content: json(ref(id)) }, ...ok(ref(id), ['200', '201']) }),
      patch: op('patch', 'patch', scope, {
        parameters: [...writes(['dryRun', 'fieldManager', 'fieldValidation']), param('force', 'Server-side apply: take over fields other managers own.')],
        requestBody: { required: true, content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: ref(`${META}.Patch`) }])) },
        ...ok(ref(id), ['200', '201']),
      }),
      delete: op('delete', 'delete', scope, { parameters: [param('gracePeriodSeconds', 'Seconds to wait before the object is deleted.'), param('dryRun', WRITE_PARAMETERS.dryRun)], ...ok(ref(`${META}.Status`)) }),
    },
  };
  if (k.namespaced) {
    // Every namespace at once, as kubectl get -A reads them.
    paths[`/${gvPath}/${k.plural}`] = { get: op('list', 'list', 'ForAllNamespaces', { parameters: listParams, ...ok(ref(listId)) }) };
  }
  return paths;
}

/** The List type of a kind ("io.k8s.api.core.v1.PodList"). */
function listSchema(k: KindEntry): Record<string, unknown> {
  return {
    description: `A list of ${k.plural}.`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'The schema version of this list.' },
      kind: { type: 'string', description: `${k.kind}List.` },
      metadata: { allOf: [ref(`${META}.ListMeta`)], description: 'The list\'s resourceVersion and continue token.' },
      items: { type: 'array', items: ref(SCHEMA_TYPES[k.kind].id), description: `The ${k.plural}.` },
    },
    'x-kubernetes-group-version-kind': [{ group: k.group, version: k.version, kind: `${k.kind}List` }],
  };
}

/** The apimachinery types every document refers to besides the description's own. */
const COMMON_SCHEMAS: Record<string, unknown> = {
  [`${META}.ListMeta`]: {
    description: 'The metadata of a list.',
    type: 'object',
    properties: {
      resourceVersion: { type: 'string', description: 'The store version the list was read at; a watch may start after it.' },
      continue: { type: 'string', description: 'Set when the list was cut at limit: pass it as ?continue= for the rest.' },
      remainingItemCount: { type: 'integer', format: 'int64', description: 'Objects left after this chunk, when known.' },
    },
  },
  [`${META}.Status`]: {
    description: 'The result of a request that returns no object: an error, or a deletion.',
    type: 'object',
    properties: {
      apiVersion: { type: 'string', description: 'v1.' },
      kind: { type: 'string', description: 'Status.' },
      status: { type: 'string', description: 'Success or Failure.' },
      message: { type: 'string', description: 'What happened, for people.' },
      reason: { type: 'string', description: 'Why, in one word (NotFound, AlreadyExists, Conflict, Invalid, Forbidden, ...).' },
      code: { type: 'integer', format: 'int32', description: 'The HTTP status code.' },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [`${META}.Patch`]: { description: 'A patch: its shape depends on the Content-Type (JSON patch, merge patch, strategic merge patch or an apply configuration).', type: 'object' },
};

/** The OpenAPI v3 document of one group-version ("api/v1", "apis/apps/v1"). */
export function openApiDocument(gvPath: string): Record<string, unknown> | undefined {
  const kinds = groupVersions().get(gvPath);
  if (!kinds) return undefined;
  const schemas: Record<string, unknown> = { ...COMMON_SCHEMAS };
  for (const name of reachableTypes(kinds.map((k) => k.kind))) schemas[SCHEMA_TYPES[name].id] = openApiSchemaOf(name);
  const paths: Record<string, unknown> = {};
  for (const k of kinds) {
    schemas[`${SCHEMA_TYPES[k.kind].id}List`] = listSchema(k);
    Object.assign(paths, operations(k, gvPath));
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: INFO_VERSION },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer token authentication', name: 'authorization', in: 'header' } } },
  };
}

interface Served {
  body: string;
  etag: string;
}

let cache: { index: string; docs: Map<string, Served> } | undefined;

/** The documents, made once (the description is code: it changes only with the program). */
function served(): { index: string; docs: Map<string, Served> } {
  if (cache) return cache;
  const docs = new Map<string, Served>();
  const index: Record<string, { serverRelativeURL: string }> = {};
  for (const gvPath of groupVersions().keys()) {
    const body = JSON.stringify(openApiDocument(gvPath));
    const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
    docs.set(gvPath, { body, etag: `"${hash}"` });
    index[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${hash}` };
  }
  cache = { index: JSON.stringify({ paths: index }), docs };
  return cache;
}

/** An answer of the OpenAPI routes: the JSON text, its status and headers. */
export interface OpenApiReply {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * Answers GET /openapi/v3 and /openapi/v3/<group-version>; undefined for any other path (the
 * caller routes it). A document asked for with its hash may be cached for good, as kube-apiserver
 * allows; an If-None-Match of the current one gets 304.
 */
export function openApiRoute(method: string, pathname: string, search: URLSearchParams, ifNoneMatch: string | undefined): OpenApiReply | undefined {
  if (pathname !== '/openapi/v3' && !pathname.startsWith('/openapi/v3/')) return undefined;
  const notFound = (message: string): OpenApiReply => ({
    status: 404,
    body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'NotFound', code: 404 }),
    headers: { 'content-type': 'application/json' },
  });
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${method} is not allowed on ${pathname}`, reason: 'MethodNotAllowed', code: 405 }), headers: { 'content-type': 'application/json' } };
  }
  const { index, docs } = served();
  const rest = pathname.replace(/^\/openapi\/v3\/?/, '').replace(/\/$/, '');
  if (rest === '') return { status: 200, body: index, headers: { 'content-type': 'application/json' } };
  const doc = docs.get(rest);
  if (!doc) return notFound(`no OpenAPI v3 document for ${JSON.stringify(rest)} (served: ${[...docs.keys()].join(', ')})`);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    etag: doc.etag,
    'cache-control': search.get('hash') === doc.etag.slice(1, -1) ? 'public, immutable' : 'no-cache, private',
  };
  if (ifNoneMatch === doc.etag) return { status: 304, body: '', headers };
  return { status: 200, body: doc.body, headers };
}
