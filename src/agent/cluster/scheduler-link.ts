/**
 * The agent's link to the scheduler: a WebSocket over TLS trusting the cluster CA (pinned by
 * --ca-cert-hash at bootstrap), authenticated by the node's client certificate (node-identity.ts). It registers the node, heartbeats, turns `assign` and
 * `unassign` into the "scheduler" pod source, and reports pod statuses back. It reconnects with
 * backoff; after a reconnect the scheduler sends every pod bound to the node again, then
 * `assignDone` naming every pod bound here: only that marker may shrink the desired set.
 */
import WebSocket from 'ws';
import { type NodeCondition, type ObjectEvent, type PeerNode, type Pod, type PodStatus, type ServicesMessage, DEFAULT_POD_SECURITY_LEVEL, encodeMessage, parseMessage, type Message, type PodSecurityLevel } from '../../api/index.js';
import type { Logger } from '../../lib/index.js';
import type { PodRequestMessage, RequestPeer } from './pod-requests.js';
import { checkSchedulerIdentity, parseServerUrl } from '../../join/index.js';
import type { NodeCredentials } from './node-identity.js';
import { terminationDeadlineMs } from '../termination-deadline.js';
import { messageOf } from '../../lib/index.js';

export const SCHEDULER_SOURCE = 'scheduler';
/**
 * How long after `registered` (or the latest re-sent `assign`) an agent still waiting for `assignDone`
 * hands over its pods: the old ones plus the re-sent ones, never fewer (an older scheduler sends no marker).
 */
const RESYNC_QUIET_MS = 1500;

export interface SchedulerLinkOptions {
  server: string;
  /** The node's current key, certificate and CA (they change when the certificate rotates). */
  credentials: () => NodeCredentials;
  nodeName: string;
  hostIP: string;
  /** The agent's HTTPS port, told to the scheduler at register (it relays exec, attach and port-forward there). */
  agentPort?: () => number | undefined;
  capacity: { cpuMillis: number; memoryBytes: number; pods: number };
  allocatable: { cpuMillis: number; memoryBytes: number; pods: number };
  runtime: { name: string; version: string };
  /** Pods the agent runs now (for the scheduler's resync). */
  runningPods: () => Pod[];
  /** The scheduler's desired pods for this node. */
  setPods: (pods: Pod[]) => void;
  events: () => ObjectEvent[];
  logger: Logger;
  /** The pod CIDR this node had before (asked for again on register). */
  podCIDR?: string;
  /**
   * Applies the pod CIDR the scheduler assigned (e.g. the runtime's UpdateRuntimeConfig). The
   * scheduler's pods are held back until it resolves, so none gets an address from an old range;
   * a failure is retried with backoff.
   */
  onPodCidr?: (cidr: string) => Promise<void>;
  /** The nodes' pod CIDRs and addresses, from each `peers` message (to program routes). */
  onPeers?: (nodes: PeerNode[]) => void;
  /**
   * The cluster's Services and EndpointSlices, from each `services` message in order: a `reset` batch
   * after every registration, then deltas; a batch split over several messages ends at one without
   * `more` (apply it then). For the service proxy and the cluster DNS.
   */
  onServices?: (message: ServicesMessage) => void;
  /** Serves the scheduler's logs and exec requests (pod-requests.ts); answers go back on the socket they came on. */
  onRequest?: (message: PodRequestMessage, peer: RequestPeer) => void;
  /** The socket closed: requests it carried are over. */
  onDisconnect?: () => void;
  /** The scheduler unassigned the pod (deleted): confirm with {@link SchedulerLink.podTerminated} once it is gone (pod-termination.ts). */
  onUnassigned?: (uid: string) => void;
  /**
   * The pod is being deleted: stop it by deadlineMs (immediate: grace 0). Called for every
   * `unassign` (again with a shorter deadline after a second, shorter delete), whether or not the
   * link is synced, and for an `assign` of a pod already Terminating (a restarted agent). pod is
   * undefined when this link never got the pod.
   */
  onTerminate?: (uid: string, pod: Pod | undefined, deadlineMs: number, immediate: boolean) => void;
  /** Conditions sent with every heartbeat besides Ready (DiskPressure from the disk eviction manager). */
  conditions?: () => NodeCondition[];
  /**
   * How long after `registered` without an `assign` an agent waiting for `assignDone` hands over
   * what it has (old pods plus re-sent ones: an older scheduler never sends the marker). Default 1.5 s.
   */
  resyncQuietMs?: number;
}

