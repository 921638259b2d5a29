import type { ContainerPort } from '../../api/index.js';
import { setLongTimeout, type LongTimeout } from '../../lib/index.js';

/** The three kinds of container probe, as the kubelet names them. */
export type ProbeType = 'liveness' | 'readiness' | 'startup';

/** A probe's verdict. The kubelet's Unknown/Warning collapse into these two. */
export type ProbeResult = 'Success' | 'Failure';

/** One probe run: the verdict and what to show the user (command output, HTTP body, error text). */
export interface ProbeOutcome {
  result: ProbeResult;
  output: string;
}

/** Where a probe points: the pod's IP (default host) and the container (exec, named ports). */
export interface ProbeTarget {
  podIP: string;
  containerId: string;
  ports: ContainerPort[];
}

/** What an exec probe got back from the runtime. */
export interface ExecSyncResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Side effects probes need besides the network. */
export interface ProbeDeps {
  /**
   * Runs cmd in the container and waits at most timeoutSeconds. On timeout it rejects with an error
   * that {@link isExecTimeout} recognises (gRPC DEADLINE_EXCEEDED, a CoreletError of kind
   * DeadlineExceeded, or an {@link ExecTimeoutError}).
   */
  execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult>;
}

/** Thrown by an execSync implementation when the command outlived its timeout. */
export class ExecTimeoutError extends Error {
  constructor(message = 'exec timed out') {
    super(message);
    this.name = 'ExecTimeoutError';
  }
}

/** Time source and timers for probe workers; injectable so unit tests drive a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  // initialDelaySeconds and periodSeconds are the user's: any length, never clamped to 1 ms.
  setTimeout: (fn, ms) => setLongTimeout(fn, ms),
  clearTimeout: (handle) => (handle as LongTimeout | undefined)?.clear(),
};
