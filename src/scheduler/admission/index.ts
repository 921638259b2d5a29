/** Admission in the scheduler: namespaces (lifecycle) and Pod Security. */
export * from './pod-security.js';
export * from './namespaces.js';
export * from './admit-write.js';
export * from './internal-volumes.js';
export * from './service-allocation.js';
