/**
 * Scheduler authentication: the CA and server certificate, tokens, node certificates. What the agent
 * shares with it (token format, CA pin, identities) is in src/join/, re-exported here for the
 * scheduler's own files.
 */
export * from './pki.js';
export * from './serving-cert.js';
export * from './tokens.js';
export * from './authn.js';
export * from './meta.js';
export * from './node-certs.js';
export * from './token-store.js';
export * from './scheduler-client-cert.js';
export * from '../../join/index.js';
