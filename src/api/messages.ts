/**
 * The agent↔scheduler wire protocol: versioned JSON messages over the node WebSocket. Every message
 * is `{ "v": 1, "type": ..., "id"?: ..., ...fields }`. {@link parseMessage} is the boundary check: it
 * validates strictly (unknown fields and types are errors, not warnings, since both ends ship in the
 * same binary and a mismatch means a version skew worth hearing about) and names every bad field by
 * its path ("message.assign.pod.metadata.name: required value").
 *
 *   agent → scheduler: register, heartbeat, podStatus, podTerminated, nodeStatus, error
 *                      logsData, logsEnd, execResult (answers to the requests below, by id)
 *   scheduler → agent: registered, assign, assignDone, unassign, peers, services, error
 *                      logsRequest, logsCancel, execRequest (a container's log or an exec, by id)
 */
import { isIP } from 'node:net';
import { CoreletError, messageOf } from '../lib/index.js';
import { FieldReader, compact, describeValue, fieldPath as at, indexPath as idx, isMapping } from './field-reader.js';
import { MAX_GRACE_PERIOD_SECONDS } from './grace-period.js';
import { checkDnsLabel, checkDnsSubdomain, checkIp, checkQualifiedName } from './names.js';
import type { NodeAddress, NodeCondition, NodeConditionType } from './node-types.js';
import { decodeLabels, decodePod } from './pod-decode.js';
import { POD_SECURITY_LEVELS, isPodSecurityLevel, type PodSecurityLevel } from './pod-security.js';
import type {
  ContainerState,
  ContainerStatus,
  ObjectEvent,
  Pod,
  PodCondition,
  PodPhase,
  PodStatus,
} from './pod-types.js';
import { parseQuantityNanos } from './quantity.js';
import { decodeEndpointSlice, decodeService } from './service-decode.js';
import { CLUSTER_IP_NONE, type EndpointSlice, type Service } from './service-types.js';

/** The protocol version this build speaks. */
export const MESSAGE_VERSION = 1;
/** Largest message either end accepts (a Pod may be 1.5 MiB, as in Kubernetes); use as ws maxPayload. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How often agents heartbeat unless the scheduler says otherwise in `registered`. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;

/** Which end of the node socket. */
export type Peer = 'agent' | 'scheduler';

/** Fields every message has. */
export interface MessageEnvelope {
  v: typeof MESSAGE_VERSION;
  /** Optional correlation id; an `error` reply names it in replyTo. */
  id?: string;
}

/** A container runtime's name and version, e.g. corelet 0.1.0 or containerd 1.7.2. */
export interface RuntimeInfo {
  name: string;
  version: string;
}

/** A pod the agent already runs, so the scheduler can resync after a reconnect. */
export interface RunningPod {
  uid: string;
  phase: PodPhase;
}

/** What `get nodes -o wide` shows about the machine (all optional). */
export interface SystemInfo {
  kernelVersion?: string;
  osImage?: string;
  operatingSystem?: string;
  architecture?: string;
  agentVersion?: string;
}

/** agent → scheduler, first message on a connection: who the node is and what it can hold. */
export interface RegisterMessage extends MessageEnvelope {
  type: 'register';
  nodeName: string;
  labels: Record<string, string>;
  /** Resource name → quantity; cpu, memory and pods are required. */
  capacity: Record<string, string>;
  /** Same keys as capacity, after reservations: what the scheduler may fill. */
  allocatable: Record<string, string>;
  runtime: RuntimeInfo;
  addresses: NodeAddress[];
  /** A pod CIDR the node asks for (one it used before), if any. */
  podCIDR?: string;
  /** The agent's HTTPS port (exec, attach, port-forward, /pods), the kubelet's daemon endpoint; 10250 when absent. */
  agentPort?: number;
  pods: RunningPod[];
  system?: SystemInfo;
}

/** scheduler → agent, the answer to register. */
export interface RegisteredMessage extends MessageEnvelope {
  type: 'registered';
  nodeName: string;
  /** The pod CIDR assigned to the node, when the scheduler allocates them. */
  podCIDR?: string;
  heartbeatIntervalSeconds: number;
}

/** agent → scheduler, every heartbeatIntervalSeconds. */
export interface HeartbeatMessage extends MessageEnvelope {
  type: 'heartbeat';
  /** RFC 3339, the agent's clock. */
  time: string;
  conditions: NodeCondition[];
}

/** scheduler → agent: run this pod (or its newer version: same uid). */
export interface AssignMessage extends MessageEnvelope {
  type: 'assign';
  /** With metadata.deletionTimestamp (Terminating, re-sent on reconnect): only to be stopped; an `unassign` follows. */
  pod: Pod;
  /**
   * The Pod Security level the pod's namespace enforces: the agent checks the pod against it again
   * before running it (baseline when absent).
   */
  podSecurity?: PodSecurityLevel;
}

/**
 * scheduler → agent, right after the `assign`s it re-sends on `registered`: the re-send is complete.
 * uids names every pod bound to the node, finished and terminating ones included. The agent's desired
 * pods become the re-sent ones plus those it already had whose uid is listed (finished pods are not
 * re-sent); any other pod it had was removed while the link was down and leaves the node. An agent
 * that never gets it (an older scheduler, a connection cut mid-resync) keeps what it had.
 */
export interface AssignDoneMessage extends MessageEnvelope {
  type: 'assignDone';
  uids: string[];
}

/** scheduler → agent: stop and remove the pod with this uid. */
export interface UnassignMessage extends MessageEnvelope {
  type: 'unassign';
  uid: string;
  /** Overrides the pod's terminationGracePeriodSeconds (0 = kill now). */
  gracePeriodSeconds?: number;
  reason?: string;
}

/**
 * agent → scheduler: nothing of the pod with this uid runs on the node any more (after an
 * `unassign`: its containers were stopped within the grace period and its sandbox removed, or it
 * never ran here). The scheduler then removes the terminating pod object.
 */
