/**
 * The store's RBAC objects as a {@link Policy}, read once and read again only after one of them
 * changed (a store watch marks it stale), so a request costs no store reads for authorization.
 */
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../../api/index.js';
import type { Store } from '../store/index.js';
import type { Policy } from './authorizer.js';

const RBAC_KINDS = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

export class PolicyCache {
  private policy: Policy | undefined;
  private readonly stop: () => void;

  constructor(private readonly store: Store) {
    this.stop = store.watch((change) => {
      if (RBAC_KINDS.has(change.kind)) this.policy = undefined;
    });
  }

  /** The current policy. */
  get(): Policy {
    if (this.policy) return this.policy;
    const s = this.store;
    const roleBindings = new Map<string, RoleBinding[]>();
    for (const b of s.list<RoleBinding>('RoleBinding')) {
      const list = roleBindings.get(b.metadata.namespace) ?? [];
      list.push(b);
      roleBindings.set(b.metadata.namespace, list);
    }
    this.policy = {
      clusterRoles: new Map(s.list<ClusterRole>('ClusterRole').map((r) => [r.metadata.name, r])),
      roles: new Map(s.list<Role>('Role').map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r])),
      clusterRoleBindings: s.list<ClusterRoleBinding>('ClusterRoleBinding'),
      roleBindings,
    };
    return this.policy;
  }

  close(): void {
    this.stop();
  }
}

const caches = new WeakMap<Store, PolicyCache>();

/** The one cache of a store (made on first use, lives as long as the store). */
export function policyCacheOf(store: Store): PolicyCache {
  let c = caches.get(store);
  if (!c) {
    c = new PolicyCache(store);
    caches.set(store, c);
  }
  return c;
}
