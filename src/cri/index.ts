export * from './proto.js';
export * from './server.js';
export * from './client.js';
export type * from './types.js';
export * from './grpc-errors.js';
