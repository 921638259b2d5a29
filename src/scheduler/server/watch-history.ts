/**
 * The recent object changes of a store, so a watch can resume from a resourceVersion (client-go's
 * reflectors and `kubectl get -w` watch from the version of the list they just read) and a chunked
 * list's continue token can tell when it has grown too old: the role etcd's history and compaction
 * play for kube-apiserver. The last {@link DEFAULT_HISTORY_CHANGES} changes are kept as the stored
 * JSON text (~2 KiB a pod: ~20 MiB at most), parsed only when a resumed watch reads them; a version
 * older than the oldest kept is "too old": 410 Gone (reason Expired), and the client lists again.
 */
import type { Store, WatchChange } from '../store/index.js';

/** How many changes are kept for resuming watches. */
export const DEFAULT_HISTORY_CHANGES = 10_000;

type ObjectChange = Extract<WatchChange, { kind: Exclude<WatchChange['kind'], 'Event'> }>;

/** The changes kept for one store. */
export class WatchHistory {
  private readonly changes: { rv: number; type: ObjectChange['type']; kind: ObjectChange['kind']; json: string }[] = [];
  /** Versions at or after this one can be resumed from (every later change is kept). */
  private oldest: number;
  private head = 0;

  constructor(
    store: Store,
    private readonly capacity = DEFAULT_HISTORY_CHANGES,
  ) {
    this.oldest = Number(store.resourceVersion());
    store.watch((change) => {
      if (change.kind === 'Event' || change.resourceVersion === undefined || change.json === undefined) return;
      // The text only: the change's parsed object (if a listener read it) is not kept alive.
      this.changes.push({ rv: Number(change.resourceVersion), type: change.type, kind: change.kind, json: change.json });
      if (this.changes.length - this.head > this.capacity) {
        this.oldest = this.changes[this.head].rv;
        this.head++;
        // Compact now and then rather than shifting on every change.
        if (this.head >= this.capacity) {
          this.changes.splice(0, this.head);
          this.head = 0;
        }
      }
    });
  }

  /** The oldest resourceVersion a watch can resume from (or a continue token still holds at). */
  oldestResumable(): number {
    return this.oldest;
  }

  /** The changes after rv (of one kind, when given), oldest first; undefined when rv is too old (compacted away). */
  since(rv: number, kind?: ObjectChange['kind']): ObjectChange[] | undefined {
    if (rv < this.oldest) return undefined;
    const out: ObjectChange[] = [];
    for (let i = this.changes.length - 1; i >= this.head && this.changes[i].rv > rv; i--) {
      const { type, kind: k, json, rv: version } = this.changes[i];
      if (kind !== undefined && k !== kind) continue;
      out.push({ type, kind: k, resourceVersion: String(version), object: JSON.parse(json) as ObjectChange['object'] });
    }
    return out.reverse();
  }
}

const histories = new WeakMap<Store, WatchHistory>();

/** The store's history, started (listening) on first use (or by {@link startWatchHistory}). */
export function historyOf(store: Store): WatchHistory {
  return histories.get(store) ?? startWatchHistory(store);
}

/** Starts keeping the store's changes now, at most capacity of them; the history an API server over the store uses. */
export function startWatchHistory(store: Store, capacity = DEFAULT_HISTORY_CHANGES): WatchHistory {
  const h = new WatchHistory(store, capacity);
  histories.set(store, h);
  return h;
}
