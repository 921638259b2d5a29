/**
 * Claim bindings: which node holds the data of each persistent local claim (a StatefulSet ordinal's
 * volume, `<template>-<set>-<ordinal>`). A claim is bound the first time a pod using it is bound,
 * and from then on only that node can run pods using it. Bindings live in the store's settings
 * (one key per claim), written in the same transaction as the pod's binding, so a scheduler killed
 * at any moment never loses or half-writes one. They outlive pods and StatefulSets, as retained
 * PersistentVolumeClaims do in Kubernetes.
 */
import type { Store } from '../store/index.js';

const KEY_PREFIX = 'claim-node/';

function claimKey(namespace: string, claim: string): string {
  return `${KEY_PREFIX}${namespace}/${claim}`;
}

/** The node holding claim namespace/claim's data, or undefined while the claim is unbound. */
export function claimNode(store: Store, namespace: string, claim: string): string | undefined {
  return store.getMeta(claimKey(namespace, claim));
}

/**
 * Binds claim namespace/claim to nodeName. Call it inside the transaction that binds the pod using
 * it. A claim already bound stays where it is (its data is there): returns the node it is bound to.
 */
export function bindClaim(store: Store, namespace: string, claim: string, nodeName: string): string {
  return store.transaction(() => {
    const current = claimNode(store, namespace, claim);
    if (current !== undefined) return current;
    store.setMeta(claimKey(namespace, claim), nodeName);
    return nodeName;
  });
}

/**
 * Forgets where claim namespace/claim is bound, for when its node is gone for good: the next pod
 * using it may go to any node and starts there with an empty directory (the old data stays on the
 * old node's disk). Returns the node it was bound to, if any.
 */
export function releaseClaim(store: Store, namespace: string, claim: string): string | undefined {
  return store.transaction(() => {
    const node = claimNode(store, namespace, claim);
    if (node !== undefined) store.setMeta(claimKey(namespace, claim), undefined);
    return node;
  });
}