export class SchedulerLink {
  private ws: WebSocket | undefined;
  /** A `services` message was refused on this connection: the rest of it is ignored until the next one's snapshot. */
  private servicesVoid = false;
  private readonly assigned = new Map<string, Pod>();
  /** Pods being deleted, by uid (so a second, shorter delete still reaches the worker). */
  private readonly terminating = new Map<string, Pod>();
  /** The Pod Security level the scheduler stated with each assigned pod, by uid. */
  private readonly podSecurity = new Map<string, PodSecurityLevel>();
  private heartbeat: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  /** Counts `registered` messages: a handover started for an older one is dropped. */
  private resyncGeneration = 0;
  /** Uids assigned since the latest `registered`, until its `assignDone` arrives. */
  private resent: Set<string> | undefined;
  private synced = false;
  private closed = false;
  private delayMs = 1000;
  private readonly sent = new Map<string, string>();
  private readonly lastEventAt = new Map<string, string>();
  /** Settles once the pod CIDR of the latest `registered` is applied. */
  private podCidrApplied: Promise<void> = Promise.resolve();
  private podCIDR: string | undefined;
  private podCidrGeneration = 0;

  constructor(private readonly opts: SchedulerLinkOptions) {
    this.podCIDR = opts.podCIDR;
  }

  /**
   * Drops the connection and opens a new one with the current credentials (after a certificate
   * rotation: the session must not outlive the certificate it was opened with).
   */
  reconnect(): void {
    if (this.closed) return;
    this.delayMs = 200;
    this.ws?.close(1000, 'reconnecting with a new certificate');
  }

