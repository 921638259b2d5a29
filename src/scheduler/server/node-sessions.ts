/**
 * Node sessions: the agents' WebSocket connections, keyed by node name, and what their messages do
 * to the store (register → Node object, heartbeat → Ready condition, podStatus → pod status).
 */
import type { WebSocket } from 'ws';
import { isIPv4 } from 'node:net';
import {
  encodeMessage,
  errorMessage,
  parseMessage,
  MessageError,
  DEFAULT_HEARTBEAT_SECONDS,
  NODE_STATUS_UNKNOWN,
  type HeartbeatMessage,
  type ErrorMessage,
  type ExecResultMessage,
  type LogsDataMessage,
  type LogsEndMessage,
  type Message,
  type Node,
  type NodeCondition,
  type NodeStatusMessage,
  type Pod,
  type PodStatusMessage,
  type RegisterMessage,
} from '../../api/index.js';
import { CoreletError, ipInCidr, type Logger, messageOf, SPECIAL_IPV4_RANGES } from '../../lib/index.js';
import type { Store, Stored } from '../store/index.js';
import { confirmPodTerminated, markNodeStatusUnknown } from '../controllers/index.js';
import { allocatePodCidr, podCidrCapacity, type PodCidrConfig } from './pod-cidr.js';
import { filterNodeAddresses, mergeNodeLabels, nodeSelfLabels, type AddressPolicy } from './node-restriction.js';

/** How long a node may go without a heartbeat before it is marked NotReady (Kubernetes' default). */
export const NODE_GRACE_MS = 40_000;

/** Something that can carry messages to one node's agent. */
export interface NodeConnection {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** An agent's answer to a request the scheduler sent it (pod logs, exec), paired by id / replyTo. */
export type NodeReply = LogsDataMessage | LogsEndMessage | ExecResultMessage | ErrorMessage;

/** Who waits for agents' answers (the pod proxy). */
export interface NodeSessionListener {
  /** An answer from the registered node nodeName. */
  onReply(nodeName: string, reply: NodeReply): void;
  /** The node's session closed or was replaced: answers to what was sent on it will not come. */
  onSessionEnd(nodeName: string): void;
}

/**
 * Live agent connections by node name. The scheduling loop sends `assign`/`unassign` through it;
 * a node without a session simply gets its pods when it (re)registers.
 */
export class NodeSessions {
  private readonly byNode = new Map<string, NodeConnection>();
  private readonly listeners = new Set<NodeSessionListener>();

