/**
 * Pod logs and exec through the node's agent: the scheduler forwards the request over the agent's
 * WebSocket session and relays the answer. (Interface agreed between the REST API and the session
 * layer; the implementation lives here too.)
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { MAX_EXEC_TIMEOUT_SECONDS, MESSAGE_VERSION, type Message, type Pod, type PodRequestError } from '../../api/index.js';
import { CoreletError, failedPrecondition, invalidArgument, notFound, silentLogger, unavailable, type Logger } from '../../lib/index.js';
import type { NodeReply, NodeSessions } from './node-sessions.js';
import { LogFilter, type PodLogOptions } from './log-options.js';

export type { PodLogOptions } from './log-options.js';

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

/** The exec timeout when the caller gives none: long enough for a one-off command, short enough to end a hung one. */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 300;
/** The annotation naming the container `logs` and `exec` pick when none is given (kubectl's). */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** What the proxy needs from the node sessions (a NodeSessions; a fake in tests). */
export type ProxySessions = Pick<NodeSessions, 'send' | 'listen'>;

/** Options of {@link SessionPodProxy}. */
export interface SessionPodProxyOptions {
  logger?: Logger;
  /** How long an agent may take to find a log (or say why it cannot) before the request fails; 30 s. */
  answerTimeoutMs?: number;
  /** How much longer than the command's own timeout an exec answer may take; 30 s. */
  execSlackMs?: number;
  /** Request ids (tests); random UUIDs by default. */
  newId?: () => string;
}

/** A request waiting for its node's answers. */
interface Pending {
  node: string;
  reply(message: NodeReply): void;
  /** The node's session ended: no answer will come. */
  lost(): void;
}

/** "default/web". */
function podRef(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/**
 * The container a logs or exec request is for: the named one (a regular or init container), or,
 * when none is named, the default-container annotation's or the pod's only container. NotFound for
 * a name the pod does not have; InvalidArgument when the pod has several and none was named.
 */
export function resolveContainer(pod: Pod, name?: string): string {
  const names = [...pod.spec.containers, ...pod.spec.initContainers].map((c) => c.name);
  const wanted = name || pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION] || (pod.spec.containers.length === 1 ? pod.spec.containers[0]!.name : undefined);
  if (wanted === undefined) {
    throw invalidArgument(`pod ${podRef(pod)} has several containers (${names.join(', ')}): name one (-c NAME)`);
  }
  if (!names.includes(wanted)) throw notFound(`container ${wanted} is not in pod ${podRef(pod)}; its containers: ${names.join(', ')}`);
  return wanted;
}

/** The node the pod is bound to; FailedPrecondition while it has none. */
function boundNode(pod: Pod): string {
  const node = pod.spec.nodeName;
  if (!node) throw failedPrecondition(`pod ${podRef(pod)} is not scheduled to a node yet: its containers have not run`);
  return node;
}

/** An agent's error answer as the CoreletError of the same kind. */
function requestError(error: PodRequestError): CoreletError {
  return new CoreletError(error.code, error.message);
}

/**
 * {@link PodProxy} over the agents' WebSocket sessions: a logsRequest or execRequest goes to the
 * pod's node with a fresh id, and the answers with that id (logsData chunks and logsEnd, or one
 * execResult) come back through {@link NodeSessions.listen}. A request fails with Unavailable when
 * the node has no session or loses it, and when the agent does not answer in time (an agent too old
 * to know the request ignores it): Unavailable for a log, DeadlineExceeded for an exec.
 */
export class SessionPodProxy implements PodProxy {
  private readonly pending = new Map<string, Pending>();
  private readonly logger: Logger;
  private readonly answerTimeoutMs: number;
  private readonly execSlackMs: number;
  private readonly newId: () => string;
  private readonly unlisten: () => void;

  constructor(
    private readonly sessions: ProxySessions,
    opts: SessionPodProxyOptions = {},
  ) {
    this.logger = opts.logger ?? silentLogger;
    this.answerTimeoutMs = opts.answerTimeoutMs ?? 30_000;
    this.execSlackMs = opts.execSlackMs ?? 30_000;
    this.newId = opts.newId ?? randomUUID;
    this.unlisten = sessions.listen({
      onReply: (node, reply) => this.onReply(node, reply),
      onSessionEnd: (node) => {
        for (const p of [...this.pending.values()]) if (p.node === node) p.lost();
      },
    });
  }

