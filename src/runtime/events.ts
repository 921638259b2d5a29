import { EventEmitter } from 'node:events';
import type { ContainerRecord, SandboxRecord } from './store/index.js';

export type LifecycleEventType = 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';

/**
 * A change of a container or sandbox, with snapshots of the records as they were at that moment
 * (a deleted object is gone from the store by the time a client reads the event).
 */
export interface LifecycleEvent {
  type: LifecycleEventType;
  /** The container's id, or the sandbox's for sandbox events (as containerd reports them). */
  id: string;
  /** Nanoseconds since the epoch. */
  at: string;
  sandbox: SandboxRecord | undefined;
  containers: ContainerRecord[];
}

/** Fan-out of lifecycle events to GetContainerEvents subscribers. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // every `crictl events` and kubelet subscribes; do not warn at the default of 10
    this.emitter.setMaxListeners(0);
  }

  publish(event: LifecycleEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
