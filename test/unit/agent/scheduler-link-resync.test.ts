/**
 * A reconnecting agent's desired pods are what the scheduler re-sends after `registered`, nothing
 * more: a pod removed while the link was down (a finished Job pod removed at once, its unassign
 * never delivered) leaves the node. Found by the soak: such a pod's worker lived on, and its log
 * folder and pod cgroup were never removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { SchedulerLink } from '../../../src/agent/scheduler-link.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { deletePod } from '../../../src/scheduler/controllers/index.js';
import type { ObjectInput } from '../../../src/scheduler/store/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { bootstrapNode, makePki, makeTokens, podYaml } from '../scheduler/server-helpers.js';
import { linkTo } from './link-helpers.js';

test('after a reconnect, a pod removed while the agent was away is no longer handed over', async (t) => {
  const pki = await makePki();
  const { store } = tempStore(t);
  const tokens = makeTokens();
  let server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: tokens.lookup });
  t.after(() => server.close());
  for (const name of ['web', 'batch']) {
    for (const obj of decodeObjects(podYaml(name), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', name, 'node-a');
  }
  const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a', { ips: ['192.168.56.11'] });
  const handed: string[][] = [];
  let wake: () => void = () => {};
  const handedOver = () => new Promise<void>((resolve) => (wake = resolve));
  const link = new SchedulerLink({
    server: `wss://127.0.0.1:${server.port}`,
    credentials: () => creds,
    nodeName: 'node-a',
    hostIP: '192.168.56.11',
    capacity: { cpuMillis: 4000, memoryBytes: 8 << 30, pods: 110 },
    allocatable: { cpuMillis: 4000, memoryBytes: 8 << 30, pods: 110 },
    runtime: { name: 'corelet', version: '0.1.0' },
    runningPods: () => [],
    setPods: (list: Pod[]) => {
      handed.push(list.map((p) => p.metadata.name).sort());
      wake();
    },
    events: () => [],
    logger: silentLogger,
  });
  t.after(() => link.close());
  let next = handedOver();
  await link.start();
  await next;
  assert.deepEqual(handed.at(-1), ['batch', 'web']);

  // The scheduler goes away; meanwhile `batch` is removed at once (grace 0) and nobody can tell the node.
  const port = server.port;
  await server.close();
  assert.equal(deletePod(store, 'default', 'batch', new Date(), 0)?.removed, true);
  next = handedOver();
  server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port, tokenLookup: tokens.lookup });
  await next;
  assert.deepEqual(handed.at(-1), ['web'], 'the desired set is what the scheduler re-sent after the reconnect');
});

test('a finished pod survives a reconnect: the scheduler does not re-send it, but its assignDone still names it', async (t) => {
  const pki = await makePki();
  const { store } = tempStore(t);
  const tokens = makeTokens();
  let server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: tokens.lookup });
  t.after(() => server.close());
  for (const name of ['web', 'job']) {
    for (const obj of decodeObjects(podYaml(name), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', name, 'node-a');
  }
  const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a', { ips: ['192.168.56.11'] });
  const handed: string[][] = [];
  let wake: () => void = () => {};
  const handedOver = () => new Promise<void>((resolve) => (wake = resolve));
  const link = linkTo(server, creds, { name: 'node-a', ip: '192.168.56.11' }, {
    setPods: (list: Pod[]) => {
      handed.push(list.map((p) => p.metadata.name).sort());
      wake();
    },
  });
  t.after(() => link.close());
  let next = handedOver();
  await link.start();
  await next;
  assert.deepEqual(handed.at(-1), ['job', 'web']);

  // The job pod ran to completion (its status reported); then the scheduler restarts.
  store.mutate<Pod>('Pod', 'default', 'job', (p) => {
    p.status = { ...(p.status ?? {}), phase: 'Succeeded' } as Pod['status'];
  });
  const port = server.port;
  await server.close();
  next = handedOver();
  server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port, tokenLookup: tokens.lookup });
  await next;
  // Its worker (sandbox, containers, logs: what `corelet logs` reads) stays until the object is deleted.
  assert.deepEqual(handed.at(-1), ['job', 'web']);
  assert.ok(handed.every((l) => l.includes('job')), `the finished pod was dropped: ${JSON.stringify(handed)}`);
});
