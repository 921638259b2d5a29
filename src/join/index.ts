/**
 * Joining a cluster, the part both sides share (as k3s's clientaccess): the token format, the CA pin
 * (--ca-cert-hash) and the pinned first contact, the --server URL, the identities certificates name
 * (users, groups, "is this the scheduler"), node keys and natively signed CSRs. The agent and the
 * control plane both import this folder; the agent never imports scheduler/.
 */
export * from './token.js';
export * from './ca-hash.js';
export * from './server-url.js';
export * from './pin.js';
export * from './identity.js';
export * from './scheduler-identity.js';
export * from './rsa-keys.js';
export * from './native-sign.js';
