/**
 * Access control of the REST API: who is calling (authn.ts), as whom (Impersonate-User /
 * Impersonate-Group headers, allowed with the "impersonate" verb), whether RBAC lets them (403 with
 * Kubernetes' message), escalation prevention for roles and bindings, the audit log, and the
 * endpoints about access: SelfSubjectAccessReview, SubjectAccessReview, TokenReview, users' API
 * tokens and client certificates, service-account tokens.
 *
 * Routes handled here:
 *   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews   may I?   (everyone)
 *   POST /apis/authorization.k8s.io/v1/subjectaccessreviews       may U?   (create subjectaccessreviews)
 *   POST /apis/authentication.k8s.io/v1/tokenreviews              who is T (create tokenreviews)
 *   POST /apis/authentication.k8s.io/v1/selfsubjectreviews        who am I (everyone)
 *   POST /apis/corelet.io/v1/users                                a user's API token or certificate
 *   POST /api/v1/namespaces/NS/serviceaccounts/NAME/token         a service-account token (TokenRequest)
 */
import type { IncomingMessage } from 'node:http';
import { invalidArgument, notFound } from '../../lib/index.js';
import { isRecord as isObject } from './rest-util.js';
import type { ClusterRole, PolicyRule, Role, RoleRef } from '../../api/index.js';
import {
  AUTHENTICATED_GROUP,
  MASTERS_GROUP,
  AuthenticationError,
  authenticateBearer,
  authenticateRequest,
  issueCertificate,
  newTokenRecord,
  withAuthenticated,
  type NodeCertificates,
  type Pki,
  type TokenRecord,
  type UserInfo,
} from '../auth/index.js';
import {
  authorize,
  clipField,
  forbiddenMessage,
  MAX_AUDIT_REASON,
  groupOf,
  missingPermission,
  policyCacheOf,
  requestAttributes,
  serviceAccountUser,
  SERVICE_ACCOUNT_PREFIX,
  type AuditSink,
  type Policy,
  type RequestAttributes,
  type ResourceAttributes,
} from '../rbac/index.js';
import type { Store, StoredObject } from '../store/index.js';
import { maySomeApply } from './apply-precheck.js';
import { SERVICE_ACCOUNTS_GROUP } from '../auth/authn.js';

/** "RBAC" (default) or "AlwaysAllow" (authentication only: every authenticated user may do anything). */
export type AuthorizationMode = 'RBAC' | 'AlwaysAllow';

/** What access control needs from the API's options. */
export interface AccessOptions {
  store: Store;
  tokenLookup: (id: string) => TokenRecord | undefined;
  now: () => Date;
  authorizationMode?: AuthorizationMode;
  audit?: AuditSink;
  /** Signs users' client certificates (POST users with a public key). */
  pki?: Pki;
  /** Stores a new token record (users' and service accounts' tokens). */
  addToken?: (record: TokenRecord) => void;
  /** The node certificates issued (a revoked one does not authenticate). */
  nodeCertificates?: NodeCertificates;
}

/** A refusal: 401 or 403, as a Kubernetes Status. */
export class AccessError extends Error {
  constructor(
    readonly code: 401 | 403,
    readonly reason: 'Unauthorized' | 'Forbidden',
    message: string,
  ) {
    super(message);
  }
}

/** The caller of one request, once authenticated (and impersonated). */
export interface AccessContext {
  user: UserInfo;
  /** The authenticated user when impersonating someone. */
  impersonatedBy?: UserInfo;
  attrs: RequestAttributes;
  /** Decides one more request of this user (apply's objects); throws AccessError 403. objectName: for the audit log. */
  require(a: ResourceAttributes, objectName?: string): void;
  /**
   * Before an apply's body is read: throws AccessError 403 unless the user may create or patch one of
   * these resources somewhere (apply-precheck.ts), so a node or bootstrap identity cannot make the
   * scheduler decode megabytes.
   */
  requireSomeApply(resources: readonly string[]): void;
  /** Checks a Role/ClusterRole/binding about to be stored against escalation. */
  admit(kind: string, obj: unknown): void;
  /** The name of the object a POST to a collection creates (its URL has none): for the audit log. */
  auditName?: string;
  /** Why the request failed (the Status message), for the audit record of a failure. */
  failure?: string;
  /** What this request already recorded (a denial) or will record once it is over (apply's objects). */
  state: RequestAuditState;
  /**
   * Whether the caller may still do this request now: its credentials authenticate again (the token
   * or ServiceAccount not deleted, not expired), and RBAC still allows it. For long streams.
   */
  stillAllowed(): boolean;
}