export interface PodTerminatedMessage extends MessageEnvelope {
  type: 'podTerminated';
  uid: string;
}

/** agent → scheduler: a pod's status changed (and the events since the last report). */
export interface PodStatusMessage extends MessageEnvelope {
  type: 'podStatus';
  uid: string;
  status: PodStatus;
  events: ObjectEvent[];
}

/** agent → scheduler: the node's resources, conditions or addresses changed. */
export interface NodeStatusMessage extends MessageEnvelope {
  type: 'nodeStatus';
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  conditions: NodeCondition[];
  addresses: NodeAddress[];
}

/** One node as its peers route to it: pods in podCIDR are reached via address (the node's InternalIP). */
export interface PeerNode {
  name: string;
  podCIDR: string;
  address: string;
}

/**
 * scheduler → agent: every node that has a pod CIDR and an InternalIP (the receiver included; it
 * skips itself). Sent after `registered` and whenever that list changes; each one replaces the last.
 */
export interface PeersMessage extends MessageEnvelope {
  type: 'peers';
  nodes: PeerNode[];
}

/** A Service or EndpointSlice that is gone, in a `services` message. */
export interface DeletedServiceObject {
  kind: 'Service' | 'EndpointSlice';
  namespace: string;
  name: string;
}

/**
 * scheduler → agent: the cluster's Services and EndpointSlices, as deltas (what kube-proxy and
 * CoreDNS watch). After `registered` the scheduler sends every one with `reset: true` (the agent
 * replaces what it had); then each committed change once, coalesced: objects created or changed
 * (whole, metadata cut to name, namespace, uid, resourceVersion and labels) and those deleted. A batch
 * too big for one message is split: all but its last message carry `more: true`, and the agent
 * applies the batch when the last arrives (so a restarted agent never syncs half a snapshot).
 */
export interface ServicesMessage extends MessageEnvelope {
  type: 'services';
  reset?: boolean;
  more?: boolean;
  services: Service[];
  endpointSlices: EndpointSlice[];
  deleted: DeletedServiceObject[];
  /**
   * The cluster's pod CIDR (the scheduler's --cluster-cidr), with a reset: pod traffic to a Service
   * is not masqueraded, and the node DNS answers these sources. Travels with the data plane's snapshot
   * (not in registered, which older agents read strictly).
   */
  clusterCIDR?: string;
  /**
   * Set by parseMessage only, never sent: the objects left out because this reader refused them, each
   * as "path: problem". One bad object costs that object, not the message (a snapshot refused whole
   * would empty every node's Services); unknown fields inside an object are ignored (a newer scheduler).
   */
  refused?: string[];
}

/** Largest `data` of one logsData message: a log travels in chunks of at most this many UTF-8 bytes. */
export const MAX_LOG_CHUNK_BYTES = 64 * 1024;
/** Largest stdout (and stderr) of an execResult, in UTF-8 bytes: one message must carry both. */
export const MAX_EXEC_OUTPUT_BYTES = 1024 * 1024;
/** Longest exec timeoutSeconds a request may ask for (a day). */
export const MAX_EXEC_TIMEOUT_SECONDS = 86_400;

/** Why a node could not serve a logs or exec request; the scheduler turns it into the CoreletError kind of the same name. */
export type PodRequestErrorCode = 'NotFound' | 'InvalidArgument' | 'FailedPrecondition' | 'DeadlineExceeded' | 'Unavailable' | 'Internal';

/** The failure of a logs or exec request, e.g. FailedPrecondition "container c has not started". */
export interface PodRequestError {
  code: PodRequestErrorCode;
  message: string;
}

/**
 * scheduler → agent: send a container's log as logsData chunks, then logsEnd. The agent answers
 * first with an empty logsData once it found the log (or with logsEnd carrying the error).
 */
export interface LogsRequestMessage extends MessageEnvelope {
  type: 'logsRequest';
  id: string;
  /** The pod's uid. */
  uid: string;
  container: string;
  /** Keep sending as the log grows, until the container exits or logsCancel. */
  follow: boolean;
  /** Only the last N lines (of what is there when the request arrives). */
  tailLines?: number;
  /** The log of the container's previous instance (before its last restart). */
  previous?: boolean;
  /** Prefix each line with the time it was logged (RFC 3339). */
  timestamps?: boolean;
}

/** agent → scheduler: the next piece of a log's text (at most {@link MAX_LOG_CHUNK_BYTES}). */
export interface LogsDataMessage extends MessageEnvelope {
  type: 'logsData';
  id: string;
  data: string;
}

/** agent → scheduler: the log stream ended, or could not start (error). */
export interface LogsEndMessage extends MessageEnvelope {
  type: 'logsEnd';
  id: string;
  error?: PodRequestError;
}

/** scheduler → agent: stop sending the log of request id (its reader went away). */
export interface LogsCancelMessage extends MessageEnvelope {
  type: 'logsCancel';
  id: string;
}

/** scheduler → agent: run a command in a running container to completion (no stdin, no tty). */
export interface ExecRequestMessage extends MessageEnvelope {
  type: 'execRequest';
  id: string;
  uid: string;
  container: string;
  command: string[];
  /** The command is killed after this long. */
  timeoutSeconds: number;
}

/** agent → scheduler: what the command printed and its exit code, or why it could not run (error). */
export interface ExecResultMessage extends MessageEnvelope {
  type: 'execResult';
  id: string;
  /** At most {@link MAX_EXEC_OUTPUT_BYTES}; the rest is cut off. */
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: PodRequestError;
}

/** Why a peer refused something. */
export type MessageErrorCode =
  | 'InvalidMessage'
  | 'UnsupportedVersion'
  | 'Unauthenticated'
  | 'NotRegistered'
  | 'NodeNameConflict'
  | 'NotFound'
  | 'Internal';

