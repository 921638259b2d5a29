/**
 * The attributes RBAC decides on, read from a request the way Kubernetes' RequestInfoFactory reads
 * them: /api/v1/... (core and, in corelet, every built-in resource) and /apis/GROUP/VERSION/...;
 * namespaces/NS/RESOURCE[/NAME[/SUBRESOURCE]] or RESOURCE[/NAME[/SUBRESOURCE]]; the verb from the
 * method (GET on a collection is list, with ?watch=true watch; DELETE on a collection deletecollection).
 */
import { KINDS, RESOURCE_GROUPS } from '../../api/index.js';

/** What one request asks to do. */
export interface ResourceAttributes {
  verb: string;
  /** "" is the core group. */
  apiGroup: string;
  resource: string;
  subresource?: string;
  /** "" or undefined: cluster scope. */
  namespace?: string;
  name?: string;
}

/** A request that is not about a resource (e.g. /healthz). */
export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type RequestAttributes = ({ kind: 'resource' } & ResourceAttributes) | ({ kind: 'nonResource' } & NonResourceAttributes);


/** The API group a resource belongs to ("" for pods, "apps" for deployments). */
export function groupOf(resource: string, urlGroup = ''): string {
  return urlGroup !== '' ? urlGroup : (RESOURCE_GROUPS[resource] ?? '');
}

/**
 * Resources that are not in any namespace. Under namespaces/NS/ they are not served (404), so their
 * attributes there are cluster-wide: a role bound in NS never reaches them.
 */
export const CLUSTER_SCOPED_RESOURCES: ReadonlySet<string> = new Set([
  ...KINDS.filter((k) => !k.namespaced).map((k) => k.plural),
  'certificatesigningrequests',
  'bootstraptokens',
  'users',
  'groups',
  'subjectaccessreviews',
  'selfsubjectaccessreviews',
  'tokenreviews',
  'persistentvolumes',
  'storageclasses',
]);

const VERB_OF_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

/**
 * The attributes of a request line. `watch` is the ?watch= flag. Paths outside /api and /apis are
 * non-resource requests ("get /healthz").
 */
export function requestAttributes(method: string, pathname: string, watch: boolean): RequestAttributes {
  const parts = pathname.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const m = method.toUpperCase();
  let rest: string[];
  let urlGroup = '';
  if (parts[0] === 'api' && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) {
    urlGroup = parts[1];
    rest = parts.slice(3);
  } else {
    return { kind: 'nonResource', verb: (VERB_OF_METHOD[m] ?? m.toLowerCase()), path: pathname };
  }
  if (rest.length === 0) return { kind: 'nonResource', verb: (VERB_OF_METHOD[m] ?? m.toLowerCase()), path: pathname };
  let namespace = '';
  // namespaces/NS/RESOURCE...: the resource is in NS; namespaces/NS alone is the namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    namespace = rest[1];
    if (rest.length > 2) {
      rest = rest.slice(2);
      // namespaces/NS/nodes|namespaces|clusterroles...: not served there; decided cluster-wide.
      if (CLUSTER_SCOPED_RESOURCES.has(rest[0])) namespace = '';
    }
  }
  const [resource, name, ...subs] = rest;
  const subresource = subs.length > 0 ? subs.join('/') : undefined;
  let verb = VERB_OF_METHOD[m] ?? m.toLowerCase();
  if (name === undefined) {
    if (verb === 'get') verb = watch ? 'watch' : 'list';
    else if (verb === 'delete') verb = 'deletecollection';
  } else if (verb === 'get' && watch && subresource === undefined) verb = 'watch';
  return {
    kind: 'resource',
    verb,
    apiGroup: groupOf(resource, urlGroup),
    resource,
    ...(subresource !== undefined ? { subresource } : {}),
    namespace,
    ...(name !== undefined ? { name } : {}),
  };
}
