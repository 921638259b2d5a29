/**
 * The agent's copy of the cluster's Services and EndpointSlices, fed by the scheduler's `services`
 * messages (api/messages.ts): a `reset` snapshot replaces everything, a batch split over several
 * messages (`more: true`) is applied once its last message arrives, and any other message is a
 * delta (its deletions first, then the objects created or changed). Each applied batch bumps the
 * generation and reports what changed, so the DNS view is updated object by object and the proxy
 * knows which generation its rules reflect.
 */
import type { EndpointSlice, Service, ServicesMessage } from '../../api/index.js';

/** One object that changed in an applied batch: its new version, or undefined when it is gone. */
export type ServiceCacheChange =
  | { kind: 'Service'; namespace: string; name: string; object: Service | undefined }
  | { kind: 'EndpointSlice'; namespace: string; name: string; object: EndpointSlice | undefined };

export interface AppliedBatch {
  /** The cache's generation after the batch (one more per applied batch). */
  generation: number;
  reset: boolean;
  changes: ServiceCacheChange[];
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/** Largest number of objects kept waiting for a batch's last message (a broken sender must not grow it without end). */
const MAX_PENDING_OBJECTS = 1_000_000;

export class ServiceCache {
  /** maxPendingObjects: the most objects a batch split with `more` may gather (tests lower it). */
  constructor(private readonly maxPendingObjects = MAX_PENDING_OBJECTS) {}

  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  /** Messages of a batch whose last message has not come yet. */
  private pending: ServicesMessage[] = [];
  private pendingObjects = 0;
  /** A batch overflowed: messages are ignored until the next reset (the agent asks for one). */
  private awaitingReset = false;
  private gen = 0;

  get generation(): number {
    return this.gen;
  }

  /** Every Service, in no particular order. */
  allServices(): IterableIterator<Service> {
    return this.services.values();
  }

  allSlices(): IterableIterator<EndpointSlice> {
    return this.slices.values();
  }

  /**
   * Takes one message; returns the applied batch when it completes one (undefined while a batch
   * waits for its last message). A reset arriving in the middle of a batch drops that batch: the
   * snapshot supersedes it.
   */
  receive(message: ServicesMessage): AppliedBatch | undefined {
    // After an overflow the rest of that batch is no delta: nothing counts until the next snapshot.
    if (this.awaitingReset) {
      if (!message.reset) return undefined;
      this.awaitingReset = false;
    }
    if (message.reset && this.pending.length > 0 && !this.pending[0]!.reset) this.dropPending();
    this.pending.push(message);
    this.pendingObjects += message.services.length + message.endpointSlices.length + message.deleted.length;
    if (this.pendingObjects > this.maxPendingObjects) {
      this.dropPending();
      this.awaitingReset = true;
      throw new Error(`services: a batch of more than ${this.maxPendingObjects} objects never ended (more: true without a last message); dropped, waiting for the next snapshot`);
    }
    if (message.more) return undefined;
    const batch = this.pending;
    this.dropPending();
    return this.apply(batch);
  }

  /** Forgets a batch that waits for its last message (the link dropped; a new snapshot follows). */
  dropPending(): void {
    this.pending = [];
    this.pendingObjects = 0;
  }

  private apply(batch: ServicesMessage[]): AppliedBatch {
    const reset = batch[0]!.reset === true;
    const services = batch.flatMap((m) => m.services);
    const slices = batch.flatMap((m) => m.endpointSlices);
    const deleted = batch.flatMap((m) => m.deleted);
    const changes: ServiceCacheChange[] = [];
    if (reset) {
      // What the snapshot no longer has is gone; what it has is set below.
      const keepServices = new Set(services.map((s) => key(s.metadata.namespace, s.metadata.name)));
      const keepSlices = new Set(slices.map((s) => key(s.metadata.namespace, s.metadata.name)));
      for (const [k, s] of this.services) {
        if (keepServices.has(k)) continue;
        this.services.delete(k);
        changes.push({ kind: 'Service', namespace: s.metadata.namespace, name: s.metadata.name, object: undefined });
      }
      for (const [k, s] of this.slices) {
        if (keepSlices.has(k)) continue;
        this.slices.delete(k);
        changes.push({ kind: 'EndpointSlice', namespace: s.metadata.namespace, name: s.metadata.name, object: undefined });
      }
    }
    for (const d of deleted) {
      const k = key(d.namespace, d.name);
      if (d.kind === 'Service') {
        if (this.services.delete(k)) changes.push({ kind: 'Service', namespace: d.namespace, name: d.name, object: undefined });
      } else {
        if (this.slices.delete(k)) changes.push({ kind: 'EndpointSlice', namespace: d.namespace, name: d.name, object: undefined });
      }
    }
    for (const s of services) {
      const k = key(s.metadata.namespace, s.metadata.name);
      this.services.set(k, s);
      changes.push({ kind: 'Service', namespace: s.metadata.namespace, name: s.metadata.name, object: s });
    }
    for (const s of slices) {
      const k = key(s.metadata.namespace, s.metadata.name);
      this.slices.set(k, s);
      changes.push({ kind: 'EndpointSlice', namespace: s.metadata.namespace, name: s.metadata.name, object: s });
    }
    this.gen++;
    return { generation: this.gen, reset, changes };
  }

  /**
   * Whether pod `uid` is an endpoint that still takes new connections: some slice lists it ready
   * and not terminating (the proxy's first choice of endpoints).
   */
  isActiveEndpoint(uid: string): boolean {
    for (const s of this.slices.values()) {
      for (const e of s.endpoints) {
        if (e.targetRef.uid === uid && e.conditions.ready && !e.conditions.terminating) return true;
      }
    }
    return false;
  }
}
