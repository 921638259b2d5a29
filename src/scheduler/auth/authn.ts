/**
 * Who sent an API request, as Kubernetes' authenticators decide it: a client certificate of the
 * cluster CA (CN user, O groups), else a bearer token: a user's API token, a service account's token
 * (user system:serviceaccount:NS:NAME, groups system:serviceaccounts and system:serviceaccounts:NS;
 * valid while that ServiceAccount exists) or a bootstrap token (user system:bootstrap:<id>, group
 * system:bootstrappers). Every authenticated user is also in system:authenticated.
 *
 * Existing configs: an API token of user "admin" stored without groups was made by `scheduler init`
 * before users had groups; it is treated as system:masters (init now stores the group explicitly).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  BOOTSTRAPPERS_GROUP,
  BOOTSTRAP_USER_PREFIX,
  MASTERS_GROUP,
  certificateUser,
  nodeNameOf,
  withAuthenticated,
  type UserInfo,
} from '../../join/index.js';
import { AuthenticationError, authenticateToken, bearerToken, type TokenRecord } from './tokens.js';
import { parseToken } from '../../join/index.js';
import { messageOf } from '../../lib/index.js';

/** The user name of the admin `scheduler init` made before groups existed. */
export const LEGACY_ADMIN_USER = 'admin';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

/** What authentication reads. */
export interface AuthnDeps {
  tokenLookup: (id: string) => TokenRecord | undefined;
  now: () => Date;
  /** The uid of a ServiceAccount now, or undefined when it does not exist (service-account tokens). */
  serviceAccountUid?: (namespace: string, name: string) => string | undefined;
  /** Whether a node's certificate serial is still valid (NodeCertificates.valid): a deleted node's certificate opens nothing. */
  nodeCertificateValid?: (node: string, serial: string) => boolean;
}

/** The user a token record stands for (after the token was verified). */
export function tokenUser(record: TokenRecord): UserInfo {
  if (record.usage === 'bootstrap') return { username: `${BOOTSTRAP_USER_PREFIX}${record.id}`, groups: [BOOTSTRAPPERS_GROUP] };
  if (record.serviceAccount) {
    const { namespace, name } = record.serviceAccount;
    return { username: `system:serviceaccount:${namespace}:${name}`, groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`] };
  }
  const username = record.user ?? '';
  if (record.groups === undefined && username === LEGACY_ADMIN_USER) return { username, groups: [MASTERS_GROUP] };
  return { username, groups: [...(record.groups ?? [])] };
}

/** Authenticates a bearer token of any kind; throws {@link AuthenticationError}. */
export function authenticateBearer(token: string, deps: AuthnDeps): UserInfo {
  let id: string;
  try {
    id = parseToken(token).id;
  } catch (err) {
    throw new AuthenticationError(messageOf(err));
  }
  const usage = deps.tokenLookup(id)?.usage ?? 'api';
  const record = authenticateToken(token, deps.tokenLookup, usage, deps.now());
  if (record.serviceAccount) {
    const { namespace, name, uid } = record.serviceAccount;
    const current = deps.serviceAccountUid?.(namespace, name);
    if (current !== uid) throw new AuthenticationError(`token ${record.id}: service account ${namespace}/${name} no longer exists`);
  }
  const user = tokenUser(record);
  if (!user.username) throw new AuthenticationError(`token ${record.id} names no user`);
  return withAuthenticated(user);
}

/**
 * The user of a request: its verified client certificate, else its bearer token. Throws
 * {@link AuthenticationError} when there is neither, or the token is unknown, wrong or expired.
 */
export function authenticateRequest(req: IncomingMessage, deps: AuthnDeps): UserInfo {
  const socket = req.socket as TLSSocket;
  const fromCert = typeof socket.getPeerCertificate === 'function' ? certificateUser(socket, deps.now()) : undefined;
  if (fromCert) {
    const node = nodeNameOf(fromCert);
    if (node !== undefined && deps.nodeCertificateValid && !deps.nodeCertificateValid(node, socket.getPeerCertificate().serialNumber ?? '')) {
      throw new AuthenticationError(`the certificate of node ${node} is no longer valid (the node was deleted or its certificate replaced)`);
    }
    return withAuthenticated(fromCert);
  }
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) {
    throw new AuthenticationError('authentication required: send "Authorization: Bearer <api token>" or a client certificate of the cluster CA (`corelet create user` makes either)');
  }
  return authenticateBearer(token, deps);
}
