/** The object model shared by the CLI, scheduler and agent. */
export * from './pod-types.js';
export * from './node-types.js';
export * from './quantity.js';
export * from './names.js';
export { FieldReader, fieldPath, indexPath, describeValue, isMapping } from './field-reader.js';
export * from './pod-decode.js';
export * from './pod-resources.js';