/** Per request: whether a denial was recorded, and apply's allowed objects awaiting the outcome. */
export interface RequestAuditState {
  denied: boolean;
  pending: RequestAttributes[];
}

type Caller = { user: UserInfo; impersonatedBy?: UserInfo; state?: RequestAuditState };

/** Fields of audit records are clipped: a flood of requests with huge names cannot make records huge. */
const clip = clipField;

function policyOf(opts: AccessOptions): Policy {
  return policyCacheOf(opts.store).get();
}

/** Whether user may do a: RBAC, or always in AlwaysAllow mode. */
export function decide(opts: AccessOptions, user: UserInfo, a: RequestAttributes): { allowed: boolean; reason: string } {
  if (opts.authorizationMode === 'AlwaysAllow') return { allowed: true, reason: 'authorization mode AlwaysAllow' };
  // Masters need no policy (and no store listener for it).
  if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `${MASTERS_GROUP} may do everything` };
  return authorize(policyOf(opts), user, a);
}

function audit(
  opts: AccessOptions,
  ctx: Caller,
  a: RequestAttributes,
  code: number,
  reason?: string,
  result?: 'allowed' | 'denied' | 'failed' | 'started',
): void {
  const denied = code === 403;
  if (denied && ctx.state) ctx.state.denied = true;
  if (!opts.audit) return;
  const writes = ['create', 'update', 'patch', 'delete', 'deletecollection'];
  if (!denied && !writes.includes(a.verb) && !(a.kind === 'resource' && a.subresource === 'exec')) return;
  const r = {
    time: opts.now().toISOString(),
    user: ctx.user.username,
    groups: ctx.user.groups,
    ...(ctx.impersonatedBy ? { impersonatedBy: ctx.impersonatedBy.username } : {}),
    verb: a.verb,
    ...(a.kind === 'resource'
      ? {
          resource: clip(a.resource),
          ...(a.subresource ? { subresource: clip(a.subresource) } : {}),
          ...(a.namespace ? { namespace: clip(a.namespace) } : {}),
          ...(a.name ? { name: clip(a.name) } : {}),
        }
      : { path: clip(a.path) }),
    code,
    result: result ?? (denied ? 'denied' : code < 400 ? 'allowed' : 'failed'),
    ...(reason ? { reason: clip(reason, MAX_AUDIT_REASON) } : {}),
  };
  opts.audit.write(r);
}

function forbid(opts: AccessOptions, ctx: Caller, a: RequestAttributes, reason = '', audited: RequestAttributes = a): AccessError {
  const message = forbiddenMessage(ctx.user, a, reason);
  audit(opts, ctx, audited, 403, message);
  return new AccessError(403, 'Forbidden', message);
}

