/** The scheduler's persistent store (SQLite): objects, bindings, events, settings. */
export { Store, type StoreOptions, type ListOptions, type EventListOptions } from './store.js';
export {
  STORE_KINDS,
  API_VERSIONS,
  isNamespaced,
  groupOfKind,
  isStoreKind,
  type StoreKind,
  type StoredObject,
  type Stored,
  type ObjectInput,
  type ObjectMetaInput,
  type WatchChange,
} from './kinds.js';
export { MAX_OBJECT_BYTES } from './validate.js';