/** Either direction: a message was refused or something failed. */
export interface ErrorMessage extends MessageEnvelope {
  type: 'error';
  code: MessageErrorCode;
  message: string;
  /** The id of the message this answers, if it had one. */
  replyTo?: string;
}

/** Any message of the protocol. */
export type Message =
  | RegisterMessage
  | RegisteredMessage
  | HeartbeatMessage
  | AssignMessage
  | AssignDoneMessage
  | UnassignMessage
  | PodStatusMessage
  | PodTerminatedMessage
  | NodeStatusMessage
  | PeersMessage
  | ServicesMessage
  | LogsRequestMessage
  | LogsDataMessage
  | LogsEndMessage
  | LogsCancelMessage
  | ExecRequestMessage
  | ExecResultMessage
  | ErrorMessage;

export type MessageType = Message['type'];

/** Who may send each type ("both" for error). */
export const MESSAGE_SENDERS: Readonly<Record<MessageType, Peer | 'both'>> = {
  register: 'agent',
  registered: 'scheduler',
  heartbeat: 'agent',
  assign: 'scheduler',
  assignDone: 'scheduler',
  unassign: 'scheduler',
  podStatus: 'agent',
  podTerminated: 'agent',
  nodeStatus: 'agent',
  peers: 'scheduler',
  services: 'scheduler',
  logsRequest: 'scheduler',
  logsData: 'agent',
  logsEnd: 'agent',
  logsCancel: 'scheduler',
  execRequest: 'scheduler',
  execResult: 'agent',
  error: 'both',
};

export const MESSAGE_TYPES = Object.keys(MESSAGE_SENDERS) as MessageType[];
export const MESSAGE_ERROR_CODES: readonly MessageErrorCode[] = [
  'InvalidMessage',
  'UnsupportedVersion',
  'Unauthenticated',
  'NotRegistered',
  'NodeNameConflict',
  'NotFound',
  'Internal',
];

/**
 * A message that failed to parse or validate (kind InvalidArgument). `problems` holds one line per
 * problem; `code` is what an `error` reply should carry.
 */
export class MessageError extends CoreletError {
  constructor(
    readonly problems: readonly string[],
    readonly code: MessageErrorCode = 'InvalidMessage',
  ) {
    super('InvalidArgument', problems.join('; '));
    this.name = 'MessageError';
  }
}

/** Options of {@link parseMessage}. */
export interface ParseMessageOptions {
  /** The end that is reading: messages only the other end may send are then refused. */
  receiver?: Peer;
}

const ENVELOPE = ['v', 'type', 'id'];
const NODE_CONDITION_TYPES: readonly NodeConditionType[] = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];
const POD_CONDITION_TYPES: readonly PodCondition['type'][] = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'];
const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const STATUSES = ['True', 'False', 'Unknown'] as const;
const ADDRESS_TYPES: readonly NodeAddress['type'][] = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'];
const REQUIRED_RESOURCES = ['cpu', 'memory', 'pods'];
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses and validates one message: JSON text (string or UTF-8 bytes) or an already-parsed value.
 * Throws {@link MessageError} listing every problem, e.g. "message.assign.pod.metadata.name: required
 * value", "unsupported message version 2; this scheduler speaks 1", "message.type: unsupported value".
 */
export function parseMessage(input: unknown, options: ParseMessageOptions = {}): Message {
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
    if (size > MAX_MESSAGE_BYTES) throw new MessageError([`message too large: ${size} bytes (at most ${MAX_MESSAGE_BYTES})`]);
    const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new MessageError([`message is not JSON: ${messageOf(err)}`]);
    }
  }
  if (!isMapping(value)) throw new MessageError([`message: expected a mapping, got ${describeValue(value)}`]);

  const self = options.receiver ?? 'peer';
  if (value.v === undefined || value.v === null) throw new MessageError(['message.v: required value (the protocol version)'], 'UnsupportedVersion');
  if (value.v !== MESSAGE_VERSION) {
    const got = typeof value.v === 'number' ? String(value.v) : describeValue(value.v);
    throw new MessageError([`unsupported message version ${got}; this ${self} speaks ${MESSAGE_VERSION}`], 'UnsupportedVersion');
  }
  const r = new FieldReader();
  const type = r.oneOf(value.type, 'message.type', MESSAGE_TYPES);
  if (value.type === undefined || value.type === null) r.error('message.type', 'required value');
  if (type === undefined) throw new MessageError(r.errors);
  const sender = MESSAGE_SENDERS[type];
  if (options.receiver && sender !== 'both' && sender === options.receiver) {
    throw new MessageError([`message.type: ${type} goes from ${sender} to ${sender === 'agent' ? 'scheduler' : 'agent'}; this ${self} does not accept it`]);
  }

  const path = `message.${type}`;
  const envelope: MessageEnvelope = { v: MESSAGE_VERSION };
  const id = r.string(value.id, at(path, 'id'));
  if (id !== undefined) {
    if (id === '' || id.length > 128) r.error(at(path, 'id'), 'must be 1 to 128 characters');
    envelope.id = id;
  }
  const message = READERS[type](r, value, path, envelope);
  // Strict: an unknown field is an error here, unlike in user manifests where it is a warning.
  const problems = [...r.errors, ...r.warnings];
  if (problems.length > 0) throw new MessageError(problems);
  return message;
}

/**
 * Serializes a message to JSON text. Throws MessageError when it is over {@link MAX_MESSAGE_BYTES} or
 * lacks v/type; the receiver validates the rest with {@link parseMessage}.
 */
