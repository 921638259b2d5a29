import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { type Logger, nowNanos } from '../lib/index.js';
import type { RuntimeConfig } from './config.js';
import type { StateStore } from './store/index.js';
import type { CgroupPort, MonitorPort, NetworkPort, OciRuntimePort } from './ports.js';
import type { MountPort, SliceUnits } from '../host/index.js';
import type { NamespacePort } from './sandbox/namespace-pins.js';
import type { ImageConfig, ImageRecord } from './image/index.js';
import type { HostFacts } from './host-facts.js';
import type { EventBus, LifecycleEventType } from './events.js';
import { isProcessAlive, readPidFile } from './oci/process-alive.js';

/** What the lifecycle needs of the image store. */
export interface ImagePort {
  get(refOrId: string): ImageRecord | undefined;
  /**
   * get(), and RemoveImage refuses the image until release(): CreateContainer holds its images from
   * finding them until its record (which keeps them in use from then on) is stored or rolled back.
   */
  hold(refOrId: string): HeldImage | undefined;
  rootfsPath(id: string): string;
}

/** An image found and kept from removal until release() (idempotent). */
export interface HeldImage {
  readonly image: ImageRecord;
  release(): void;
}

/** Everything the sandbox and container lifecycle works with, injected (fakes in unit tests). */
export interface LifecycleDeps {
  readonly config: RuntimeConfig;
  readonly store: StateStore;
  readonly oci: OciRuntimePort;
  readonly monitor: MonitorPort;
  readonly network: NetworkPort;
  readonly cgroups: CgroupPort;
  /** systemd, under the systemd cgroup driver: stops the slices corelet made for pods. */
  readonly units?: Pick<SliceUnits, 'stopUnit'>;
  readonly mounts: MountPort;
  /** Pins of pods' IPC/UTS namespaces and process identity (sandbox/namespace-pins.ts). */
  readonly namespaces: NamespacePort;
  readonly images: ImagePort;
  readonly logger: Logger;
  /** What this host allows (capabilities, oom_score_adj floor, cgroup features). */
  readonly host: HostFacts;
  readonly events: EventBus;
  /** The host's resolv.conf, for pods without DNSConfig. */
  readonly hostResolvConf: string;
}

/** Where conmon leaves exit files (one per container id), shared by sandboxes and containers. */
export function exitDir(config: RuntimeConfig): string {
  return join(config.state, 'exits');
}

/** Where the pinned IPC/UTS namespaces of each sandbox live: pinsDir/<sandbox id>/{ipc,uts}. */
export function pinsDir(config: RuntimeConfig): string {
  return join(config.state, 'ns');
}

/** Where conmon puts attach sockets and control fifos. */
export function socketDir(config: RuntimeConfig): string {
  return join(config.state, 'sockets');
}

export type { ImageConfig };

/** Publishes an event about a sandbox (id = sandbox id) or a container of it, with snapshots. */
export function publishEvent(deps: Pick<LifecycleDeps, 'store' | 'events'>, type: LifecycleEventType, id: string, sandboxId: string): void {
  const { store } = deps;
  deps.events.publish({
    type,
    id,
    at: nowNanos(),
    sandbox: store.findSandbox(sandboxId),
    containers: store.listContainers().filter((c) => c.sandboxId === sandboxId && (id === sandboxId || c.id === id)),
  });
}

/** Removes what conmon left under the volatile state dir for one container or pause: exit file, socket link. */
export async function forgetMonitorFiles(config: RuntimeConfig, id: string): Promise<void> {
  await Promise.all([rm(join(exitDir(config), id), { force: true }), rm(join(socketDir(config), id), { force: true })]);
}

/**
 * A create's rollback step: once the pause or container it started was deleted, its conmon writes the
 * exit file and goes; this waits for that conmon (its pid file in the bundle; at most 5 s) and then
 * forgets its files, which no RemoveContainer/RemovePodSandbox will ever do for a record rolled back.
 */
export async function forgetMonitorFilesAfter(config: RuntimeConfig, id: string, conmonPidFile: string): Promise<void> {
  const pid = await readPidFile(conmonPidFile);
  for (let i = 0; pid !== undefined && i < 50 && (await isProcessAlive(pid)); i++) await new Promise((r) => setTimeout(r, 100));
  await forgetMonitorFiles(config, id);
}
