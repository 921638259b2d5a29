export * from './config.js';
export * from './daemon.js';
export type { RuntimeContext } from './runtime-context.js';
