export * from './errors.js';
export * from './logger.js';
export * from './fs-atomic.js';
export * from './ids.js';
export * from './undo.js';
export * from './keyed-mutex.js';
export * from './backoff.js';
export * from './mounts.js';