  /** Adds a listener for agents' answers and ended sessions; returns the function that removes it. */
  listen(listener: NodeSessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands an agent's answer to the listeners (serveNodeSocket calls this). */
  deliver(nodeName: string, reply: NodeReply): void {
    for (const l of this.listeners) l.onReply(nodeName, reply);
  }

  private ended(nodeName: string): void {
    for (const l of this.listeners) l.onSessionEnd(nodeName);
  }

  /** Node names with a live connection, sorted. */
  names(): string[] {
    return [...this.byNode.keys()].sort();
  }

  has(nodeName: string): boolean {
    return this.byNode.has(nodeName);
  }

  /** Sends a message to the node's agent; false when the node has no session. */
  send(nodeName: string, message: Message): boolean {
    const conn = this.byNode.get(nodeName);
    if (!conn) return false;
    conn.send(encodeMessage(message));
    return true;
  }

  /** Sends one message to every node's agent, encoded once. */
  broadcast(message: Message): void {
    if (this.byNode.size === 0) return;
    const text = encodeMessage(message);
    for (const conn of this.byNode.values()) conn.send(text);
  }

  /**
   * Makes conn the node's session. A previous connection for the same name is closed: an agent that
   * reconnects after a network cut re-registers before the server notices the old socket is dead.
   */
  attach(nodeName: string, conn: NodeConnection): void {
    const old = this.byNode.get(nodeName);
    if (old && old !== conn) {
      old.close(4000, 'replaced by a newer connection for this node');
      this.ended(nodeName);
    }
    this.byNode.set(nodeName, conn);
  }

  /** Forgets conn if it is still the node's session (a replaced one must not drop its successor). */
  detach(nodeName: string, conn: NodeConnection): void {
    if (this.byNode.get(nodeName) === conn) {
      this.byNode.delete(nodeName);
      this.ended(nodeName);
    }
  }

  /** Closes the node's session, if it has one. */
  disconnect(nodeName: string, code = 4001, reason = 'disconnected'): void {
    const conn = this.byNode.get(nodeName);
    if (!conn) return;
    this.byNode.delete(nodeName);
    conn.close(code, reason);
    this.ended(nodeName);
  }

  /** Closes every connection. */
  closeAll(code = 1001, reason = 'scheduler shutting down'): void {
    for (const conn of this.byNode.values()) conn.close(code, reason);
    const names = [...this.byNode.keys()];
    this.byNode.clear();
    for (const name of names) this.ended(name);
  }
}

/** RFC 3339 with milliseconds: heartbeats come more often than once a second. */
function timestamp(now: Date): string {
  return now.toISOString();
}

/** conditions with Ready (and the others) stamped by the server's clock, keeping transition times. */
function mergeConditions(previous: readonly NodeCondition[], reported: readonly NodeCondition[], now: Date): NodeCondition[] {
  const ts = timestamp(now);
  const incoming = reported.some((c) => c.type === 'Ready')
    ? reported
    : [...reported, { type: 'Ready' as const, status: 'True' as const, reason: 'KubeletReady', message: 'corelet agent is posting ready status' }];
  return incoming.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const transition = before && before.status === c.status ? before.lastTransitionTime ?? ts : ts;
    // The server's clock decides staleness, so agents with skewed clocks are judged fairly.
    return { ...c, lastHeartbeatTime: ts, lastTransitionTime: transition };
  });
}

/** The Node object a register message describes, merged over the stored one (spec kept). */
function nodeFromRegister(msg: RegisterMessage, current: Node | undefined, now: Date, refusedLabels?: (keys: string[]) => void): Node {
  const runtime = `${msg.runtime.name}://${msg.runtime.version}`;
  // NodeRestriction: no protected labels, and stored labels (an admin's) are never overridden.
  const { allowed, refused } = nodeSelfLabels(msg.nodeName, msg.labels);
  if (refused.length > 0) refusedLabels?.(refused);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { ...(current?.metadata ?? {}), name: msg.nodeName, labels: mergeNodeLabels(current?.metadata.labels, allowed) } as Node['metadata'],
    spec: current?.spec ?? { taints: [], unschedulable: false, ...(msg.podCIDR ? { podCIDR: msg.podCIDR } : {}) },
    status: {
      capacity: msg.capacity,
      allocatable: msg.allocatable,
      conditions: mergeConditions(current?.status?.conditions ?? [], [], now),
      addresses: msg.addresses,
      ...(msg.agentPort ? { daemonEndpoints: { kubeletEndpoint: { Port: msg.agentPort } } } : {}),
      nodeInfo: {
        kernelVersion: msg.system?.kernelVersion ?? '',
        osImage: msg.system?.osImage ?? '',
        operatingSystem: msg.system?.operatingSystem ?? 'linux',
        architecture: msg.system?.architecture ?? '',
        containerRuntimeVersion: runtime,
        kubeletVersion: msg.system?.agentVersion ?? '',
      },
    },
  };
}

