/** The object model shared by the CLI, scheduler and agent. */
export * from './pod-types.js';
export * from './node-types.js';
export * from './quantity.js';
export * from './names.js';
export * from './grace-period.js';
export { FieldReader, fieldPath, indexPath, describeValue, isMapping } from './field-reader.js';
export { duplicateJsonKeys } from './json-duplicates.js';
export {
  ManifestError,
  SUPPORTED_FIELD_PATHS,
  decodePods,
  defaultPullPolicy,
  staticPodUid,
  type DecodedPods,
} from './pod-decode.js';
export * from './workload-types.js';
export * from './workload-decode.js';
export * from './pod-resources.js';
export * from './messages.js';
export * from './pod-security.js';
export * from './namespace.js';
export * from './rbac-types.js';
export * from './limits.js';
export { decodeRbacObject, decodeRules, rbacObjectProblems } from './rbac-decode.js';
export * from './kinds.js';
export * from './label-selector.js';
export * from './print-cells.js';
export * from './service-types.js';
export { decodeService, decodeServiceSpec, decodeEndpointSlice, type DeclaredService, type DeclaredEndpointSlice } from './service-decode.js';
export {
  SCHEMA_TYPES,
  schemaTypeOfKind,
  reachableTypes,
  openApiSchemaOf,
  schemaProblems,
  patchMergeNodeOf,
  unknownFieldPaths,
  type PatchMergeNode,
  type TypeDef as SchemaTypeDef,
  type Field as SchemaField,
  type ValueType as SchemaValueType,
} from './schema/index.js';
export { strategicMergePatch, patchSchemaOf, PATCH_SCHEMAS, type PatchNode } from './strategic-merge.js';
export { jsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
export { statusProblems } from './status-check.js';
export { applyConfiguration, capUpdateManagers, MAX_UPDATE_MANAGERS, recordUpdate, fieldPaths, sameValueAt, toFieldsV1, fromFieldsV1, describeField, ApplyConflictError, type FieldsV1, type ManagedFieldsEntry, type FieldConflict } from './managed-fields.js';
