/**
 * A reconnecting agent's desired pods are what the scheduler re-sends after `registered`, nothing
 * more: a pod removed while the link was down (a finished Job pod removed at once, its unassign
 * never delivered) leaves the node. Found by the soak: such a pod's worker lived on, and its log
 * folder and pod cgroup were never removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { deletePod } from '../../../src/scheduler/controllers/index.js';
import { bootstrapNode, makePki } from '../scheduler/server-helpers.js';
import { handOvers, linkTo, serverWithBoundPods } from './link-helpers.js';

const NODE = { name: 'node-a', ip: '192.168.56.11' };

/** A started link of node-a (bootstrapped) to a server holding PODS bound to it, after its first hand-over. */
async function linkedNode(t: import('node:test').TestContext, pods: string[]) {
  const pki = await makePki();
  const { store, tokens, server } = await serverWithBoundPods(t, pki, { pods, node: NODE.name });
  const creds = await bootstrapNode(server, pki, tokens.bootstrap, NODE.name, { ips: [NODE.ip] });
  const pods$ = handOvers();
  const link = linkTo(server, creds, NODE, { setPods: pods$.setPods });
  t.after(() => link.close());
  const first = pods$.next();
  await link.start();
  await first;
  /** Closes the server, runs meanwhile, and restarts it on the same port over the same store; resolves at the next hand-over. */
  const restartServer = async (meanwhile: () => void) => {
    const port = server.port;
    await server.close();
    meanwhile();
    const next = pods$.next();
    const again = await startSchedulerServer({ store, pki, address: '127.0.0.1', port, tokenLookup: tokens.lookup });
    t.after(() => again.close());
    await next;
  };
  return { store, handed: pods$.handed, restartServer };
}

test('after a reconnect, a pod removed while the agent was away is no longer handed over', async (t) => {
  const { store, handed, restartServer } = await linkedNode(t, ['web', 'batch']);
  assert.deepEqual(handed.at(-1), ['batch', 'web']);

  // The scheduler goes away; meanwhile `batch` is removed at once (grace 0) and nobody can tell the node.
  await restartServer(() => assert.equal(deletePod(store, 'default', 'batch', new Date(), 0)?.removed, true));
  assert.deepEqual(handed.at(-1), ['web'], 'the desired set is what the scheduler re-sent after the reconnect');
});

test('a finished pod survives a reconnect: the scheduler does not re-send it, but its assignDone still names it', async (t) => {
  const { store, handed, restartServer } = await linkedNode(t, ['web', 'job']);
  assert.deepEqual(handed.at(-1), ['job', 'web']);

  // The job pod ran to completion (its status reported); then the scheduler restarts.
  store.mutate<Pod>('Pod', 'default', 'job', (p) => {
    p.status = { ...(p.status ?? {}), phase: 'Succeeded' } as Pod['status'];
  });
  await restartServer(() => {});
  // Its worker (sandbox, containers, logs: what `corelet logs` reads) stays until the object is deleted.
  assert.deepEqual(handed.at(-1), ['job', 'web']);
  assert.ok(handed.every((l) => l.includes('job')), `the finished pod was dropped: ${JSON.stringify(handed)}`);
});