/** Options of {@link NodeSocketHandler}. */
export interface NodeSocketOptions {
  store: Store;
  sessions: NodeSessions;
  logger: Logger;
  now: () => Date;
  heartbeatIntervalSeconds?: number;
  /** When set, registering nodes get a pod CIDR from this cluster CIDR (kept in Node.spec.podCIDR). */
  podCidrs?: PodCidrConfig;
  /** Called after a node registers (e.g. to run the scheduling loop). */
  onRegistered?: (nodeName: string) => void;
  /**
   * The node the connection's client certificate names: `register` must name it (node authorizer),
   * else the connection is closed. Undefined only in tests that serve a socket directly.
   */
  authenticatedNode?: string;
  /** Which addresses this node may report (from certificates); undefined: all (tests only). */
  addresses?: AddressPolicy;
}

/**
 * Serves one authenticated agent connection: the first message must be `register`; later ones are
 * heartbeat, podStatus, nodeStatus or error. Bad messages get an `error` reply; the socket stays open.
 */
export function serveNodeSocket(ws: WebSocket, opts: NodeSocketOptions): void {
  const { store, sessions, logger, now } = opts;
  let nodeName: string | undefined;
  const conn: NodeConnection = {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
  };
  const reply = (message: Message) => ws.send(encodeMessage(message));
  // Reported addresses are claims: only those its certificate backs are stored (see node-restriction.ts).
  const ownAddresses = <A extends { type: string; address: string }>(node: string, addresses: A[]): A[] => {
    if (!opts.addresses) return addresses;
    const { allowed, refused } = filterNodeAddresses(addresses, opts.addresses);
    if (refused.length > 0) logger.warn({ node, refused }, 'node addresses refused: a node may report only addresses in its own certificate');
    return allowed;
  };

  ws.on('message', (data, isBinary) => {
    let msg: Message;
    try {
      msg = parseMessage(isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString('utf8'), { receiver: 'scheduler' });
    } catch (err) {
      const e = err instanceof MessageError ? err : new MessageError([String(err)]);
      reply(errorMessage(e.code, e.message));
      return;
    }
    try {
      if (msg.type === 'register') {
        if (opts.authenticatedNode !== undefined && msg.nodeName !== opts.authenticatedNode) {
          logger.warn({ node: opts.authenticatedNode, asked: msg.nodeName }, 'node tried to register under another name');
          reply(errorMessage('NodeNameConflict', `this connection's certificate is for node ${opts.authenticatedNode}; it cannot register as ${msg.nodeName}`, msg.id));
          ws.close(4003, 'register names another node');
          return;
        }
        if (nodeName !== undefined && msg.nodeName !== nodeName) {
          reply(errorMessage('NodeNameConflict', `this connection is registered as ${nodeName}; open a new connection for ${msg.nodeName}`, msg.id));
          return;
        }
        nodeName = handleRegister(store, { ...msg, addresses: ownAddresses(msg.nodeName, msg.addresses) }, now(), opts.podCidrs, logger);
        sessions.attach(nodeName, conn);
        const podCIDR = opts.podCidrs ? podCidrOf(store, nodeName, opts.podCidrs, logger, now()) : msg.podCIDR;
        reply({ v: 1, type: 'registered', nodeName, heartbeatIntervalSeconds: opts.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_SECONDS, ...(podCIDR ? { podCIDR } : {}) });
        logger.info({ node: nodeName }, 'node registered');
        opts.onRegistered?.(nodeName);
        return;
      }
      if (msg.type === 'error') {
        logger.warn({ node: nodeName, code: msg.code, replyTo: msg.replyTo }, `agent reported: ${msg.message}`);
        // It may refuse a request the pod proxy waits on.
        if (nodeName !== undefined && msg.replyTo !== undefined) sessions.deliver(nodeName, msg);
        return;
      }
      if (nodeName === undefined) {
        reply(errorMessage('NotRegistered', `send register before ${msg.type}`, msg.id));
        return;
      }
      if (msg.type === 'heartbeat') handleHeartbeat(store, nodeName, msg, now());
      else if (msg.type === 'nodeStatus') handleNodeStatus(store, nodeName, { ...msg, addresses: ownAddresses(nodeName, msg.addresses) }, now());
      else if (msg.type === 'podStatus') handlePodStatus(store, nodeName, msg, logger);
      else if (msg.type === 'podTerminated') {
        const gone = confirmPodTerminated(store, nodeName, msg.uid);
        if (gone) logger.info({ node: nodeName, pod: `${gone.metadata.namespace}/${gone.metadata.name}` }, 'pod terminated on its node: removed');
      }
      else if (msg.type === 'logsData' || msg.type === 'logsEnd' || msg.type === 'execResult') sessions.deliver(nodeName, msg);
    } catch (err) {
      const notFound = err instanceof CoreletError && err.kind === 'NotFound';
      reply(errorMessage(notFound ? 'NotFound' : 'Internal', messageOf(err), msg.id));
      if (!notFound) logger.error({ err, node: nodeName, type: msg.type }, 'handling agent message failed');
    }
  });
  ws.on('close', () => {
    // The Node object stays; markStaleNodes turns it NotReady once heartbeats stop.
    if (nodeName !== undefined) {
      sessions.detach(nodeName, conn);
      logger.info({ node: nodeName }, 'node disconnected');
    }
  });
  ws.on('error', (err) => logger.warn({ err, node: nodeName }, 'node socket error'));
}