/** The Impersonate-* headers applied: the user to act as, when the requester may impersonate it. */
function impersonate(req: IncomingMessage, requester: UserInfo, opts: AccessOptions): UserInfo | undefined {
  const users = req.headersDistinct['impersonate-user'] ?? [];
  const groups = (req.headersDistinct['impersonate-group'] ?? []).flatMap((g) => g.split(',').map((s) => s.trim())).filter((g) => g !== '');
  if (users.length === 0) {
    if (groups.length > 0) throw new AccessError(403, 'Forbidden', 'Impersonate-Group needs Impersonate-User: impersonating groups alone is not allowed');
    return undefined;
  }
  if (users.length > 1) throw invalidArgument('only one Impersonate-User header may be sent');
  const username = users[0];
  const ctx = { user: requester };
  const check = (a: ResourceAttributes) => {
    const d = decide(opts, requester, { kind: 'resource', ...a });
    if (!d.allowed) throw forbid(opts, ctx, { kind: 'resource', ...a });
  };
  const sa = username.startsWith(SERVICE_ACCOUNT_PREFIX) ? username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':') : undefined;
  if (sa && sa.length === 2) check({ verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: sa[0], name: sa[1] });
  else check({ verb: 'impersonate', apiGroup: '', resource: 'users', name: username });
  for (const g of groups) check({ verb: 'impersonate', apiGroup: '', resource: 'groups', name: g });
  const extra = sa && sa.length === 2 ? [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${sa[0]}`] : [];
  return withAuthenticated({ username, groups: [...new Set([...groups, ...extra])] });
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Escalation prevention for one RBAC object a user is about to store. */
function admitRbac(opts: AccessOptions, ctx: Caller, kind: string, obj: unknown): void {
  if (opts.authorizationMode === 'AlwaysAllow' || !isObject(obj)) return;
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const name = typeof meta.name === 'string' ? meta.name : '';
  const policy = policyOf(opts);
  const user = ctx.user;
  const allowedTo = (verb: string, resource: string, ns: string, n: string) =>
    authorize(policy, user, { kind: 'resource', verb, apiGroup: RBAC_GROUP, resource, namespace: ns, name: n }).allowed;
  if (kind === 'Role' || kind === 'ClusterRole') {
    const resource = kind === 'Role' ? 'roles' : 'clusterroles';
    if (allowedTo('escalate', resource, namespace, name)) return;
    const missing = missingPermission(policy, user, (obj.rules as PolicyRule[]) ?? [], namespace);
    if (missing !== undefined) {
      const a: RequestAttributes = { kind: 'resource', verb: 'escalate', apiGroup: RBAC_GROUP, resource, namespace, name };
      const message = `${resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(user.username)} is attempting to grant RBAC permissions not currently held: ${missing}${namespace ? ` in the namespace ${JSON.stringify(namespace)}` : ' at the cluster scope'} (it needs those permissions, or "escalate" on ${resource})`;
      audit(opts, ctx, a, 403, message);
      throw new AccessError(403, 'Forbidden', message);
    }
    return;
  }
  if (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
    const ref = obj.roleRef as RoleRef | undefined;
    if (!ref || typeof ref.name !== 'string') return; // validation reports it
    const roleResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
    if (allowedTo('bind', roleResource, ref.kind === 'Role' ? namespace : namespace, ref.name)) return;
    const role = ref.kind === 'Role' ? (opts.store.get<Role>('Role', namespace, ref.name) as Role | undefined) : (opts.store.get<ClusterRole>('ClusterRole', '', ref.name) as ClusterRole | undefined);
    if (!role) {
      // A role that does not exist yet grants nothing now, but would the moment it appears: only a
      // user with "bind" on it may pre-position a binding (Kubernetes' rule).
      const resource = kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
      const a: RequestAttributes = { kind: 'resource', verb: 'bind', apiGroup: RBAC_GROUP, resource: roleResource, namespace: ref.kind === 'Role' ? namespace : '', name: ref.name };
      const message = `${resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(user.username)} may not bind the ${ref.kind} ${JSON.stringify(ref.name)}, which does not exist: binding a missing role needs the "bind" verb on ${roleResource}.${RBAC_GROUP} ${JSON.stringify(ref.name)}`;
      audit(opts, ctx, a, 403, message);
      throw new AccessError(403, 'Forbidden', message);
    }
    const missing = missingPermission(policy, user, role.rules ?? [], namespace);
    if (missing !== undefined) {
      const resource = kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
      const a: RequestAttributes = { kind: 'resource', verb: 'bind', apiGroup: RBAC_GROUP, resource: roleResource, namespace, name: ref.name };
      const message = `${resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(user.username)} is attempting to grant RBAC permissions not currently held: ${missing}${namespace ? ` in the namespace ${JSON.stringify(namespace)}` : ' at the cluster scope'} (it needs the ${ref.kind} "${ref.name}"'s permissions, or "bind" on it)`;
      audit(opts, ctx, a, 403, message);
      throw new AccessError(403, 'Forbidden', message);
    }
  }
}

/**
 * Authenticates and authorizes a request. POST .../apply is authorized object by object later
 * (ctx.require); every other request here, by its URL. Throws AccessError (401/403).
 */
