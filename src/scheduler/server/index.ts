/**
 * The scheduler's server side: the HTTPS REST API, the agents' WebSocket sessions, node staleness,
 * and the scheduling loop that binds pods and sends them to their nodes.
 */
export { startSchedulerServer, NODES_PATH, type SchedulerServer, type SchedulerServerOptions } from './server.js';
export {
  NodeSessions,
  markStaleNodes,
  handleRegister,
  NODE_GRACE_MS,
  NODE_STATUS_UNKNOWN,
  type NodeConnection,
} from './node-sessions.js';
export { scheduleOnce, assignBoundPods, SCHEDULER_COMPONENT, type ScheduleOnceResult } from './schedule-once.js';
export { RESOURCES, MAX_BODY_BYTES } from './rest-api.js';
