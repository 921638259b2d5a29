import type { ObjectEvent, Pod } from '../api/index.js';

/**
 * Events about pods, as the kubelet records them (Pulling, Pulled, Created, Started, Killing,
 * BackOff, Unhealthy, OOMKilled, Evicted...). Repeats of the same event are counted, not stored
 * again; the newest `limit` are kept. Listeners see each one (the scheduler link forwards them).
 */
export class EventRecorder {
  private readonly events: ObjectEvent[] = [];
  private readonly listeners = new Set<(e: ObjectEvent) => void>();

  constructor(
    private readonly host: string,
    private readonly limit = 1000,
  ) {}

  record(pod: Pod, type: ObjectEvent['type'], reason: string, message: string): void {
    const now = new Date().toISOString();
    const m = pod.metadata;
    const same = this.events.find(
      (e) => e.involvedObject.uid === m.uid && e.reason === reason && e.message === message,
    );
    if (same) {
      same.count++;
      same.lastTimestamp = now;
      for (const l of this.listeners) l(same);
      return;
    }
    const e: ObjectEvent = {
      type,
      reason,
      message,
      involvedObject: { kind: 'Pod', namespace: m.namespace, name: m.name, uid: m.uid },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: 'corelet-agent', host: this.host },
    };
    this.events.push(e);
    if (this.events.length > this.limit) this.events.shift();
    for (const l of this.listeners) l(e);
  }

  /** Events of one pod (by uid), or all. */
  list(uid?: string): ObjectEvent[] {
    return uid ? this.events.filter((e) => e.involvedObject.uid === uid) : [...this.events];
  }

  onEvent(listener: (e: ObjectEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