export function checkAccess(req: IncomingMessage, url: URL, opts: AccessOptions): AccessContext {
  let requester: UserInfo;
  try {
    requester = authenticateRequest(req, {
      tokenLookup: opts.tokenLookup,
      now: opts.now,
      serviceAccountUid: (ns, name) => opts.store.get('ServiceAccount', ns, name)?.metadata.uid,
      ...(opts.nodeCertificates ? { nodeCertificateValid: (node: string, serial: string) => opts.nodeCertificates!.valid(node, serial) } : {}),
    });
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    const none = req.headers.authorization === undefined;
    throw new AccessError(401, 'Unauthorized', none ? err.message : `authentication failed: ${err.message}`);
  }
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const attrs = requestAttributes(req.method ?? 'GET', url.pathname, watch);
  const impersonated = impersonate(req, requester, opts);
  const state: RequestAuditState = { denied: false, pending: [] };
  const base = impersonated ? { user: impersonated, impersonatedBy: requester, state } : { user: requester, state };
  const isApply = attrs.kind === 'resource' && attrs.resource === 'apply' && attrs.name === undefined && req.method === 'POST';
  if (!isApply) {
    const d = decide(opts, base.user, attrs);
    if (!d.allowed) throw forbid(opts, base, attrs, d.reason);
  }
  // An exec is recorded when it starts too: its completion record may come much later (or, when
  // the scheduler stops first, never).
  if (attrs.kind === 'resource' && attrs.subresource === 'exec') audit(opts, base, attrs, 0, 'exec authorized and started; its outcome is recorded when it ends', 'started');
  return {
    ...base,
    attrs,
    require(a, objectName) {
      const full: RequestAttributes = { kind: 'resource', ...a };
      const d = decide(opts, base.user, full);
      const named: RequestAttributes = objectName && !a.name ? { ...full, name: objectName } : full;
      if (!d.allowed) throw forbid(opts, base, full, d.reason, named);
      // Recorded once the apply's transaction is over: committed (allowed) or rolled back (failed).
      state.pending.push(named);
    },
    requireSomeApply(resources) {
      if (decide(opts, base.user, attrs).allowed) return; // AlwaysAllow, masters, or a rule on "apply" itself
      if (maySomeApply(policyOf(opts), base.user, resources)) return;
      throw forbid(opts, base, attrs, `it may not create or patch any of ${resources.join(', ')} in any namespace, so its manifest is not decoded`);
    },
    admit: (kind, obj) => admitRbac(opts, base, kind, obj),
    stillAllowed() {
      try {
        const again = authenticateRequest(req, {
          tokenLookup: opts.tokenLookup,
          now: opts.now,
          serviceAccountUid: (ns, name) => opts.store.get('ServiceAccount', ns, name)?.metadata.uid,
        });
        if (again.username !== requester.username) return false;
        if (impersonated) impersonate(req, again, opts);
      } catch {
        return false;
      }
      return isApply || decide(opts, base.user, attrs).allowed;
    },
  };
}

/** Records a finished request in the audit log (writes, exec; apply's objects are recorded one by one). */
export function auditFinished(opts: AccessOptions, ctx: AccessContext, code: number, clientGone = false): void {
  const gone = clientGone ? 'the client went away before the answer' : undefined;
  const why = [code >= 400 ? ctx.failure : undefined, gone].filter(Boolean).join('; ') || undefined;
  if (ctx.attrs.kind === 'resource' && ctx.attrs.resource === 'apply' && ctx.attrs.name === undefined) {
    for (const a of ctx.state.pending) {
      if (code < 400) audit(opts, ctx, a, code, gone);
      else audit(opts, ctx, a, code, `not stored: the apply was rolled back (${code}${why ? `: ${why}` : ''})`, 'failed');
    }
    return;
  }
  if (code === 403 && ctx.state.denied) return; // recorded when refused
  const attrs = ctx.auditName && ctx.attrs.kind === 'resource' && ctx.attrs.name === undefined ? { ...ctx.attrs, name: ctx.auditName } : ctx.attrs;
  audit(opts, ctx, attrs, code, why);
}

/** A JSON answer of an access route. */
export interface AccessReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The attributes a review asks about (resourceAttributes or nonResourceAttributes of its spec). */
function reviewAttributes(spec: Record<string, unknown>): RequestAttributes {
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (isObject(ra)) {
    const str = (k: string) => {
      const v = ra[k];
      if (v !== undefined && v !== null && typeof v !== 'string') throw invalidArgument(`spec.resourceAttributes.${k} must be a string`);
      return (v as string | undefined) ?? '';
    };
    const verb = str('verb');
    const resource = str('resource');
    if (!verb) throw invalidArgument('spec.resourceAttributes.verb: required value');
    if (!resource) throw invalidArgument('spec.resourceAttributes.resource: required value');
    const group = ra.group === undefined || ra.group === null ? groupOf(resource) : str('group');
    const subresource = str('subresource');
    const name = str('name');
    return { kind: 'resource', verb, resource, apiGroup: group, namespace: str('namespace'), ...(subresource ? { subresource } : {}), ...(name ? { name } : {}) };
  }
  if (isObject(nra)) {
    if (typeof nra.verb !== 'string' || !nra.verb) throw invalidArgument('spec.nonResourceAttributes.verb: required value');
    if (typeof nra.path !== 'string' || !nra.path) throw invalidArgument('spec.nonResourceAttributes.path: required value');
    return { kind: 'nonResource', verb: nra.verb, path: nra.path };
  }
  throw invalidArgument('spec: one of resourceAttributes or nonResourceAttributes is required');
}

