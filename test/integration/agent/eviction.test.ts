/**
 * Memory pressure: with the hard eviction threshold above what is available (99% of the node), the
 * agent evicts one pod per check, BestEffort first; evicted pods are Failed with reason Evicted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentHarness } from '../../helpers/agent-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';
import { busyboxPod } from '../../helpers/pod-manifest.js';

let agent: AgentHarness;
const pod = (name: string, resources: string) => busyboxPod(name, ['sleep', '3600'], resources);

const fixture = new StandaloneAgent(['--eviction-hard', 'memory.available<99%']);
before(async () => {
  await fixture.start();
  agent = fixture.agent;
});
after(() => fixture.stop());

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
