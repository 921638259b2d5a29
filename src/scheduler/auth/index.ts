/** Scheduler authentication: the CA and server certificate, tokens, and the agent's CA pinning. */
export * from './pki.js';
export * from './native-sign.js';
export * from './rsa-keys.js';
export * from './serving-cert.js';
export * from './tokens.js';
export * from './pin.js';
export * from './identity.js';
export * from './authn.js';
export * from './meta.js';
export * from './node-certs.js';
export * from './token-store.js';
export * from './scheduler-client-cert.js';
export * from './scheduler-identity.js';
