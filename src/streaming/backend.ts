import type { Duplex, Readable, Writable } from 'node:stream';

/** Terminal size as clients send it on the resize channel. */
export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The client side of one exec or attach session, as the streaming server hands it to a backend.
 * Absent streams were not requested by the client. With a TTY there is no stderr (it is merged).
 */
export interface StreamIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Registers a listener for terminal resizes (TTY sessions only). */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Aborted when the client goes away; the backend must then stop and release everything. */
  signal: AbortSignal;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
}

export interface AttachRequest {
  containerId: string;
  tty: boolean;
}

export interface PortForwardRequest {
  podSandboxId: string;
  port: number;
}

/**
 * What the streaming server needs from the runtime: run a process in a container, attach to a
 * container's stdio, open a TCP connection inside a pod's network namespace. Implemented by
 * runtime/oci/conmon-backend.ts over conmon and runc; tests use fakes.
 */
export interface StreamingBackend {
  /** Runs cmd in the container wired to io; resolves with its exit code once it has ended. */
  exec(req: ExecRequest, io: StreamIO): Promise<{ exitCode: number }>;
  /** Connects io to the running container's stdio; resolves when the container exits or io ends. */
  attach(req: AttachRequest, io: StreamIO): Promise<void>;
  /** A duplex byte stream to 127.0.0.1:port inside the pod's network namespace. */
  portForward(req: PortForwardRequest, signal: AbortSignal): Promise<Duplex>;
}