function reviewBody(body: unknown, kind: string): Record<string, unknown> {
  if (!isObject(body) || !isObject(body.spec)) throw invalidArgument(`the body must be a ${kind} with a spec`);
  return body.spec;
}

const MAX_TOKEN_SECONDS = 365 * 24 * 3600;

/**
 * Answers the access routes; undefined for any other path. `readJson` reads the body. The caller
 * has already authorized the request by its URL (e.g. create subjectaccessreviews).
 */
export async function accessRoute(req: IncomingMessage, url: URL, ctx: AccessContext, opts: AccessOptions, readJson: () => Promise<unknown>): Promise<AccessReply | undefined> {
  const p = url.pathname.replace(/\/+$/, '');
  if (req.method !== 'POST') return undefined;
  if (p === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    const body = await readJson();
    const spec = reviewBody(body, 'SelfSubjectAccessReview');
    const a = reviewAttributes(spec);
    const d = decide(opts, ctx.user, a);
    return { status: 201, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {}, spec, status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) } } };
  }
  if (p === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
    const body = await readJson();
    const spec = reviewBody(body, 'SubjectAccessReview');
    if (typeof spec.user !== 'string' && !Array.isArray(spec.groups)) throw invalidArgument('spec.user or spec.groups: required value');
    if (spec.groups !== undefined && (!Array.isArray(spec.groups) || spec.groups.some((g) => typeof g !== 'string'))) throw invalidArgument('spec.groups must be a list of strings');
    const subject: UserInfo = { username: typeof spec.user === 'string' ? spec.user : '', groups: (spec.groups as string[] | undefined) ?? [] };
    const d = decide(opts, subject, reviewAttributes(spec));
    return { status: 201, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {}, spec, status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) } } };
  }
  if (p === '/apis/authentication.k8s.io/v1/tokenreviews') {
    const body = await readJson();
    const spec = reviewBody(body, 'TokenReview');
    if (typeof spec.token !== 'string' || spec.token === '') throw invalidArgument('spec.token: required value');
    let status: Record<string, unknown>;
    try {
      const u = authenticateBearer(spec.token, { tokenLookup: opts.tokenLookup, now: opts.now, serviceAccountUid: (ns, n) => opts.store.get('ServiceAccount', ns, n)?.metadata.uid });
      status = { authenticated: true, user: { username: u.username, groups: u.groups } };
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      status = { authenticated: false, error: err.message };
    }
    return { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: {}, status } };
  }
  if (p === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
    // kubectl auth whoami: who the caller is (after impersonation), groups included.
    const body = await readJson();
    if (body !== undefined && (!isObject(body) || (body.kind !== undefined && body.kind !== 'SelfSubjectReview'))) throw invalidArgument('the body must be a SelfSubjectReview (or empty)');
    const { username, groups } = ctx.user;
    return { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: { userInfo: { username, groups } } } };
  }
  if (p === '/apis/corelet.io/v1/users') return createUser(await readJson(), opts, ctx);
  const sa = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(p);
  if (sa) return serviceAccountToken(decodeURIComponent(sa[1]), decodeURIComponent(sa[2]), await readJson(), opts);
  return undefined;
}

function expirationSeconds(v: unknown, where: string, fallback: number | undefined): number | undefined {
  if (v === undefined || v === null) return fallback;
  if (!Number.isInteger(v) || (v as number) < 600 || (v as number) > MAX_TOKEN_SECONDS) throw invalidArgument(`${where} must be a whole number of seconds between 600 and ${MAX_TOKEN_SECONDS}, got ${JSON.stringify(v)}`);
  return v as number;
}

function needTokenStore(opts: AccessOptions): (record: TokenRecord) => void {
  if (!opts.addToken) throw Object.assign(invalidArgument('this scheduler cannot store new tokens'), {});
  return opts.addToken;
}

