/**
 * Disk pressure: with nodefs.available's threshold above what is free (99% of the disk: the disk is
 * never filled), the agent first removes unused images, then evicts one pod per check, the pod
 * using most disk above its ephemeral-storage request first; evicted pods are Failed with reason
 * Evicted and the kubelet's ephemeral-storage message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { AgentHarness } from '../../helpers/agent-harness.js';

let runtime: RuntimeHarness;
let agent: AgentHarness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pod = (name: string, command: string, resources = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", ${JSON.stringify(command)}]
${resources}`;

before(async () => {
  runtime = await RuntimeHarness.start();
  await runtime.crictl(['pull', BUSYBOX]);
  agent = await AgentHarness.start(`unix://${runtime.socket}`, ['--eviction-hard', 'nodefs.available<99%']);
});
after(async () => {
  if (agent) {
    for (const f of ['quiet.yaml', 'writer.yaml', 'two.yaml']) await agent.remove(f);
    for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
    await agent.stop();
  }
  await runtime?.stop();
  await agent?.removeCgroups();
});

test('under nodefs pressure the pod using most disk above its request is evicted first, with the ephemeral-storage message', async () => {
  // The writer logs 8 MB and requested nothing; the quiet pod requested 1Gi and uses next to nothing.
  // The threshold holds from the start, so a check may see the writer alone: it goes first either way.
  await agent.apply('writer.yaml', pod('writer', 'head -c 8000000 /dev/zero | tr "\\0" y | fold -w 1000; sleep 3600'));
  await agent.apply('quiet.yaml', pod('quiet', 'sleep 3600', '    resources:\n      requests: {ephemeral-storage: 1Gi}\n'));
  const evicted = (p: { status?: { phase: string; reason?: string } }) => p.status?.phase === 'Failed' && p.status.reason === 'Evicted';
  const writer = await agent.waitFor('writer', evicted, 90_000);
  assert.match(writer.status!.message ?? '', /^The node was low on resource: ephemeral-storage\. Threshold quantity: \d+, available: /);
  const quiet = await agent.waitFor('quiet', evicted, 60_000);
  assert.equal(quiet.status!.reason, 'Evicted');
  const order = (await agent.events()).filter((e) => e.reason === 'Evicted').map((e) => e.involvedObject.name);
  assert.equal(order[0], 'writer', `the writer first: ${order.join(', ')}`);
});

test('what a pod writes to its own filesystem counts (the writable layer), not only its logs', async () => {
  // Both pods arrive together; 'rootfs' writes 8 MB into its container's filesystem, 'logs' logs 2 MB.
  const two = [
    pod('rootfs', 'head -c 8000000 /dev/zero > /big; sleep 3600'),
    pod('logs', 'head -c 2000000 /dev/zero | tr "\\0" y | fold -w 1000; sleep 3600'),
  ].join('---\n');
  await agent.apply('two.yaml', two);
  const evicted = (p: { status?: { phase: string; reason?: string } }) => p.status?.phase === 'Failed' && p.status.reason === 'Evicted';
  await agent.waitFor('rootfs', evicted, 90_000);
  await agent.waitFor('logs', evicted, 60_000);
  const order = (await agent.events()).filter((e) => e.reason === 'Evicted').map((e) => e.involvedObject.name).filter((n) => n === 'rootfs' || n === 'logs');
  assert.deepEqual(order, ['rootfs', 'logs']);
  await agent.remove('two.yaml');
});
