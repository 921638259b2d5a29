/**
 * Pod logs and exec through the node's agent: the scheduler forwards the request over the agent's
 * WebSocket session and relays the answer. (Interface agreed between the REST API and the session
 * layer; the implementation lives here too.)
 */
import type { Writable } from 'node:stream';
import type { Pod } from '../../api/index.js';

/** What `corelet logs` asks for (kubectl logs' options). */
export interface PodLogOptions {
  container?: string;
  follow: boolean;
  tailLines?: number;
  previous?: boolean;
  timestamps?: boolean;
}

/** What `corelet exec` asks for: a command run to completion (no stdin, no tty). */
export interface PodExecOptions {
  container?: string;
  command: string[];
  timeoutSeconds?: number;
}

export interface PodExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Reaches a bound pod's containers through its node's agent. */
export interface PodProxy {
  /**
   * Writes the container's log to out as kubectl logs prints it (the log lines' text). Resolves when
   * everything was sent: at once without follow; with follow, when the container ends or signal aborts.
   * Rejects with a CoreletError (NotFound, FailedPrecondition, Unavailable...) before anything was
   * written when the pod, container or node cannot serve it.
   */
  logs(pod: Pod, opts: PodLogOptions, out: Writable, signal: AbortSignal): Promise<void>;
  /** Runs the command in the container and returns its output and exit code. */
  exec(pod: Pod, opts: PodExecOptions): Promise<PodExecResult>;
}
