import type { LifecycleDeps } from './lifecycle.js';
import type { SandboxManager } from './sandbox/sandbox-manager.js';
import type { ContainerManager } from './container/container-manager.js';
import type { LifecycleVerbs } from './lifecycle-verbs.js';
import type { ImageStore } from './image/index.js';
import type { Cgroups } from '../host/index.js';
import type { NetworkManager } from './network/index.js';
import type { StreamingServer } from '../streaming/index.js';

/** What the RPC handlers work with: the managers and the adapters behind them. */
export interface RuntimeContext {
  readonly deps: LifecycleDeps;
  readonly sandboxes: SandboxManager;
  readonly containers: ContainerManager;
  /** The verbs that change sandboxes and containers, wired to each other (lifecycle-verbs.ts). */
  readonly verbs: LifecycleVerbs;
  readonly images: ImageStore;
  readonly cgroups: Cgroups;
  readonly network: NetworkManager;
  readonly streaming: StreamingServer;
  readonly version: string;
}
