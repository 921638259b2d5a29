/**
 * Memory pressure: with the hard eviction threshold above what is available (99% of the node), the
 * agent evicts one pod per check, BestEffort first; evicted pods are Failed with reason Evicted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { AgentHarness } from '../../helpers/agent-harness.js';

let runtime: RuntimeHarness;
let agent: AgentHarness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pod = (name: string, resources: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
${resources}`;

before(async () => {
  runtime = await RuntimeHarness.start();
  await runtime.crictl(['pull', BUSYBOX]);
  agent = await AgentHarness.start(`unix://${runtime.socket}`, ['--eviction-hard', 'memory.available<99%']);
});
after(async () => {
  if (agent) {
    for (const f of ['be.yaml', 'burst.yaml']) await agent.remove(f);
    for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
    await agent.stop();
  }
  await runtime?.stop();
  await agent?.removeCgroups();
});

test('BestEffort pods are evicted first, then Burstable ones, each Failed with reason Evicted', async () => {
  // The threshold holds from the agent's start, so a check may run while only the first pod is
  // there: the BestEffort pod goes first so that such a check takes it too (had the Burstable pod
  // come first and been alone, evicting it would be right, and the order below would not hold).
  await agent.apply('be.yaml', pod('be', ''));
  await agent.apply('burst.yaml', pod('burst', '    resources:\n      requests: {memory: 16Mi}\n'));
  const evicted = (p: { status?: { phase: string; reason?: string } }) => p.status?.phase === 'Failed' && p.status.reason === 'Evicted';
  // when both run at a check, the ranking must pick the BestEffort pod
  const be = await agent.waitFor('be', evicted, 40_000);
  assert.match(be.status!.message ?? '', /low on resource: memory/);
  const burst = await agent.waitFor('burst', evicted, 40_000);
  assert.equal(burst.status!.reason, 'Evicted');
  const events = (await (await fetch(`${agent.url}/events`)).json()) as { items: { reason: string; involvedObject: { name: string } }[] };
  const order = events.items.filter((e) => e.reason === 'Evicted').map((e) => e.involvedObject.name);
  assert.deepEqual(order.slice(0, 2), ['be', 'burst'], 'BestEffort first');
  assert.match(await agent.metrics(), /corelet_evictions_total [2-9]/);
});