/**
 * Creates or refreshes the Node for a register message; returns its name. With podCidrs, a node
 * without a pod CIDR gets one (the one it asks for when free, else the lowest free block); a node
 * that has one keeps it, so it survives reconnects and scheduler restarts.
 */
export function handleRegister(store: Store, msg: RegisterMessage, now: Date, podCidrs?: PodCidrConfig, logger?: Logger): string {
  store.transaction(() => {
    const current = store.get<Node>('Node', '', msg.nodeName);
    const node = nodeFromRegister(msg, current, now, (keys) =>
      logger?.warn({ node: msg.nodeName, labels: keys }, 'node labels refused: a node may not set these labels on itself (NodeRestriction)'),
    );
    if (podCidrs && !current?.spec?.podCIDR) {
      const taken = store.list<Stored<Node>>('Node').filter((n) => n.metadata.name !== msg.nodeName).map((n) => n.spec?.podCIDR);
      const cidr = allocatePodCidr(podCidrs, taken, msg.podCIDR);
      const { podCIDR: _asked, podCIDRs: _askedList, ...spec } = node.spec;
      node.spec = cidr ? { ...spec, podCIDR: cidr, podCIDRs: [cidr] } : spec;
    }
    if (current) store.update('Node', node as never, current.metadata.resourceVersion);
    else store.create('Node', node as never);
  });
  return msg.nodeName;
}

/** The node's stored pod CIDR; when the cluster CIDR is full, says so in the log and a Node event. */
function podCidrOf(store: Store, nodeName: string, podCidrs: PodCidrConfig, logger: Logger, now: Date): string | undefined {
  const node = store.get<Node>('Node', '', nodeName);
  if (node?.spec.podCIDR) return node.spec.podCIDR;
  const message = `no free pod CIDR for node ${nodeName}: all ${podCidrCapacity(podCidrs)} /${podCidrs.nodeMaskSize} blocks of ${podCidrs.clusterCidr} are taken; delete nodes that are gone or restart the scheduler with a larger --cluster-cidr`;
  logger.error({ node: nodeName }, message);
  const ts = timestamp(now).replace(/\.\d{3}Z$/, 'Z');
  store.recordEvent({
    type: 'Warning',
    reason: 'CIDRNotAvailable',
    message,
    involvedObject: { kind: 'Node', name: nodeName, uid: node?.metadata.uid },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    source: { component: 'corelet-scheduler' },
  });
  return undefined;
}

function handleHeartbeat(store: Store, nodeName: string, msg: HeartbeatMessage, now: Date): void {
  store.mutate<Node>('Node', '', nodeName, (node) => {
    node.status.conditions = mergeConditions(node.status.conditions ?? [], msg.conditions, now);
  });
}