  /** Connects now; fails when the first attempt is refused (a revoked certificate), retries otherwise. */
  async start(): Promise<void> {
    await this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.resync) clearTimeout(this.resync);
    this.ws?.close();
  }

  private async connect(): Promise<void> {
    const address = parseServerUrl(this.opts.server);
    const { caPem, certPem, keyPem } = this.opts.credentials();
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    const ws = new WebSocket(`wss://${host}:${address.port}/nodes`, { ca: caPem, cert: certPem, key: keyPem, ...({ checkServerIdentity: checkSchedulerIdentity } as object) });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new Error(`the scheduler refused this node (${res.statusCode}): ${reasonOf(body)}`)));
      });
      ws.once('error', reject);
    });
    this.delayMs = 1000;
    this.servicesVoid = false;
    ws.on('message', (data) => this.onMessage(data as Buffer));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'scheduler connection error'));
    this.send(this.registerMessage());
    this.opts.logger.info({ server: this.opts.server }, 'connected to the scheduler');
  }

  private onClose(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    // A resync cut short hands nothing over: the pods stay as they are until the next one completes.
    if (this.resync) clearTimeout(this.resync);
    this.resync = undefined;
    this.synced = false;
    this.opts.onDisconnect?.();
    if (this.closed) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, 30_000);
    this.opts.logger.warn({ retryInMs: delay }, 'lost the scheduler; reconnecting');
    setTimeout(() => {
      if (!this.closed) this.connect().catch((err) => {
        this.opts.logger.warn({ err: messageOf(err) }, 'reconnect failed');
        this.onClose();
      });
    }, delay).unref();
  }

  private send(m: Message): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeMessage(m));
    return true;
  }

  /** Tells the scheduler nothing of the pod runs here any more; false when not connected. */
  podTerminated(uid: string): boolean {
    this.forget(uid);
    return this.send({ v: 1, type: 'podTerminated', uid } as Message);
  }

  private registerMessage(): Message {
    const o = this.opts;
    const list = (r: { cpuMillis: number; memoryBytes: number; pods: number }) => ({ cpu: `${r.cpuMillis}m`, memory: String(r.memoryBytes), pods: String(r.pods) });
    return {
      v: 1,
      type: 'register',
      nodeName: o.nodeName,
      labels: { 'kubernetes.io/hostname': o.nodeName, 'kubernetes.io/os': 'linux' },
      capacity: list(o.capacity),
      allocatable: list(o.allocatable),
      runtime: o.runtime,
      addresses: [
        { type: 'InternalIP', address: o.hostIP },
        { type: 'Hostname', address: o.nodeName },
      ],
      pods: o.runningPods().map((p) => ({ uid: p.metadata.uid, phase: p.status?.phase ?? 'Pending' })),
      ...(this.podCIDR ? { podCIDR: this.podCIDR } : {}),
      ...(o.agentPort?.() ? { agentPort: o.agentPort() } : {}),
    } as Message;
  }

  private onMessage(data: Buffer): void {
    let m: Message;
    try {
      m = parseMessage(data, { receiver: 'agent' });
    } catch (err) {
      this.opts.logger.warn({ err: messageOf(err) }, 'ignoring a bad message from the scheduler');
      // A lost `services` delta would leave this node's Services stale until the next reconnect:
      // reconnect now, and the registration's snapshot replaces what this node has.
      if (servicesType(data)) {
        // ws still delivers what follows while closing: the later parts of a split batch must not
        // complete it without the refused part (a split snapshot would delete that part's Services)
        this.servicesVoid = true;
        this.ws?.close(1000, 'resync of Services after a refused message');
      }
      return;
    }
    switch (m.type) {
      case 'registered':
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(
          () => this.send({ v: 1, type: 'heartbeat', time: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }, ...(this.opts.conditions?.() ?? [])] } as Message),
          m.heartbeatIntervalSeconds * 1000,
        );
        this.heartbeat.unref();
        this.sent.clear();
        // The scheduler re-sends every pod bound here right after this, then `assignDone`: only that
        // marker may drop a pod (see onAssignDone). Until then the old pods stay wanted, so a cut,
        // a stall or a scheduler dying mid-resync never stops pods.
        this.resyncGeneration++;
        this.resent = new Set();
        if (m.podCIDR && this.opts.onPodCidr) {
          // One at a time, in order: an older attempt still retrying must not land after this one.
          const cidr = m.podCIDR;
          const generation = ++this.podCidrGeneration;
          this.podCidrApplied = this.podCidrApplied.then(() => this.applyPodCidr(cidr, generation));
        }
        this.armResync();
        break;
      case 'peers':
        this.opts.onPeers?.(m.nodes);
        break;
      case 'services':
        if (this.servicesVoid) break;
        if (m.refused) this.opts.logger.warn({ refused: m.refused }, 'left out Services/EndpointSlices this agent cannot use');
        this.opts.onServices?.(m);
        break;
      case 'assign':
        if (m.pod.metadata.deletionTimestamp !== undefined) {
          // Already being deleted (told again after a reconnect): only its termination, never a start.
          this.terminate(m.pod.metadata.uid, m.pod, m.pod.metadata.deletionGracePeriodSeconds);
          break;
        }
        this.assigned.set(m.pod.metadata.uid, m.pod);
        this.podSecurity.set(m.pod.metadata.uid, m.podSecurity ?? DEFAULT_POD_SECURITY_LEVEL);
        this.resent?.add(m.pod.metadata.uid);
        this.publish();
        break;
      case 'assignDone':
        this.onAssignDone(m.uids);
        break;
      case 'unassign': {
        this.terminate(m.uid, this.assigned.get(m.uid), m.gracePeriodSeconds);
        this.opts.onUnassigned?.(m.uid);
        break;
      }
      case 'logsRequest':
      case 'logsCancel':
      case 'execRequest':
        if (this.ws) this.opts.onRequest?.(m, peerOf(this.ws));
        break;
      case 'error':
        this.opts.logger.warn({ code: m.code, message: m.message }, 'the scheduler reported an error');
        break;
      default:
        break;
    }
  }

  /**
   * The pod is being deleted: its worker stops it by the deadline (terminating.ts), synced or not;
   * a later, shorter deletion shortens it. The pod leaves the desired set.
   */
  private terminate(uid: string, pod: Pod | undefined, gracePeriodSeconds: number | undefined): void {
    const known = pod ?? this.terminating.get(uid);
    if (known) this.terminating.set(uid, known);
    this.opts.onTerminate?.(uid, known, terminationDeadlineMs(known, gracePeriodSeconds, Date.now()), gracePeriodSeconds === 0);
    if (this.assigned.delete(uid)) {
      this.dropStatusMemory(uid);
      this.publish();
    }
  }

  /**
   * The re-send after `registered` is complete: the desired set becomes the pods re-sent since, plus
   * those already known whose uid the scheduler still binds here (finished pods, which it does not
   * re-send: they keep their sandbox and logs until their object is deleted, as with the kubelet).
   * Any other pod was removed while the link was down (its unassign never delivered) and leaves the
   * node, as after a kubelet's relist. Handed over at once, the pod CIDR applied first.
   */
  private onAssignDone(uids: string[]): void {
    const resent = this.resent;
    if (!resent) return; // no resync pending (a duplicate): nothing to conclude from it
    this.resent = undefined;
    const bound = new Set(uids);
    for (const uid of [...this.assigned.keys()]) {
      if (resent.has(uid) || bound.has(uid)) continue;
      this.assigned.delete(uid);
      this.dropStatusMemory(uid);
    }
    if (this.resync) clearTimeout(this.resync);
    this.resync = undefined;
    const generation = this.resyncGeneration;
    void this.podCidrApplied.then(() => {
      if (generation !== this.resyncGeneration || this.closed) return; // a newer `registered` hands over
      this.synced = true;
      this.opts.setPods([...this.assigned.values()]);
    });
  }

  /** The pod is gone (confirmed): forget it. */
  private forget(uid: string): void {
    this.terminating.delete(uid);
  }

  /** What is kept per assigned pod (its level, last status sent, newest event sent) goes with it: a node runs for months. */
  private dropStatusMemory(uid: string): void {
    this.podSecurity.delete(uid);
    this.sent.delete(uid);
    this.lastEventAt.delete(uid);
  }

  /**
   * Until the re-sent assignments have arrived, the list is not handed over (pods would be removed);
   * nor before the pod CIDR is applied (pods would get addresses from the old range).
   */
  private armResync(): void {
    this.synced = false;
    if (this.resync) clearTimeout(this.resync);
    const timer = setTimeout(() => {
      void this.podCidrApplied.then(() => {
        if (this.resync !== timer || this.closed) return; // re-armed meanwhile: that timer hands over
        this.synced = true;
        this.opts.setPods([...this.assigned.values()]);
      });
    }, this.opts.resyncQuietMs ?? RESYNC_QUIET_MS);
    this.resync = timer;
  }

  /** Calls onPodCidr until it succeeds (or the link closes, or a newer `registered` supersedes it), backing off up to 30 s. */
  private async applyPodCidr(cidr: string, generation: number): Promise<void> {
    for (let delayMs = 1000; !this.closed && generation === this.podCidrGeneration; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        await this.opts.onPodCidr!(cidr);
        if (this.podCIDR !== cidr) this.opts.logger.info({ podCIDR: cidr }, 'pod CIDR applied');
        this.podCIDR = cidr;
        return;
      } catch (err) {
        this.opts.logger.warn({ podCIDR: cidr, err: messageOf(err), retryInMs: delayMs }, 'cannot apply the pod CIDR yet; the scheduler\'s pods wait for it');
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }

  private publish(): void {
    if (this.synced) this.opts.setPods([...this.assigned.values()]);
    else this.armResync();
  }

  /** Reports a pod's status when it changed (with the pod's events since the last report). */
  /** The Pod Security level the scheduler stated for an assigned pod (baseline when it stated none). */
  podSecurityLevel(uid: string): PodSecurityLevel {
    return this.podSecurity.get(uid) ?? DEFAULT_POD_SECURITY_LEVEL;
  }

  podStatus(pod: Pod, status: PodStatus): void {
    if (!this.assigned.has(pod.metadata.uid)) return;
    const json = JSON.stringify(status);
    if (this.sent.get(pod.metadata.uid) === json) return;
    this.sent.set(pod.metadata.uid, json);
    const uid = pod.metadata.uid;
    const since = this.lastEventAt.get(uid) ?? '';
    const events = this.opts.events().filter((e) => e.involvedObject.uid === uid && e.lastTimestamp > since);
    for (const e of events) if (e.lastTimestamp > (this.lastEventAt.get(uid) ?? '')) this.lastEventAt.set(uid, e.lastTimestamp);
    this.send({ v: 1, type: 'podStatus', uid: pod.metadata.uid, status, events } as Message);
  }
}

/** Answers go back on the socket the request came on, and nowhere once it closed. */
function peerOf(ws: WebSocket): RequestPeer {
  return {
    send(message) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(encodeMessage(message));
      return true;
    },
    bufferedBytes: () => ws.bufferedAmount,
  };
}

function reasonOf(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: string; reason?: string };
    return j.message ?? j.reason ?? body;
  } catch {
    return body;
  }
}

/** Whether a message this agent refused was a `services` one (read again only on that error path). */
function servicesType(data: Buffer): boolean {
  try {
    const o: unknown = JSON.parse(data.toString('utf8'));
    return typeof o === 'object' && o !== null && (o as { type?: unknown }).type === 'services';
  } catch {
    return false;
  }
}
