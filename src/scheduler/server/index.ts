/**
 * The scheduler's server side: the HTTPS REST API, the agents' WebSocket sessions, node staleness,
 * and the scheduling loop that binds pods and sends them to their nodes.
 */
export { startSchedulerServer, NODES_PATH, type SchedulerServer, type SchedulerServerOptions } from './server.js';
export {
  NodeSessions,
  markStaleNodes,
  podIpProblem,
  handleRegister,
  NODE_GRACE_MS,
  type NodeConnection,
  type NodeReply,
  type NodeSessionListener,
} from './node-sessions.js';
export { scheduleOnce, assignBoundPods, assignPreboundPod, sendTermination, SchedulingCache, SCHEDULER_COMPONENT, type ScheduleOnceResult } from './schedule-once.js';
export { RESOURCES, MAX_BODY_BYTES } from './rest-api.js';
export {
  SessionPodProxy,
  resolveContainer,
  DEFAULT_EXEC_TIMEOUT_SECONDS,
  DEFAULT_CONTAINER_ANNOTATION,
  type PodProxy,
  type PodLogOptions,
  type PodExecOptions,
  type PodExecResult,
  type ProxySessions,
  type SessionPodProxyOptions,
} from './pod-proxy.js';
export {
  podCidrConfig,
  podCidrProblem,
  podCidrCapacity,
  allocatePodCidr,
  peerOf,
  PeerTable,
  DEFAULT_CLUSTER_CIDR,
  DEFAULT_NODE_CIDR_MASK_SIZE,
  type PodCidrConfig,
} from './pod-cidr.js';
export { ServiceFeed, servicesMessages, serviceOnWire, sliceOnWire, wireProblems, SERVICE_FEED_COALESCE_MS } from './service-feed.js';
