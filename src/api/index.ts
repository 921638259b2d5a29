export * from './pod-types.js';
