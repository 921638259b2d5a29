/** Authorization: RBAC over the store's roles and bindings, request attributes, built-ins, audit log. */
export * from './attributes.js';
export * from './authorizer.js';
export * from './builtin.js';
export * from './policy-cache.js';
export * from './escalation.js';
export * from './audit.js';
export * from './audit-limit.js';