function handleNodeStatus(store: Store, nodeName: string, msg: NodeStatusMessage, now: Date): void {
  store.mutate<Node>('Node', '', nodeName, (node) => {
    node.status.capacity = msg.capacity;
    node.status.allocatable = msg.allocatable;
    node.status.addresses = msg.addresses;
    node.status.conditions = mergeConditions(node.status.conditions ?? [], msg.conditions, now);
  });
}

/**
 * Why a pod IP a node reports cannot be the pod's (undefined: it can). Every node routes Service
 * traffic to pod IPs, so a node may only claim addresses of its own: a pod's inside the node's pod
 * CIDR (when the scheduler gave it one; otherwise any unicast IPv4 outside the special ranges), a
 * hostNetwork pod's among the node's addresses (Kubernetes' NodeRestriction and ValidateEndpointIP).
 */
export function podIpProblem(ip: string, pod: Pick<Pod, 'spec'>, node: Pick<Node, 'spec' | 'status'> | undefined): string | undefined {
  if (!isIPv4(ip)) return 'not an IPv4 address';
  if (pod.spec.hostNetwork) {
    const own = (node?.status?.addresses ?? []).some((a) => a.type !== 'Hostname' && a.address === ip);
    return own ? undefined : "not one of the node's addresses (a hostNetwork pod has its node's)";
  }
  const cidr = node?.spec?.podCIDR;
  if (cidr) return ipInCidr(ip, cidr) ? undefined : `outside the node's pod CIDR ${cidr}`;
  const special = SPECIAL_IPV4_RANGES.find((c) => ipInCidr(ip, c));
  return special ? `in the special range ${special}` : undefined;
}

/** Stores the pod's status (only for a pod bound to this node) and the events that came with it. */
function handlePodStatus(store: Store, nodeName: string, msg: PodStatusMessage, logger: Logger): void {
  store.transaction(() => {
    const pod = store.list<Stored<Pod>>('Pod', { nodeName }).find((p) => p.metadata.uid === msg.uid);
    if (!pod) throw new CoreletError('NotFound', `no pod with uid ${msg.uid} is bound to node ${nodeName}`);
    const node = store.get<Node>('Node', '', nodeName);
    const status = { ...msg.status };
    const claimed = [status.podIP, ...(status.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string => ip !== undefined);
    const bad = claimed.map((ip) => ({ ip, problem: podIpProblem(ip, pod, node) })).filter((c) => c.problem !== undefined);
    if (bad.length > 0) {
      // The status stays (phase, containers); the IPs do not: no Service sends traffic there.
      logger.warn({ node: nodeName, pod: `${pod.metadata.namespace}/${pod.metadata.name}`, refused: bad }, 'a node reported a pod IP it cannot have: left out');
      delete status.podIP;
      delete status.podIPs;
    }
    store.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name, (p) => {
      p.status = status;
    });
    for (const event of msg.events) store.recordEvent(event);
  });
}

/**
 * Marks nodes whose last heartbeat is older than graceMs as NotReady: Ready=False with reason
 * NodeStatusUnknown, as Kubernetes' node lifecycle controller does. Returns the names it marked
 * (nodes already marked are left alone).
 */
export function markStaleNodes(store: Store, now: Date, graceMs: number = NODE_GRACE_MS): string[] {
  const marked: string[] = [];
  for (const node of store.list<Stored<Node>>('Node')) {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.reason === NODE_STATUS_UNKNOWN) continue;
    const last = Date.parse(ready?.lastHeartbeatTime ?? node.metadata.creationTimestamp ?? '');
    if (!Number.isNaN(last) && now.getTime() - last <= graceMs) continue;
    markNodeStatusUnknown(store, node.metadata.name, ready, now);
    marked.push(node.metadata.name);
  }
  return marked;
}