/** POST users: {metadata: {name}, spec: {groups?, publicKeyPem?, expirationSeconds?}} → a token or a certificate. */
function createUser(body: unknown, opts: AccessOptions, ctx: AccessContext): AccessReply {
  if (!isObject(body) || !isObject(body.metadata) || typeof body.metadata.name !== 'string' || body.metadata.name === '') {
    throw invalidArgument('metadata.name: required value (the user name)');
  }
  const name = body.metadata.name;
  if (name.startsWith('system:')) throw invalidArgument(`metadata.name: "${name}" is reserved (names starting with "system:" belong to nodes, service accounts and the control plane)`);
  if (/[\s,]/.test(name)) throw invalidArgument(`metadata.name: "${name}" may not contain spaces or commas`);
  const spec = isObject(body.spec) ? body.spec : {};
  const groups = spec.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g === '' || /[\s,]/.test(g))) throw invalidArgument('spec.groups must be a list of group names (no spaces or commas)');
  if (groups.includes(AUTHENTICATED_GROUP)) throw invalidArgument(`spec.groups: ${AUTHENTICATED_GROUP} is added to every user; do not list it`);
  ctx.auditName = name;
  // Granting a group is acting as it: the requester must be in it or hold "impersonate" on it
  // (otherwise whoever may create users could make a system:masters one).
  for (const g of groups as string[]) {
    if (ctx.user.groups.includes(g)) continue;
    const a: RequestAttributes = { kind: 'resource', verb: 'impersonate', apiGroup: '', resource: 'groups', name: g };
    if (decide(opts, ctx.user, a).allowed) continue;
    const message = `users.corelet.io ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(ctx.user.username)} may not grant the group ${JSON.stringify(g)}: it needs the "impersonate" verb on groups ${JSON.stringify(g)} (or to be in that group)`;
    audit(opts, ctx, a, 403, message);
    throw new AccessError(403, 'Forbidden', message);
  }
  const ttl = expirationSeconds(spec.expirationSeconds, 'spec.expirationSeconds', undefined);
  if (spec.publicKeyPem !== undefined) {
    if (typeof spec.publicKeyPem !== 'string') throw invalidArgument('spec.publicKeyPem must be a PEM public key');
    if (!opts.pki) throw invalidArgument('this scheduler cannot sign certificates');
    const { certPem, serial } = issueCertificate(opts.pki.ca, {
      publicKeyPem: spec.publicKeyPem,
      commonName: name,
      organizations: groups as string[],
      usages: ['clientAuth'],
      validitySeconds: ttl ?? 365 * 24 * 3600,
      now: opts.now(),
    });
    return { status: 201, body: { apiVersion: 'corelet.io/v1', kind: 'User', metadata: { name }, spec: { groups }, status: { certificate: certPem, serial, caCert: opts.pki.ca.certPem } } };
  }
  const { token, record } = newTokenRecord('api', { user: name, groups: groups as string[], ttlSeconds: ttl, description: `user ${name}`, now: opts.now() });
  needTokenStore(opts)(record);
  return { status: 201, body: { apiVersion: 'corelet.io/v1', kind: 'User', metadata: { name }, spec: { groups }, status: { token, tokenId: record.id, ...(record.expires ? { expirationTimestamp: record.expires } : {}) } } };
}

/** A TokenRequest for a ServiceAccount: default one hour, as kubectl create token. */
function serviceAccountToken(namespace: string, name: string, body: unknown, opts: AccessOptions): AccessReply {
  const sa = opts.store.get<StoredObject>('ServiceAccount', namespace, name);
  if (!sa) throw notFound(`serviceaccounts "${name}" not found in namespace ${namespace}`);
  const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
  const ttl = expirationSeconds(spec.expirationSeconds, 'spec.expirationSeconds', 3600)!;
  const { token, record } = newTokenRecord('api', {
    user: serviceAccountUser(namespace, name),
    serviceAccount: { namespace, name, uid: sa.metadata.uid },
    ttlSeconds: ttl,
    description: `service account ${namespace}/${name}`,
    now: opts.now(),
  });
  needTokenStore(opts)(record);
  return {
    status: 201,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name, namespace }, spec: { expirationSeconds: ttl }, status: { token, expirationTimestamp: record.expires } },
  };
}