export function encodeMessage(message: Message): string {
  if (message.v !== MESSAGE_VERSION || !(message.type in MESSAGE_SENDERS)) {
    throw new MessageError([`cannot encode: message needs v ${MESSAGE_VERSION} and a known type, got v ${String(message.v)} type ${String(message.type)}`]);
  }
  // A pod's metadata.managedFields (server-side apply's bookkeeping) are the API's, not the agent's: never sent.
  const text = message.type === 'assign' ? JSON.stringify(message, (k, v: unknown) => (k === 'managedFields' ? undefined : v)) : JSON.stringify(message);
  const size = Buffer.byteLength(text);
  if (size > MAX_MESSAGE_BYTES) throw new MessageError([`message.${message.type}: too large to send: ${size} bytes (at most ${MAX_MESSAGE_BYTES})`]);
  return text;
}

/** An `error` message answering (optionally) the message with id replyTo. */
export function errorMessage(code: MessageErrorCode, message: string, replyTo?: string): ErrorMessage {
  return compact({ v: MESSAGE_VERSION, type: 'error' as const, code, message, replyTo });
}

type Reader = (r: FieldReader, o: Record<string, unknown>, path: string, envelope: MessageEnvelope) => Message;

const READERS: Record<MessageType, Reader> = {
  register(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'nodeName', 'labels', 'capacity', 'allocatable', 'runtime', 'addresses', 'podCIDR', 'agentPort', 'pods', 'system']);
    const nodeName = r.requiredString(o.nodeName, at(path, 'nodeName')) ?? '';
    checkFormat(r, at(path, 'nodeName'), nodeName, checkDnsSubdomain);
    const capacity = readResources(r, o.capacity, at(path, 'capacity'));
    const allocatable = readResources(r, o.allocatable, at(path, 'allocatable'));
    const runtimePath = at(path, 'runtime');
    const runtime = required(r, o.runtime, runtimePath, ['name', 'version']);
    const podCIDR = r.string(o.podCIDR, at(path, 'podCIDR'));
    checkFormat(r, at(path, 'podCIDR'), podCIDR, checkCidr);
    const podsPath = at(path, 'pods');
    const pods =
      items(r, o.pods, podsPath, ['uid', 'phase'], (m, p): RunningPod => ({
        uid: r.requiredString(m.uid, at(p, 'uid')) ?? '',
        phase: requiredOneOf(r, m.phase, at(p, 'phase'), PHASES) ?? 'Unknown',
      })) ?? [];
    const systemPath = at(path, 'system');
    const sys = r.object(o.system, systemPath, ['kernelVersion', 'osImage', 'operatingSystem', 'architecture', 'agentVersion']);
    const system = sys
      ? compact({
          kernelVersion: r.string(sys.kernelVersion, at(systemPath, 'kernelVersion')),
          osImage: r.string(sys.osImage, at(systemPath, 'osImage')),
          operatingSystem: r.string(sys.operatingSystem, at(systemPath, 'operatingSystem')),
          architecture: r.string(sys.architecture, at(systemPath, 'architecture')),
          agentVersion: r.string(sys.agentVersion, at(systemPath, 'agentVersion')),
        })
      : undefined;
    return compact({
      ...envelope,
      type: 'register' as const,
      nodeName,
      labels: decodeLabels(r, o.labels, at(path, 'labels')),
      capacity,
      allocatable,
      // An absent runtime is reported once, not again for each of its fields.
      runtime: {
        name: (runtime ? r.requiredString(runtime.name, at(runtimePath, 'name')) : undefined) ?? '',
        version: (runtime ? r.requiredString(runtime.version, at(runtimePath, 'version')) : undefined) ?? '',
      },
      addresses: readAddresses(r, o.addresses, at(path, 'addresses')),
      podCIDR,
      agentPort: r.int(o.agentPort, at(path, 'agentPort'), 1, 65535),
      pods,
      system,
    });
  },

  registered(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'nodeName', 'podCIDR', 'heartbeatIntervalSeconds']);
    const nodeName = r.requiredString(o.nodeName, at(path, 'nodeName')) ?? '';
    checkFormat(r, at(path, 'nodeName'), nodeName, checkDnsSubdomain);
    const podCIDR = r.string(o.podCIDR, at(path, 'podCIDR'));
    checkFormat(r, at(path, 'podCIDR'), podCIDR, checkCidr);
    const interval = requiredInt(r, o.heartbeatIntervalSeconds, at(path, 'heartbeatIntervalSeconds'), 1, 3600);
    return compact({ ...envelope, type: 'registered' as const, nodeName, podCIDR, heartbeatIntervalSeconds: interval ?? DEFAULT_HEARTBEAT_SECONDS });
  },

  heartbeat(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'time', 'conditions']);
    return {
      ...envelope,
      type: 'heartbeat',
      time: readTime(r, o.time, at(path, 'time'), true) ?? '',
      conditions: readNodeConditions(r, o.conditions, at(path, 'conditions')),
    };
  },

  assign(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'pod', 'podSecurity']);
    const podSecurity = o.podSecurity === undefined ? undefined : r.string(o.podSecurity, at(path, 'podSecurity'));
    if (podSecurity !== undefined && !isPodSecurityLevel(podSecurity)) {
      r.error(at(path, 'podSecurity'), `unsupported value ${JSON.stringify(podSecurity)} (supported: ${POD_SECURITY_LEVELS.join(', ')})`);
    }
    const level = isPodSecurityLevel(podSecurity) ? { podSecurity } : {};
    const podPath = at(path, 'pod');
    const raw = o.pod;
    if (raw === undefined || raw === null) {
      r.error(podPath, 'required value');
      return { ...envelope, type: 'assign', pod: undefined as unknown as Pod };
    }
    if (!isMapping(raw)) {
      r.error(podPath, `expected a mapping, got ${describeValue(raw)}`);
      return { ...envelope, type: 'assign', pod: undefined as unknown as Pod };
    }
    if (raw.apiVersion !== 'v1') r.error(at(podPath, 'apiVersion'), `must be "v1", got ${describeValue(raw.apiVersion)}`);
    if (raw.kind !== 'Pod') r.error(at(podPath, 'kind'), `must be "Pod", got ${describeValue(raw.kind)}`);
    // An assigned pod already has its identity: never let the decoder invent a uid for it.
    const meta = isMapping(raw.metadata) ? raw.metadata : undefined;
    if (meta && (typeof meta.uid !== 'string' || meta.uid === '')) r.error(at(at(podPath, 'metadata'), 'uid'), 'required value');
    const pod = decodePod(r, raw, podPath, podPath);
    return { ...envelope, type: 'assign', pod: pod as Pod, ...level };
  },

  assignDone(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uids']);
    const uidsPath = at(path, 'uids');
    if (o.uids === undefined || o.uids === null) r.error(uidsPath, 'required value');
    const uids: string[] = [];
    (r.list(o.uids, uidsPath) ?? []).forEach((item, i) => {
      const uid = r.requiredString(item, idx(uidsPath, i));
      if (uid !== undefined) uids.push(uid);
    });
    return { ...envelope, type: 'assignDone' as const, uids };
  },

  unassign(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uid', 'gracePeriodSeconds', 'reason']);
    return compact({
      ...envelope,
      type: 'unassign' as const,
      uid: r.requiredString(o.uid, at(path, 'uid')) ?? '',
      gracePeriodSeconds: r.int(o.gracePeriodSeconds, at(path, 'gracePeriodSeconds'), 0, MAX_GRACE_PERIOD_SECONDS),
      reason: r.string(o.reason, at(path, 'reason')),
    });
  },

  podTerminated(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uid']);
    return { ...envelope, type: 'podTerminated' as const, uid: r.requiredString(o.uid, at(path, 'uid')) ?? '' };
  },

  podStatus(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uid', 'status', 'events']);
    const uid = r.requiredString(o.uid, at(path, 'uid')) ?? '';
    const statusPath = at(path, 'status');
    if (o.status === undefined || o.status === null) r.error(statusPath, 'required value');
    const eventsPath = at(path, 'events');
    return {
      ...envelope,
      type: 'podStatus',
      uid,
      status: readPodStatus(r, o.status, statusPath),
      events: items(r, o.events, eventsPath, EVENT_FIELDS, (m, p) => readEvent(r, m, p)) ?? [],
    };
  },

  nodeStatus(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'capacity', 'allocatable', 'conditions', 'addresses']);
    return {
      ...envelope,
      type: 'nodeStatus',
      capacity: readResources(r, o.capacity, at(path, 'capacity')),
      allocatable: readResources(r, o.allocatable, at(path, 'allocatable')),
      conditions: readNodeConditions(r, o.conditions, at(path, 'conditions')),
      addresses: readAddresses(r, o.addresses, at(path, 'addresses')),
    };
  },

  peers(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'nodes']);
    const nodesPath = at(path, 'nodes');
    if (o.nodes === undefined || o.nodes === null) r.error(nodesPath, 'required value');
    const nodes = items(r, o.nodes, nodesPath, ['name', 'podCIDR', 'address'], (m, p): PeerNode => {
      const name = r.requiredString(m.name, at(p, 'name')) ?? '';
      checkFormat(r, at(p, 'name'), name, checkDnsSubdomain);
      const podCIDR = r.requiredString(m.podCIDR, at(p, 'podCIDR')) ?? '';
      checkFormat(r, at(p, 'podCIDR'), podCIDR, checkCidr);
      const address = r.requiredString(m.address, at(p, 'address')) ?? '';
      checkFormat(r, at(p, 'address'), address, checkIp);
      return { name, podCIDR, address };
    }) ?? [];
    return { ...envelope, type: 'peers', nodes };
  },

  services(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'reset', 'more', 'clusterCIDR', 'services', 'endpointSlices', 'deleted']);
    const clusterCIDR = r.string(o.clusterCIDR, at(path, 'clusterCIDR'));
    checkFormat(r, at(path, 'clusterCIDR'), clusterCIDR, checkCidr);
    const refused: string[] = [];
    // Each object is read on its own reader: its errors leave it out (listed in refused), its unknown
    // fields are dropped; the message itself stays strict.
    const each = <T>(field: 'services' | 'endpointSlices', read: (sub: FieldReader, raw: Record<string, unknown>, p: string) => T | undefined): T[] =>
      (r.list(o[field], at(path, field)) ?? []).flatMap((raw, i) => {
        const p = idx(at(path, field), i);
        const sub = new FieldReader();
        const value = isMapping(raw) ? read(sub, raw, p) : (sub.error(p, `expected a mapping, got ${describeValue(raw)}`), undefined);
        if (sub.errors.length > 0 || value === undefined) {
          refused.push(...(sub.errors.length > 0 ? sub.errors : [`${p}: refused`]));
          return [];
        }
        return [value];
      });
    const services = each('services', (sub, raw, p) => {
      const svc = decodeService(sub, raw, p, 'scheduler');
      if (!svc) return undefined;
      if (!svc.metadata.uid) sub.error(at(at(p, 'metadata'), 'uid'), 'required value');
      if (svc.spec.clusterIP === undefined) sub.error(at(at(p, 'spec'), 'clusterIP'), `required value (an allocated address or ${CLUSTER_IP_NONE})`);
      return svc as Service;
    });
    const endpointSlices = each('endpointSlices', (sub, raw, p) => decodeEndpointSlice(sub, raw, p, 'scheduler') as EndpointSlice | undefined);
    const deleted =
      items(r, o.deleted, at(path, 'deleted'), ['kind', 'namespace', 'name'], (m, p): DeletedServiceObject => {
        const namespace = r.requiredString(m.namespace, at(p, 'namespace')) ?? '';
        checkFormat(r, at(p, 'namespace'), namespace, checkDnsLabel);
        const name = r.requiredString(m.name, at(p, 'name')) ?? '';
        checkFormat(r, at(p, 'name'), name, checkDnsSubdomain);
        return { kind: requiredOneOf(r, m.kind, at(p, 'kind'), ['Service', 'EndpointSlice'] as const) ?? 'Service', namespace, name };
      }) ?? [];
    return compact({ ...envelope, type: 'services' as const, reset: r.bool(o.reset, at(path, 'reset')), more: r.bool(o.more, at(path, 'more')), clusterCIDR, services, endpointSlices, deleted, ...(refused.length > 0 ? { refused } : {}) });
  },

  logsRequest(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uid', 'container', 'follow', 'tailLines', 'previous', 'timestamps']);
    return compact({
      ...requestEnvelope(r, envelope, path),
      type: 'logsRequest' as const,
      uid: r.requiredString(o.uid, at(path, 'uid')) ?? '',
      container: readContainerName(r, o.container, at(path, 'container')),
      follow: requiredBool(r, o.follow, at(path, 'follow')) ?? false,
      tailLines: r.int(o.tailLines, at(path, 'tailLines'), 0, Number.MAX_SAFE_INTEGER),
      previous: r.bool(o.previous, at(path, 'previous')),
      timestamps: r.bool(o.timestamps, at(path, 'timestamps')),
    });
  },

  logsData(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'data']);
    const data = requiredText(r, o.data, at(path, 'data'), MAX_LOG_CHUNK_BYTES);
    return { ...requestEnvelope(r, envelope, path), type: 'logsData', data };
  },

  logsEnd(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'error']);
    return compact({ ...requestEnvelope(r, envelope, path), type: 'logsEnd' as const, error: readRequestError(r, o.error, at(path, 'error')) });
  },

  logsCancel(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE]);
    return { ...requestEnvelope(r, envelope, path), type: 'logsCancel' };
  },

  execRequest(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'uid', 'container', 'command', 'timeoutSeconds']);
    const commandPath = at(path, 'command');
    if (o.command === undefined || o.command === null) r.error(commandPath, 'required value');
    const command = r.stringList(o.command, commandPath) ?? [];
    if (Array.isArray(o.command) && (o.command.length === 0 || o.command[0] === '')) r.error(commandPath, 'must name a program to run');
    return {
      ...requestEnvelope(r, envelope, path),
      type: 'execRequest',
      uid: r.requiredString(o.uid, at(path, 'uid')) ?? '',
      container: readContainerName(r, o.container, at(path, 'container')),
      command,
      timeoutSeconds: requiredInt(r, o.timeoutSeconds, at(path, 'timeoutSeconds'), 1, MAX_EXEC_TIMEOUT_SECONDS) ?? 1,
    };
  },

  execResult(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'stdout', 'stderr', 'exitCode', 'error']);
    return compact({
      ...requestEnvelope(r, envelope, path),
      type: 'execResult' as const,
      stdout: requiredText(r, o.stdout, at(path, 'stdout'), MAX_EXEC_OUTPUT_BYTES),
      stderr: requiredText(r, o.stderr, at(path, 'stderr'), MAX_EXEC_OUTPUT_BYTES),
      exitCode: requiredInt(r, o.exitCode, at(path, 'exitCode'), -2147483648, 2147483647) ?? 0,
      error: readRequestError(r, o.error, at(path, 'error')),
    });
  },

  error(r, o, path, envelope) {
    r.object(o, path, [...ENVELOPE, 'code', 'message', 'replyTo']);
    return compact({
      ...envelope,
      type: 'error' as const,
      code: requiredOneOf(r, o.code, at(path, 'code'), MESSAGE_ERROR_CODES) ?? 'Internal',
      message: r.requiredString(o.message, at(path, 'message')) ?? '',
      replyTo: r.string(o.replyTo, at(path, 'replyTo')),
    });
  },
};

