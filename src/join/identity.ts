/**
 * Who is calling: the user and groups an authenticated request or node session acts as, with
 * Kubernetes' names for the built-in ones. Client certificates carry the user in their subject's CN
 * and the groups in its O attributes, as Kubernetes' x509 authenticator reads them.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/** An authenticated caller. */
export interface UserInfo {
  /** "alice", "system:node:node1", "system:serviceaccount:default:ci". */
  username: string;
  /** "system:masters", "system:nodes", ...; "system:authenticated" is added by {@link withAuthenticated}. */
  groups: string[];
}

/** Node identities: user "system:node:<name>" in group "system:nodes" (Kubernetes' node authorizer names). */
export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
/** Members are allowed everything (bound to cluster-admin), as in Kubernetes. */
export const MASTERS_GROUP = 'system:masters';
/** Holders of a bootstrap token authenticate as "system:bootstrap:<token id>" in this group. */
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
/** Every authenticated caller is in this group. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
/** The scheduler's own client certificate (for the agents' HTTPS port): user and group. */
export const SCHEDULER_USER = 'system:corelet-scheduler';

/** The node name of a node identity, or undefined for anyone else. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.username.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}

/** The user of a node. */
export function nodeUser(nodeName: string): UserInfo {
  return { username: `${NODE_USER_PREFIX}${nodeName}`, groups: [NODES_GROUP] };
}

/** user with "system:authenticated" in its groups (once). */
export function withAuthenticated(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

/** Subject attributes of a certificate's subject string ("CN=a\nO=b\nO=c" as Node prints it). */
function subjectValues(subject: string, key: string): string[] {
  return subject
    .split('\n')
    .map((line) => /^([A-Za-z.0-9]+)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === key)
    .map((m) => m[2]);
}

/**
 * The user a client certificate names: CN the user name, each O a group. Undefined when it has no CN
 * (such a certificate names nobody). The caller must have checked that the certificate is current and
 * issued by the cluster CA.
 */
export function userFromCertificate(cert: X509Certificate): UserInfo | undefined {
  const cn = subjectValues(cert.subject, 'CN');
  if (cn.length !== 1 || cn[0] === '') return undefined;
  return { username: cn[0], groups: subjectValues(cert.subject, 'O') };
}

/**
 * The user of a TLS connection's client certificate, when the client sent one and it chains to the
 * server's client CA (the cluster CA): servers request certificates without requiring them
 * (serverTlsOptions), so an unauthenticated or token-carrying client still connects, and
 * `socket.authorized` tells whether the certificate verified. Undefined otherwise.
 */
export function certificateUser(socket: TLSSocket, now: Date = new Date()): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) return undefined;
  const cert = new X509Certificate(peer.raw);
  // Node checks the validity period during verification; checked again here for a clock passed in.
  if (Date.parse(cert.validFrom) > now.getTime() || Date.parse(cert.validTo) < now.getTime()) return undefined;
  return userFromCertificate(cert);
}
