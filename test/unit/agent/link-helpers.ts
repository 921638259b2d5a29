/** A scheduler link as an agent opens it, for tests against a real scheduler server on 127.0.0.1. */
import type { TestContext } from 'node:test';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import type { NodeCredentials } from '../../../src/agent/cluster/node-identity.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { startSchedulerServer, type SchedulerServerOptions } from '../../../src/scheduler/server/index.js';
import type { ObjectInput } from '../../../src/scheduler/store/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { makeTokens, podYaml } from '../scheduler/server-helpers.js';
import { silentLogger } from '../../../src/lib/index.js';
import { SchedulerLink, type SchedulerLinkOptions } from '../../../src/agent/cluster/scheduler-link.js';

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

/**
 * A scheduler server (closed after the test) over a temporary store holding pod default/POD bound
 * to NODE; options add server settings (e.g. podCidrs). The tokens are the server's.
 */
export async function serverWithBoundPod(t: TestContext, pki: Pki, binding: { pod: string; node: string }, options: Partial<SchedulerServerOptions> = {}) {
  return serverWithBoundPods(t, pki, { pods: [binding.pod], node: binding.node }, options);
}

/** serverWithBoundPod for several pods default/POD, all bound to NODE. */
export async function serverWithBoundPods(t: TestContext, pki: Pki, binding: { pods: string[]; node: string }, options: Partial<SchedulerServerOptions> = {}) {
  const { store } = tempStore(t);
  const tokens = makeTokens();
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: tokens.lookup, ...options });
  t.after(() => server.close());
  for (const pod of binding.pods) {
    for (const obj of decodeObjects(podYaml(pod), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', pod, binding.node);
  }
  return { store, tokens, server };
}

/**
 * What a link hands over: setPods (for linkTo's options) records each list's pod names, sorted,
 * in handed; next() is a promise of the next hand-over (call it before what causes one).
 */
export function handOvers() {
  const handed: string[][] = [];
  let wake: () => void = () => {};
  return {
    handed,
    setPods: (list: Pod[]) => {
      handed.push(list.map((p) => p.metadata.name).sort());
      wake();
    },
    next: () => new Promise<void>((resolve) => (wake = resolve)),
  };
}