// ---- field readers ---------------------------------------------------------------------------

const POD_REQUEST_ERROR_CODES: readonly PodRequestErrorCode[] = ['NotFound', 'InvalidArgument', 'FailedPrecondition', 'DeadlineExceeded', 'Unavailable', 'Internal'];

/** Logs and exec messages pair requests with answers by id, so theirs is required. */
function requestEnvelope(r: FieldReader, envelope: MessageEnvelope, path: string): MessageEnvelope & { id: string } {
  if (envelope.id === undefined) r.error(at(path, 'id'), 'required value (it pairs requests with their answers)');
  return { ...envelope, id: envelope.id ?? '' };
}

/** A container name: a DNS label, as in pod specs. */
function readContainerName(r: FieldReader, v: unknown, path: string): string {
  const name = r.requiredString(v, path) ?? '';
  checkFormat(r, path, name, checkDnsLabel);
  return name;
}

/** A required string (empty allowed) of at most maxBytes UTF-8 bytes. */
function requiredText(r: FieldReader, v: unknown, path: string, maxBytes: number): string {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return '';
  }
  const s = r.string(v, path) ?? '';
  const size = Buffer.byteLength(s);
  if (size > maxBytes) r.error(path, `too long: ${size} bytes (at most ${maxBytes})`);
  return s;
}

