/** A scheduler link as an agent opens it, for tests against a real scheduler server on 127.0.0.1. */
import type { NodeCredentials } from '../../../src/agent/node-identity.js';
import { silentLogger } from '../../../src/lib/index.js';
import { SchedulerLink, type SchedulerLinkOptions } from '../../../src/agent/scheduler-link.js';

const CAPACITY = { cpuMillis: 4000, memoryBytes: 8 << 30, pods: 110 };

/**
 * A SchedulerLink (not started) to the server as node.name reporting node.ip, with the node's
 * credentials: 4 CPUs, 8 GiB, 110 pods, no running pods or events, a silent logger; options
 * add the callbacks the test watches (setPods, onTerminate, onPodCidr, ...).
 */
export function linkTo(server: { port: number }, creds: NodeCredentials, node: { name: string; ip: string }, options: Partial<SchedulerLinkOptions>): SchedulerLink {
  return new SchedulerLink({
    server: `wss://127.0.0.1:${server.port}`,
    credentials: () => creds,
    nodeName: node.name,
    hostIP: node.ip,
    capacity: CAPACITY,
    allocatable: CAPACITY,
    runtime: { name: 'corelet', version: '0.1.0' },
    runningPods: () => [],
    setPods: () => {},
    events: () => [],
    logger: silentLogger,
    ...options,
  });
}
