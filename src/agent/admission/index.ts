/**
 * Pod admission on the node: capacity, allocatable (capacity minus reservations and the hard memory
 * eviction threshold) and the kubelet's resource fit check.
 */
export { admit, type AdmitResult, type AdmitFailureReason } from './admit.js';
export { parseResourceList, type ResourceList } from './resource-list.js';
export {
  readNodeCapacity,
  computeAllocatable,
  DEFAULT_MAX_PODS,
  type NodeResources,
  type SystemInfoSource,
  type AllocatableInputs,
} from './node-capacity.js';
export { admitPodSecurity } from './pod-security.js';