function readRequestError(r: FieldReader, v: unknown, path: string): PodRequestError | undefined {
  const e = r.object(v, path, ['code', 'message']);
  if (!e) return undefined;
  return {
    code: requiredOneOf(r, e.code, at(path, 'code'), POD_REQUEST_ERROR_CODES) ?? 'Internal',
    message: r.requiredString(e.message, at(path, 'message')) ?? '',
  };
}

function checkFormat(r: FieldReader, path: string, value: string | undefined, check: (s: string) => string | undefined): void {
  if (!value) return;
  const why = check(value);
  if (why) r.error(path, `invalid value ${JSON.stringify(value)}: ${why}`);
}

/** A required mapping with known fields. */
function required(r: FieldReader, v: unknown, path: string, known: readonly string[]): Record<string, unknown> | undefined {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return undefined;
  }
  return r.object(v, path, known);
}

/**
 * The items of a list of mappings, each read by `read`. A null or non-mapping item is reported once
 * and skipped (not also reported for each of its missing fields). Undefined when the list is absent.
 */
function items<T>(r: FieldReader, v: unknown, path: string, known: readonly string[], read: (m: Record<string, unknown>, path: string) => T): T[] | undefined {
  const list = r.list(v, path);
  if (!list) return undefined;
  const out: T[] = [];
  list.forEach((item, i) => {
    const p = idx(path, i);
    if (item === undefined || item === null) return r.error(p, 'expected a mapping, got null');
    const m = r.object(item, p, known);
    if (m) out.push(read(m, p));
  });
  return out;
}