  /**
   * Streams the log through the node's agent. Once the agent found the log, an empty string is
   * written to out (for an HTTP response that sends the headers), then the text as it comes.
   */
  async logs(pod: Pod, opts: PodLogOptions, out: Writable, signal: AbortSignal): Promise<void> {
    const container = resolveContainer(pod, opts.container);
    const node = boundNode(pod);
    if (opts.tailLines !== undefined && (!Number.isSafeInteger(opts.tailLines) || opts.tailLines < 0)) {
      throw invalidArgument(`tailLines must be a whole number of at least 0, got ${opts.tailLines}`);
    }
    if (signal.aborted) return;
    const id = this.newId();
    const what = `the log of container ${container} in pod ${podRef(pod)}`;
    const filter =
      opts.sinceTime !== undefined || opts.limitBytes !== undefined
        ? new LogFilter({ keepTimestamps: opts.timestamps === true, ...(opts.sinceTime !== undefined ? { sinceTime: opts.sinceTime } : {}), ...(opts.limitBytes !== undefined ? { limitBytes: opts.limitBytes } : {}) })
        : undefined;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(
        () => finish(unavailable(`node ${node} did not answer the request for ${what} within ${this.answerTimeoutMs / 1000}s; check that its agent runs this scheduler's corelet version`)),
        this.answerTimeoutMs,
      );
      const onAbort = () => {
        // The reader went away: the agent stops reading the file.
        this.sessions.send(node, { v: MESSAGE_VERSION, type: 'logsCancel', id });
        finish();
      };
      const finish = (err?: Error) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      this.pending.set(id, {
        node,
        reply: (m) => {
          if (m.type === 'logsData') {
            if (!started) clearTimeout(timer);
            const data = filter ? filter.push(m.data) : m.data;
            if ((data !== '' || !started) && !out.destroyed) out.write(data);
            started = true;
            // limitBytes reached: the agent stops reading, the answer ends.
            if (filter?.done) onAbort();
          } else if (m.type === 'logsEnd') {
            const rest = filter && !m.error ? filter.end() : '';
            if (rest !== '' && !out.destroyed) out.write(rest);
            finish(m.error ? requestError(m.error) : undefined);
          } else if (m.type === 'error') {
            finish(new CoreletError('Internal', `node ${node} refused the request for ${what}: ${m.message}`));
          }
        },
        lost: () => finish(unavailable(`node ${node} disconnected while ${started ? 'sending' : 'looking for'} ${what}`)),
      });
      signal.addEventListener('abort', onAbort, { once: true });
      // A reader that fails (its client hung up) ends the stream like an abort. The listener stays:
      // a write's error may be emitted after the stream ended, and unheard it would crash the server.
      out.on('error', () => (this.pending.has(id) ? onAbort() : undefined));
      const request: Message = {
        v: MESSAGE_VERSION,
        type: 'logsRequest',
        id,
        uid: pod.metadata.uid,
        container,
        follow: opts.follow,
        ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
        ...(opts.previous ? { previous: true } : {}),
        ...(LogFilter.needsTimestamps(opts) ? { timestamps: true } : {}),
      };
      this.sendOrFail(node, request, finish);
    });
  }

  async exec(pod: Pod, opts: PodExecOptions): Promise<PodExecResult> {
    const container = resolveContainer(pod, opts.container);
    const node = boundNode(pod);
    if (opts.command.length === 0 || opts.command[0] === '') throw invalidArgument('exec needs a command to run, e.g. ["echo", "hi"]');
    const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS;
    if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_EXEC_TIMEOUT_SECONDS) {
      throw invalidArgument(`exec timeoutSeconds must be a whole number from 1 to ${MAX_EXEC_TIMEOUT_SECONDS}, got ${timeoutSeconds}`);
    }
    const id = this.newId();
    const what = `exec in container ${container} of pod ${podRef(pod)}`;
    return new Promise<PodExecResult>((resolve, reject) => {
      const limitMs = timeoutSeconds * 1000 + this.execSlackMs;
      const timer = setTimeout(
        () => finish(new CoreletError('DeadlineExceeded', `node ${node} did not answer the ${what} within ${limitMs / 1000}s; check that its agent runs this scheduler's corelet version`)),
        limitMs,
      );
      const finish = (err?: Error, result?: PodExecResult) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result!);
      };
      this.pending.set(id, {
        node,
        reply: (m) => {
          if (m.type === 'execResult') {
            if (m.error) finish(requestError(m.error));
            else finish(undefined, { stdout: m.stdout, stderr: m.stderr, exitCode: m.exitCode });
          } else if (m.type === 'error') {
            finish(new CoreletError('Internal', `node ${node} refused the ${what}: ${m.message}`));
          }
        },
        lost: () => finish(unavailable(`node ${node} disconnected during the ${what}; the command may have run`)),
      });
      this.sendOrFail(node, { v: MESSAGE_VERSION, type: 'execRequest', id, uid: pod.metadata.uid, container, command: opts.command, timeoutSeconds }, finish);
    });
  }

  /** Fails every request still waiting (Unavailable) and stops listening. */
  close(): void {
    this.unlisten();
    for (const p of [...this.pending.values()]) p.lost();
  }

  private sendOrFail(node: string, message: Message, finish: (err: Error) => void): void {
    try {
      if (!this.sessions.send(node, message)) finish(unavailable(`node ${node} is not connected: its agent is down or cannot reach the scheduler`));
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onReply(node: string, reply: NodeReply): void {
    const id = reply.type === 'error' ? reply.replyTo : reply.id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p) return; // the answer to a request that ended (cancelled, timed out): nothing waits for it
    if (p.node !== node) {
      this.logger.warn({ node, id, type: reply.type }, 'ignoring an answer from a node the request did not go to');
      return;
    }
    p.reply(reply);
  }
}
