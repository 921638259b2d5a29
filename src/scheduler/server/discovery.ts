/**
 * Discovery, as kube-apiserver serves it, so kubectl and client libraries find corelet's resources:
 *   GET /version                      the server's version (kubectl version)
 *   GET /api, /apis                   APIVersions and APIGroupList; with an Accept asking for
 *                                     apidiscovery.k8s.io/v2 (or v2beta1) the aggregated
 *                                     APIGroupDiscoveryList instead, as kubectl ≥ 1.30 asks first
 *   GET /api/v1, /apis/GROUP/v1       the APIResourceList of one group-version
 *   GET /apis/GROUP                   the APIGroup
 *   GET /healthz, /livez, /readyz     "ok" (text)
 * and where a resource lives: apiPath() maps /api/v1/... and /apis/GROUP/v1/... onto the routes'
 * path below the version, refusing (404) a resource under a group it does not belong to. corelet's
 * own /api/v1 paths keep serving every kind (the corelet CLI's aliases).
 *
 * One table below (SERVED) says, per group-version, which resources are served with which verbs,
 * subresources and categories; the stored kinds' names come from the kind registry (api/kinds.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KINDS, type KindEntry } from '../../api/index.js';

/** The Kubernetes minor version whose API corelet speaks (kubectl warns beyond one minor of skew). */
export const KUBERNETES_MINOR = 36;

