/**
 * The small interfaces through which the sandbox and container lifecycle reaches the host. The real
 * adapters live in network/, oci/, image/ and src/host/ (cgroups); unit tests pass fakes.
 */
import type { OciSpec } from './spec/index.js';
import type { NamespacePinPaths, PodNetworkArgs } from './network/index.js';
import type { ConmonCreateOptions } from './oci/index.js';
import type { CgroupStats } from '../host/index.js';

export type { PodNetworkArgs };

export interface NetworkPort {
  /** Creates NAME with lo up; given pins, also new IPC/UTS namespaces bound on those files. */
  createNetns(name: string, pins?: NamespacePinPaths): Promise<string>;
  removeNetns(path: string): Promise<void>;
  setUp(args: PodNetworkArgs): Promise<{ ip: string; additionalIps: string[] }>;
  tearDown(args: PodNetworkArgs): Promise<void>;
  status(): { ready: boolean; reason: string; message: string } | Promise<{ ready: boolean; reason: string; message: string }>;
}

export type OciStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export interface OciRuntimePort {
  state(id: string): Promise<{ status: OciStatus; pid: number } | undefined>;
  start(id: string): Promise<void>;
  kill(id: string, signal: number | string, all?: boolean): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  update(id: string, resources: object): Promise<void>;
  exec(id: string, opts: { process: OciSpec['process']; args: string[]; timeoutMs?: number }): Promise<ExecResult>;
}

export interface MonitorPort {
  create(opts: ConmonCreateOptions): Promise<{ pid: number; conmonPid: number }>;
}

export interface CgroupPort {
  stats(cgroupsPath: string): Promise<CgroupStats | undefined>;
  exists(cgroupsPath: string): Promise<boolean>;
  removeIfEmpty(cgroupsPath: string): Promise<{ busy: string[] }>;
}
