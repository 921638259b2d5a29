/**
 * The recent object changes of a store, so a watch can resume from a resourceVersion (client-go's
 * reflectors and `kubectl get -w` watch from the version of the list they just read) and a chunked
 * list's continue token can tell when it has grown too old: the role etcd's history and compaction
 * play for kube-apiserver. The last changes are kept as the stored JSON text, at most
 * {@link DEFAULT_HISTORY_CHANGES} of them and at most {@link DEFAULT_HISTORY_BYTES} of text (objects
 * may be 1.5 MiB each: the count alone would let a writer pin gigabytes); the oldest go first. A
 * change is parsed only when a resumed watch reads it, and only after its kind and namespace (kept
 * beside the text) matched the watch's. A version older than the oldest kept is "too old": 410 Gone
 * (reason Expired), and the client lists again; so is a resume whose selected changes are more text
 * than maxBytes (the caller's bound of one replay).
 */
import type { Store, WatchChange } from '../store/index.js';

/** How many changes are kept for resuming watches. */
export const DEFAULT_HISTORY_CHANGES = 10_000;
/** How much JSON text (bytes) the kept changes may hold together. */
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;

type ObjectChange = Extract<WatchChange, { kind: Exclude<WatchChange['kind'], 'Event'> }>;

interface Kept {
  rv: number;
  type: ObjectChange['type'];
  kind: ObjectChange['kind'];
  /** '' for cluster-scoped kinds; undefined when the store did not say (then the object is parsed). */
  namespace?: string;
  json: string;
  bytes: number;
}

/** What a resume asks for: one kind, one namespace (undefined: all), at most maxBytes of changes. */
export interface HistoryFilter {
  kind?: ObjectChange['kind'];
  namespace?: string;
  maxBytes?: number;
}

/** The changes kept for one store. */
export class WatchHistory {
  private readonly changes: Kept[] = [];
  /** Versions at or after this one can be resumed from (every later change is kept). */
  private oldest: number;
  private head = 0;
  private bytes = 0;

  constructor(
    store: Store,
    private readonly capacity = DEFAULT_HISTORY_CHANGES,
    private readonly maxBytes = DEFAULT_HISTORY_BYTES,
  ) {
    this.oldest = Number(store.resourceVersion());
    store.watch((change) => {
      if (change.kind === 'Event' || change.resourceVersion === undefined || change.json === undefined) return;
      // The text only: the change's parsed object (if a listener read it) is not kept alive.
      const bytes = Buffer.byteLength(change.json);
      this.changes.push({ rv: Number(change.resourceVersion), type: change.type, kind: change.kind, namespace: change.namespace, json: change.json, bytes });
      this.bytes += bytes;
      while (this.changes.length - this.head > this.capacity || (this.bytes > this.maxBytes && this.changes.length - this.head > 0)) {
        const dropped = this.changes[this.head];
        this.oldest = dropped.rv;
        this.bytes -= dropped.bytes;
        this.changes[this.head] = undefined as unknown as Kept; // its text is freed now, not at the next compaction
        this.head++;
      }
      // Compact now and then rather than shifting on every change.
      if (this.head >= 1024 && this.head * 2 >= this.changes.length) {
        this.changes.splice(0, this.head);
        this.head = 0;
      }
    });
  }

  /** The oldest resourceVersion a watch can resume from (or a continue token still holds at). */
  oldestResumable(): number {
    return this.oldest;
  }

  /** The JSON text the kept changes hold (bytes). */
  keptBytes(): number {
    return this.bytes;
  }

  /**
   * The changes after rv of the filter's kind and namespace, oldest first; 'too-old' when rv was
   * compacted away, 'too-large' when they are more than filter.maxBytes of text (nothing is parsed then).
   */
  since(rv: number, filter: HistoryFilter = {}): ObjectChange[] | 'too-old' | 'too-large' {
    if (rv < this.oldest) return 'too-old';
    const picked: Kept[] = [];
    let bytes = 0;
    for (let i = this.changes.length - 1; i >= this.head && this.changes[i].rv > rv; i--) {
      const c = this.changes[i];
      if (filter.kind !== undefined && c.kind !== filter.kind) continue;
      if (filter.namespace !== undefined && c.namespace !== undefined && c.namespace !== filter.namespace) continue;
      bytes += c.bytes;
      if (filter.maxBytes !== undefined && bytes > filter.maxBytes) return 'too-large';
      picked.push(c);
    }
    return picked.reverse().map(({ type, kind, json, rv: version }) => ({ type, kind, resourceVersion: String(version), object: JSON.parse(json) as ObjectChange['object'] }));
  }
}

const histories = new WeakMap<Store, WatchHistory>();

/** The store's history, started (listening) on first use (or by {@link startWatchHistory}). */
export function historyOf(store: Store): WatchHistory {
  return histories.get(store) ?? startWatchHistory(store);
}

/** Starts keeping the store's changes now, at most capacity of them and maxBytes of text; the history an API server over the store uses. */
export function startWatchHistory(store: Store, capacity = DEFAULT_HISTORY_CHANGES, maxBytes = DEFAULT_HISTORY_BYTES): WatchHistory {
  const h = new WatchHistory(store, capacity, maxBytes);
  histories.set(store, h);
  return h;
}