const READ = ['get', 'list', 'watch'];
/** Verbs of a stored kind's collection and objects (PUT is "update"). */
const OBJECT_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** A subresource in discovery: its name, the kind its answers are (when not the parent's), verbs. */
interface Subresource {
  name: string;
  kind?: { group: string; version: string; kind: string };
  verbs: string[];
}

/** One resource of a group-version. */
interface ServedResource {
  name: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
}

/** One group-version: "" is the core group (served under /api/v1). */
interface GroupVersion {
  group: string;
  version: string;
  resources: ServedResource[];
}

const SCALE = { group: 'autoscaling', version: 'v1', kind: 'Scale' };

/** Subresources served per resource (subresource() in rest-api.ts and the access routes). */
/** pods|deployments|.../status (rest-api.ts statusRoute): the status alone, read, replaced or patched. */
const STATUS: Subresource = { name: 'status', verbs: ['get', 'patch', 'update'] };

const SUBRESOURCES: Readonly<Record<string, Subresource[]>> = {
  pods: [
    { name: 'attach', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodAttachOptions' } },
    { name: 'exec', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodExecOptions' } },
    { name: 'log', verbs: ['get'] },
    { name: 'portforward', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' } },
    STATUS,
  ],
  deployments: [
    { name: 'rollback', verbs: ['create'], kind: { group: 'apps', version: 'v1', kind: 'DeploymentRollback' } },
    { name: 'scale', verbs: ['get', 'patch', 'update'], kind: SCALE },
    STATUS,
  ],
  statefulsets: [{ name: 'scale', verbs: ['get', 'patch', 'update'], kind: SCALE }, STATUS],
  replicasets: [STATUS],
  daemonsets: [STATUS],
  jobs: [STATUS],
  services: [STATUS],
  serviceaccounts: [{ name: 'token', verbs: ['create'], kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } }],
};

/** kubectl's "all" category: what `kubectl get all` lists. */
const ALL_CATEGORY = new Set(['pods', 'services', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs']);

function stored(e: KindEntry): ServedResource {
  return {
    name: e.plural,
    singular: e.singular,
    kind: e.kind,
    namespaced: e.namespaced,
    // Events are written by the control plane and agents, Nodes created by their agents' registration.
    verbs: e.kind === 'Event' ? READ : e.kind === 'Node' ? OBJECT_VERBS.filter((v) => v !== 'create') : OBJECT_VERBS,
    shortNames: [...e.shortNames],
    categories: ALL_CATEGORY.has(e.plural) ? ['all'] : [],
    subresources: SUBRESOURCES[e.plural] ?? [],
  };
}

/** A create-only resource (reviews): no objects to get or list. */
function review(name: string, kind: string, namespaced = false): ServedResource {
  return { name, singular: name.slice(0, -1), kind, namespaced, verbs: ['create'], shortNames: [], categories: [], subresources: [] };
}

/** Every group-version served, in the order /apis lists them (core first). */
export const SERVED: readonly GroupVersion[] = (() => {
  const groups = new Map<string, GroupVersion>();
  for (const e of KINDS as readonly KindEntry[]) {
    const key = `${e.group}/${e.version}`;
    if (!groups.has(key)) groups.set(key, { group: e.group, version: e.version, resources: [] });
    groups.get(key)!.resources.push(stored(e));
  }
  groups.set('authentication.k8s.io/v1', { group: 'authentication.k8s.io', version: 'v1', resources: [review('selfsubjectreviews', 'SelfSubjectReview'), review('tokenreviews', 'TokenReview')] });
  groups.set('authorization.k8s.io/v1', {
    group: 'authorization.k8s.io',
    version: 'v1',
    resources: [review('selfsubjectaccessreviews', 'SelfSubjectAccessReview'), review('subjectaccessreviews', 'SubjectAccessReview')],
  });
  for (const g of groups.values()) g.resources.sort((a, b) => a.name.localeCompare(b.name));
  return [...groups.values()].sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
})();

/** The group-version a path names, if served. */
function groupVersion(group: string, version: string): GroupVersion | undefined {
  return SERVED.find((g) => g.group === group && g.version === version);
}

const gvString = (g: GroupVersion) => (g.group === '' ? g.version : `${g.group}/${g.version}`);

/** The kind registry's group of a URL resource, or undefined for one that is not stored. */
function groupOfStoredResource(resource: string): string | undefined {
  return (KINDS as readonly KindEntry[]).find((k) => k.plural === resource)?.group;
}

/** A path of the REST API, resolved against the groups. */
export type ApiPath =
  /** A discovery document to answer with. */
  | { discovery: true; body: unknown; contentType: string }
  /** A resource path: the segments below the version, as the routes read them. */
  | { discovery: false; group: string; rest: string[] }
  /** Not served: the Status message. */
  | { notFound: string };

/** The kind registry's group, checked: /apis/apps/v1/namespaces/NS/pods is not served. */
function resourceInGroup(group: string, rest: readonly string[]): boolean {
  // namespaces/NS/RESOURCE..., or RESOURCE... (namespaces/NAME itself is the core Namespace object)
  const resource = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : rest[0];
  if (rest[0] === 'namespaces' && rest.length < 3) return group === '';
  const served = groupOfStoredResource(resource);
  return served === group;
}

let packageVersion: string | undefined;

/** corelet's version, from the package.json above this file (src/ or dist/src/). */
export function coreletVersion(): string {
  if (packageVersion !== undefined) return packageVersion;
  packageVersion = '0.0.0';
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'corelet' && typeof pkg.version === 'string') return (packageVersion = pkg.version);
    } catch {
      // no package.json here: one folder up
    }
  }
  return packageVersion;
}

/** The server's /version answer. */
export function versionInfo(corelet: string): Record<string, string> {
  return {
    major: '1',
    minor: String(KUBERNETES_MINOR),
    gitVersion: `v1.${KUBERNETES_MINOR}.0+corelet.${corelet}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'corelet',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/** Whether an Accept header asks for aggregated discovery (apidiscovery.k8s.io v2 or v2beta1), and which. */
export function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = Object.fromEntries(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.g === 'apidiscovery.k8s.io' && params.as === 'APIGroupDiscoveryList' && (params.v === 'v2' || params.v === 'v2beta1')) return params.v;
  }
  return undefined;
}

function apiResource(r: ServedResource): unknown[] {
  const main = { name: r.name, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories.length ? { categories: r.categories } : {}) };
  const subs = r.subresources.map((s) => ({
    name: `${r.name}/${s.name}`,
    singularName: '',
    namespaced: r.namespaced,
    ...(s.kind ? { group: s.kind.group, version: s.kind.version, kind: s.kind.kind } : { kind: r.kind }),
    verbs: s.verbs,
  }));
  return [main, ...subs];
}

/** The APIResourceList of one group-version (GET /api/v1, /apis/apps/v1). */
export function resourceList(g: GroupVersion): unknown {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(g), resources: g.resources.flatMap(apiResource) };
}

function apiGroup(group: string): unknown {
  const versions = SERVED.filter((g) => g.group === group).map((g) => ({ groupVersion: gvString(g), version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** The APIGroupDiscoveryList of the core group (/api) or of every named group (/apis). */
export function aggregatedList(core: boolean, version: 'v2' | 'v2beta1'): unknown {
  const names = [...new Set(SERVED.filter((g) => (g.group === '') === core).map((g) => g.group))];
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: names.map((name) => ({
      metadata: { name, creationTimestamp: null },
      versions: SERVED.filter((g) => g.group === name).map((g) => ({
        version: g.version,
        resources: g.resources.map((r) => ({
          resource: r.name,
          responseKind: { group: g.group, version: g.version, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: r.singular,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
          ...(r.subresources.length
            ? { subresources: r.subresources.map((s) => ({ subresource: s.name, responseKind: s.kind ?? { group: g.group, version: g.version, kind: r.kind }, verbs: s.verbs })) }
            : {}),
        })),
        freshness: 'Current',
      })),
    })),
  };
}

const JSON_TYPE = 'application/json';
const HEALTH_PATHS = ['healthz', 'livez', 'readyz'];

/**
 * Resolves a request path: a discovery document, the resource path below /api/v1 or
 * /apis/GROUP/VERSION, or why it is not served. `corelet` is the package version (for /version).
 */
export function apiPath(parts: readonly string[], accept: string | undefined, corelet = coreletVersion()): ApiPath {
  const doc = (body: unknown, contentType = JSON_TYPE): ApiPath => ({ discovery: true, body, contentType });
  const aggregated = aggregatedVersion(accept);
  const aggregatedType = (v: string) => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
  if (parts.length === 1 && parts[0] === 'version') return doc(versionInfo(corelet));
  // Health checks (kube-apiserver's /healthz, /livez, /readyz): a scheduler that answers is serving.
  if (parts.length === 1 && HEALTH_PATHS.includes(parts[0])) return doc('ok', 'text/plain; charset=utf-8');
  if (parts[0] === 'api') {
    if (parts.length === 1) return aggregated ? doc(aggregatedList(true, aggregated), aggregatedType(aggregated)) : doc({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (parts[1] !== 'v1') return { notFound: `the server could not find the requested resource: no API version ${parts[1]} (the core group is served as /api/v1)` };
    if (parts.length === 2) return doc(resourceList(groupVersion('', 'v1')!));
    // corelet's own paths: every stored kind under /api/v1 (the corelet CLI's aliases).
    return { discovery: false, group: '', rest: parts.slice(2) };
  }
  if (parts[0] === 'apis') {
    if (parts.length === 1) {
      if (aggregated) return doc(aggregatedList(false, aggregated), aggregatedType(aggregated));
      const names = [...new Set(SERVED.filter((g) => g.group !== '').map((g) => g.group))];
      return doc({ kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(apiGroup) });
    }
    const group = parts[1];
    if (!SERVED.some((g) => g.group === group && group !== '')) return { notFound: `the server could not find the requested resource: no API group ${group}` };
    if (parts.length === 2) return doc({ kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(group) as object) });
    const gv = groupVersion(group, parts[2]);
    if (!gv) return { notFound: `the server could not find the requested resource: no version ${parts[2]} of API group ${group}` };
    if (parts.length === 3) return doc(resourceList(gv));
    const rest = parts.slice(3);
    if (!resourceInGroup(group, rest)) {
      const resource = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : rest[0];
      const home = SERVED.find((g) => g.resources.some((r) => r.name === resource));
      const where = home === undefined ? '' : ` (${resource} are served under ${home.group === '' ? '/api/v1' : `/apis/${gvString(home)}`})`;
      return { notFound: `the server could not find the requested resource: no ${resource} in API group ${group}${where}` };
    }
    return { discovery: false, group, rest };
  }
  return { notFound: `the server could not find the requested resource: no such path /${parts.join('/')} (the API is under /api/v1 and /apis/GROUP/VERSION)` };
}
