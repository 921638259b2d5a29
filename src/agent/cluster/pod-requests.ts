/**
 * The agent's side of `corelet logs` and `corelet exec`: the scheduler sends logsRequest /
 * execRequest over the node socket; this finds the pod's container in the runtime and answers with
 * logsData chunks and logsEnd, or one execResult. logsCancel (or a closed socket) stops a log.
 */
import { isAbsolute } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MAX_LOG_CHUNK_BYTES,
  MESSAGE_VERSION,
  type ExecRequestMessage,
  type ExecResultMessage,
  type LogsCancelMessage,
  type LogsRequestMessage,
  type Message,
  type Pod,
  type PodRequestError,
} from '../../api/index.js';
import { isNotFound, type CriClient } from '../../cri/index.js';
import { CoreletError, failedPrecondition, invalidArgument, notFound, safeJoin, type Logger } from '../../lib/index.js';
import { ANNOTATIONS, LABELS, podLogDirectory } from '../cri-config.js';
import { fitExecOutput, requestErrorOf } from './pod-exec.js';
import { readContainerLog, splitUtf8 } from './pod-logs.js';

/** The scheduler's requests this serves. */
export type PodRequestMessage = LogsRequestMessage | LogsCancelMessage | ExecRequestMessage;

/** Where answers go: the socket the request came on. */
export interface RequestPeer {
  /** Sends a message; false once the socket is closed. */
  send(message: Message): boolean;
  /** Bytes queued on the socket, not yet sent. */
  bufferedBytes(): number;
}

/** One run of a container (each restart is a new one). */
export interface ContainerInstance {
  id: string;
  state: 'created' | 'running' | 'exited' | 'unknown';
  restartCount: number;
}

