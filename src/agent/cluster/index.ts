/**
 * The agent's scheduler-facing side: the WSS link (pods down, status and events up, the
 * scheduler's logs/exec requests answered from the runtime) and the node's identity (TLS bootstrap
 * and certificate rotation). The rest of the agent sees the scheduler only through these.
 */
export { SchedulerLink, SCHEDULER_SOURCE, type SchedulerLinkOptions } from './scheduler-link.js';
export { CertificateRotator, ensureNodeCredentials, makeNodeCsr, pendingNodeCsr, readTokenFile, requestNodeCertificate, saveNodeCredentials, type NodeCredentials } from './node-identity.js';
export { PodRequests, criContainerLookup, type PodRequestMessage, type RequestPeer } from './pod-requests.js';
export { criStreamUrl, type PodStreamsOptions } from './pod-streams.js';