function requiredOneOf<T extends string>(r: FieldReader, v: unknown, path: string, allowed: readonly T[]): T | undefined {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return undefined;
  }
  return r.oneOf(v, path, allowed);
}

function requiredInt(r: FieldReader, v: unknown, path: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return undefined;
  }
  return r.int(v, path, min, max);
}

function requiredBool(r: FieldReader, v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return undefined;
  }
  return r.bool(v, path);
}

/** "10.244.1.0/24" or "fd00:1::/64". */
function checkCidr(s: string): string | undefined {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? s : s.slice(0, slash);
  const prefix = slash < 0 ? '' : s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) {
    return 'must be a CIDR such as 10.244.1.0/24';
  }
  return undefined;
}

/** An RFC 3339 timestamp (what Date.toISOString writes). */
function readTime(r: FieldReader, v: unknown, path: string, isRequired = false): string | undefined {
  if (isRequired && (v === undefined || v === null)) {
    r.error(path, 'required value');
    return undefined;
  }
  const s = r.string(v, path);
  if (s !== undefined && (!RFC3339_RE.test(s) || Number.isNaN(Date.parse(s)))) {
    r.error(path, `invalid value ${JSON.stringify(s)}: must be an RFC 3339 time such as 2026-01-02T15:04:05Z`);
    return undefined;
  }
  return s;
}

/** Resource name → quantity; cpu, memory and pods required, none negative. */
function readResources(r: FieldReader, v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) {
    r.error(path, 'required value');
    return {};
  }
  const resources = r.stringMap(v, path) ?? {};
  if (!isMapping(v)) return resources;
  for (const name of REQUIRED_RESOURCES) if (!(name in resources) && !(name in v)) r.error(at(path, name), 'required value');
  for (const [name, quantity] of Object.entries(resources)) {
    const why = checkQualifiedName(name);
    if (why) r.error(path, `invalid resource name ${JSON.stringify(name)}: ${why}`);
    try {
      if (parseQuantityNanos(quantity) < 0n) r.error(at(path, name), `invalid value ${JSON.stringify(quantity)}: must not be negative`);
    } catch {
      r.error(at(path, name), `invalid quantity ${JSON.stringify(quantity)} (examples: "2", "500m", "8Gi")`);
    }
  }
  return resources;
}

function readAddresses(r: FieldReader, v: unknown, path: string): NodeAddress[] {
  return items(r, v, path, ['type', 'address'], (m, p) => {
    const type = requiredOneOf(r, m.type, at(p, 'type'), ADDRESS_TYPES);
    const address = r.requiredString(m.address, at(p, 'address')) ?? '';
    if (type === 'InternalIP' || type === 'ExternalIP') checkFormat(r, at(p, 'address'), address, checkIp);
    return { type: type ?? 'InternalIP', address };
  }) ?? [];
}

function readNodeConditions(r: FieldReader, v: unknown, path: string): NodeCondition[] {
  const seen = new Set<string>();
  const known = ['type', 'status', 'reason', 'message', 'lastHeartbeatTime', 'lastTransitionTime'];
  return items(r, v, path, known, (m, p) => {
    const type = requiredOneOf(r, m.type, at(p, 'type'), NODE_CONDITION_TYPES) ?? 'Ready';
    if (m.type !== undefined && seen.has(type)) r.error(at(p, 'type'), `duplicate value ${JSON.stringify(type)}`);
    seen.add(type);
    return compact({
      type,
      status: requiredOneOf(r, m.status, at(p, 'status'), STATUSES) ?? 'Unknown',
      reason: r.string(m.reason, at(p, 'reason')),
      message: r.string(m.message, at(p, 'message')),
      lastHeartbeatTime: readTime(r, m.lastHeartbeatTime, at(p, 'lastHeartbeatTime')),
      lastTransitionTime: readTime(r, m.lastTransitionTime, at(p, 'lastTransitionTime')),
    });
  }) ?? [];
}