/** What the requests need from the container runtime (CRI in the agent, a fake in tests). */
export interface ContainerLookup {
  /** The pod's instances of the named container, newest first. */
  instances(podUid: string, container: string): Promise<ContainerInstance[]>;
  /** The instance's log file as the runtime reports it ('' when it does not say). */
  logPath(containerId: string): Promise<string>;
  /** False once the instance stopped (or is gone). */
  isRunning(containerId: string): Promise<boolean>;
  execSync(containerId: string, command: string[], timeoutSeconds: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>;
}

/** Options of {@link PodRequests}. */
export interface PodRequestsOptions {
  /** The pod with this uid, if this agent runs it (with its latest status). */
  pod: (uid: string) => Pod | undefined;
  containers: ContainerLookup;
  nodeName: string;
  /** The agent's pod log root (for a log path the runtime reports relative to it). */
  logRoot: string;
  logger: Logger;
  /** How often a followed log is checked for growth (tests); 250 ms. */
  pollMs?: number;
}

/** Above this many bytes queued on the socket, reading a log waits: the scheduler or its reader is slow. */
const HIGH_WATER_BYTES = 1024 * 1024;

/** "default/web". */
function podRef(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** " (ImagePullBackOff: ...)" from the pod's status, when the container is waiting for a reason. */
function waitingReason(pod: Pod, container: string): string {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const waiting = statuses.find((s) => s.name === container)?.state.waiting;
  if (!waiting?.reason) return '';
  return waiting.message ? ` (${waiting.reason}: ${waiting.message})` : ` (${waiting.reason})`;
}

/**
 * The instance whose log is asked for: the newest one, or with previous the one before it.
 * FailedPrecondition when the container has not started yet, or has no earlier run.
 */
export function pickLogInstance(pod: Pod, container: string, instances: readonly ContainerInstance[], previous = false): ContainerInstance {
  const where = `container ${container} in pod ${podRef(pod)}`;
  if (previous) {
    const before = instances[1];
    if (!before) throw failedPrecondition(`${where} has not restarted: there is no previous log`);
    return before;
  }
  const current = instances[0];
  if (!current || current.state === 'created') throw failedPrecondition(`${where} has not started yet${waitingReason(pod, container)}`);
  return current;
}

/**
 * The absolute log file of an instance: the runtime's path when absolute; otherwise relative to the
 * pod's log directory, where the agent asked for <container>/<restartCount>.log.
 */
export function resolveLogPath(logRoot: string, pod: Pod, container: string, instance: ContainerInstance, reported: string): string {
  if (reported && isAbsolute(reported)) return reported;
  return safeJoin(podLogDirectory(logRoot, pod), [reported || `${container}/${instance.restartCount}.log`], `log of container ${container}`);
}

/** Serves the scheduler's logs and exec requests; one per agent. */
export class PodRequests {
  private readonly streams = new Map<string, AbortController>();

  constructor(private readonly opts: PodRequestsOptions) {}

  /** Starts serving a request (answers go to peer); logsCancel stops the log with its id. */
  handle(message: PodRequestMessage, peer: RequestPeer): void {
    if (message.type === 'logsCancel') this.streams.get(message.id)?.abort();
    else if (message.type === 'logsRequest') void this.serveLogs(message, peer);
    else void this.serveExec(message, peer);
  }

  /** Stops every log being sent (the socket they went to closed). */
  cancelAll(): void {
    for (const c of this.streams.values()) c.abort();
  }

  /** The pod and its container; NotFound when this node does not run them. */
  private find(uid: string, container: string): Pod {
    const pod = this.opts.pod(uid);
    if (!pod) throw notFound(`no pod with uid ${uid} runs on node ${this.opts.nodeName} (it may have been deleted, or not reached the node yet)`);
    const names = [...pod.spec.containers, ...pod.spec.initContainers].map((c) => c.name);
    if (!names.includes(container)) throw notFound(`container ${container} is not in pod ${podRef(pod)}; its containers: ${names.join(', ')}`);
    return pod;
  }

  private async serveLogs(m: LogsRequestMessage, peer: RequestPeer): Promise<void> {
    const { containers, logger } = this.opts;
    if (this.streams.has(m.id)) {
      peer.send({ v: MESSAGE_VERSION, type: 'logsEnd', id: m.id, error: requestErrorOf(invalidArgument(`a log with request id ${m.id} is already being sent`)) });
      return;
    }
    const control = new AbortController();
    const { signal } = control;
    this.streams.set(m.id, control);
    let error: PodRequestError | undefined;
    try {
      const pod = this.find(m.uid, m.container);
      const instance = pickLogInstance(pod, m.container, await containers.instances(m.uid, m.container), m.previous);
      const path = resolveLogPath(this.opts.logRoot, pod, m.container, instance, await containers.logPath(instance.id));
      const send = (data: string): boolean => {
        if (peer.send({ v: MESSAGE_VERSION, type: 'logsData', id: m.id, data })) return true;
        control.abort(); // the socket closed: nobody reads this any more
        return false;
      };
      await readContainerLog({
        path,
        follow: m.follow,
        tailLines: m.tailLines,
        timestamps: m.timestamps,
        isRunning: () => containers.isRunning(instance.id),
        signal,
        pollMs: this.opts.pollMs,
        // The empty first chunk tells the scheduler the log was found: the stream has started.
        onOpen: () => void send(''),
        write: async (text) => {
          for (const piece of splitUtf8(text, MAX_LOG_CHUNK_BYTES)) {
            if (!send(piece)) return;
            while (peer.bufferedBytes() > HIGH_WATER_BYTES && !signal.aborted) await sleep(20);
          }
        },
      });
    } catch (err) {
      const context = `reading the log of container ${m.container} (pod uid ${m.uid})`;
      error = requestErrorOf(err, err instanceof CoreletError ? undefined : context);
      if (error.code === 'Internal') logger.warn({ err: error.message, id: m.id }, 'pod log request failed');
    } finally {
      this.streams.delete(m.id);
    }
    peer.send({ v: MESSAGE_VERSION, type: 'logsEnd', id: m.id, ...(error ? { error } : {}) });
  }

  private async serveExec(m: ExecRequestMessage, peer: RequestPeer): Promise<void> {
    const { containers, logger } = this.opts;
    let reply: ExecResultMessage;
    try {
      const pod = this.find(m.uid, m.container);
      const current = (await containers.instances(m.uid, m.container))[0];
      if (current?.state !== 'running') throw failedPrecondition(`container ${m.container} in pod ${podRef(pod)} is not running${waitingReason(pod, m.container)}`);
      const r = await containers.execSync(current.id, m.command, m.timeoutSeconds);
      const out = fitExecOutput(r.stdout, r.stderr);
      if (out.truncated) logger.info({ id: m.id, pod: podRef(pod), container: m.container }, 'exec output cut to fit one message');
      reply = { v: MESSAGE_VERSION, type: 'execResult', id: m.id, stdout: out.stdout, stderr: out.stderr, exitCode: r.exitCode };
    } catch (err) {
      const context = `exec in container ${m.container} (pod uid ${m.uid})`;
      const error = requestErrorOf(err, err instanceof CoreletError ? undefined : context);
      if (error.code === 'Internal') logger.warn({ err: error.message, id: m.id }, 'exec request failed');
      reply = { v: MESSAGE_VERSION, type: 'execResult', id: m.id, stdout: '', stderr: '', exitCode: -1, error };
    }
    peer.send(reply);
  }
}

const STATES: Record<string, ContainerInstance['state']> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
};

/** Extra time the gRPC deadline allows beyond the command's own timeout, so the runtime reports it. */
const EXEC_DEADLINE_SLACK_MS = 5000;

/** {@link ContainerLookup} over a CRI runtime: containers found by the pod uid and container name labels. */
export function criContainerLookup(cri: Pick<CriClient, 'runtime'>): ContainerLookup {
  return {
    async instances(podUid, container) {
      const res = await cri.runtime.ListContainers({ filter: { label_selector: { [LABELS.podUid]: podUid, [LABELS.containerName]: container } } });
      return res.containers
        .sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)))
        .map((c) => ({
          id: c.id,
          state: STATES[c.state] ?? 'unknown',
          restartCount: Number(c.annotations[ANNOTATIONS.restartCount] ?? c.metadata?.attempt ?? 0),
        }));
    },
    async logPath(containerId) {
      return (await cri.runtime.ContainerStatus({ container_id: containerId })).status?.log_path ?? '';
    },
    async isRunning(containerId) {
      try {
        return (await cri.runtime.ContainerStatus({ container_id: containerId })).status?.state === 'CONTAINER_RUNNING';
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    async execSync(containerId, command, timeoutSeconds) {
      const res = await cri.runtime.ExecSync(
        { container_id: containerId, cmd: command, timeout: String(timeoutSeconds) },
        { deadlineMs: timeoutSeconds * 1000 + EXEC_DEADLINE_SLACK_MS },
      );
      return { stdout: res.stdout, stderr: res.stderr, exitCode: res.exit_code };
    },
  };
}