function readPodStatus(r: FieldReader, v: unknown, path: string): PodStatus {
  const known = ['phase', 'conditions', 'message', 'reason', 'hostIP', 'podIP', 'podIPs', 'startTime', 'initContainerStatuses', 'containerStatuses', 'qosClass'];
  const s = r.object(v, path, known) ?? {};
  const hostIP = r.string(s.hostIP, at(path, 'hostIP')) || undefined;
  checkFormat(r, at(path, 'hostIP'), hostIP, checkIp);
  const podIP = r.string(s.podIP, at(path, 'podIP')) || undefined;
  checkFormat(r, at(path, 'podIP'), podIP, checkIp);
  const ipsPath = at(path, 'podIPs');
  const podIPs = items(r, s.podIPs, ipsPath, ['ip'], (m, p) => {
    const ip = r.requiredString(m.ip, at(p, 'ip')) ?? '';
    checkFormat(r, at(p, 'ip'), ip, checkIp);
    return { ip };
  });
  const condPath = at(path, 'conditions');
  const conditionFields = ['type', 'status', 'reason', 'message', 'lastTransitionTime'];
  const conditions = items(r, s.conditions, condPath, conditionFields, (m, p): PodCondition => compact({
    type: requiredOneOf(r, m.type, at(p, 'type'), POD_CONDITION_TYPES) ?? 'Ready',
    status: requiredOneOf(r, m.status, at(p, 'status'), STATUSES) ?? 'Unknown',
    reason: r.string(m.reason, at(p, 'reason')),
    message: r.string(m.message, at(p, 'message')),
    lastTransitionTime: readTime(r, m.lastTransitionTime, at(p, 'lastTransitionTime')),
  })) ?? [];
  return compact({
    phase: requiredOneOf(r, s.phase, at(path, 'phase'), PHASES) ?? 'Unknown',
    conditions,
    message: r.string(s.message, at(path, 'message')),
    reason: r.string(s.reason, at(path, 'reason')),
    hostIP,
    podIP,
    podIPs,
    startTime: readTime(r, s.startTime, at(path, 'startTime')),
    initContainerStatuses: readContainerStatuses(r, s.initContainerStatuses, at(path, 'initContainerStatuses')),
    containerStatuses: readContainerStatuses(r, s.containerStatuses, at(path, 'containerStatuses')),
    qosClass: r.oneOf(s.qosClass, at(path, 'qosClass'), ['Guaranteed', 'Burstable', 'BestEffort'] as const),
  });
}

function readContainerStatuses(r: FieldReader, v: unknown, path: string): ContainerStatus[] {
  const known = ['name', 'state', 'lastState', 'ready', 'started', 'restartCount', 'image', 'imageID', 'containerID'];
  return items(r, v, path, known, (m, p) => compact({
    name: r.requiredString(m.name, at(p, 'name')) ?? '',
    state: readContainerState(r, m.state, at(p, 'state')),
    lastState: readContainerState(r, m.lastState, at(p, 'lastState')),
    ready: requiredBool(r, m.ready, at(p, 'ready')) ?? false,
    started: r.bool(m.started, at(p, 'started')),
    restartCount: requiredInt(r, m.restartCount, at(p, 'restartCount'), 0, 2147483647) ?? 0,
    image: r.string(m.image, at(p, 'image')) ?? '',
    imageID: r.string(m.imageID, at(p, 'imageID')) ?? '',
    containerID: r.string(m.containerID, at(p, 'containerID')),
  })) ?? [];
}

/** At most one of waiting, running, terminated ({} = no state yet). */
function readContainerState(r: FieldReader, v: unknown, path: string): ContainerState {
  const s = r.object(v, path, ['waiting', 'running', 'terminated']) ?? {};
  const state: ContainerState = {};
  const wPath = at(path, 'waiting');
  const w = r.object(s.waiting, wPath, ['reason', 'message']);
  if (w) state.waiting = compact({ reason: r.string(w.reason, at(wPath, 'reason')) ?? '', message: r.string(w.message, at(wPath, 'message')) });
  const runPath = at(path, 'running');
  const run = r.object(s.running, runPath, ['startedAt']);
  if (run) state.running = { startedAt: readTime(r, run.startedAt, at(runPath, 'startedAt'), true) ?? '' };
  const tPath = at(path, 'terminated');
  const t = r.object(s.terminated, tPath, ['exitCode', 'reason', 'message', 'startedAt', 'finishedAt', 'containerID']);
  if (t) {
    state.terminated = compact({
      exitCode: requiredInt(r, t.exitCode, at(tPath, 'exitCode'), -2147483648, 2147483647) ?? 0,
      reason: r.string(t.reason, at(tPath, 'reason')) ?? '',
      message: r.string(t.message, at(tPath, 'message')),
      startedAt: readTime(r, t.startedAt, at(tPath, 'startedAt')),
      finishedAt: readTime(r, t.finishedAt, at(tPath, 'finishedAt')),
      containerID: r.string(t.containerID, at(tPath, 'containerID')),
    });
  }
  if (Object.keys(state).length > 1) r.error(path, `at most one of waiting, running, terminated may be set, got ${Object.keys(state).join(', ')}`);
  return state;
}

const EVENT_FIELDS = ['type', 'reason', 'message', 'involvedObject', 'firstTimestamp', 'lastTimestamp', 'count', 'source'];

function readEvent(r: FieldReader, m: Record<string, unknown>, path: string): ObjectEvent {
  const objPath = at(path, 'involvedObject');
  const given = required(r, m.involvedObject, objPath, ['kind', 'namespace', 'name', 'uid']);
  const obj = given ?? {};
  const srcPath = at(path, 'source');
  const src = r.object(m.source, srcPath, ['component', 'host']);
  return compact({
    type: requiredOneOf(r, m.type, at(path, 'type'), ['Normal', 'Warning'] as const) ?? 'Normal',
    reason: r.requiredString(m.reason, at(path, 'reason')) ?? '',
    message: r.string(m.message, at(path, 'message')) ?? '',
    involvedObject: compact({
      kind: (given ? r.requiredString(obj.kind, at(objPath, 'kind')) : undefined) ?? '',
      namespace: r.string(obj.namespace, at(objPath, 'namespace')),
      name: (given ? r.requiredString(obj.name, at(objPath, 'name')) : undefined) ?? '',
      uid: r.string(obj.uid, at(objPath, 'uid')),
    }),
    firstTimestamp: readTime(r, m.firstTimestamp, at(path, 'firstTimestamp'), true) ?? '',
    lastTimestamp: readTime(r, m.lastTimestamp, at(path, 'lastTimestamp'), true) ?? '',
    count: requiredInt(r, m.count, at(path, 'count'), 1, 2147483647) ?? 1,
    source: src
      ? compact({ component: r.requiredString(src.component, at(srcPath, 'component')) ?? '', host: r.string(src.host, at(srcPath, 'host')) })
      : undefined,
  });
}
