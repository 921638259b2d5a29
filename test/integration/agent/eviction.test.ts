/**
 * Memory pressure on a joined node (scheduler + runtime + agent): with the hard eviction threshold
 * above what is available (99% of the node), the agent evicts one pod per check, BestEffort first;
 * evicted pods are Failed with reason Evicted, in the API too. A static pod is never evicted (the
 * kubelet counts static pods critical: they would not be admitted again), even BestEffort.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OneNodeCluster } from '../../helpers/one-node-cluster.js';
import { busyboxPod } from '../../helpers/pod-manifest.js';

const cluster = new OneNodeCluster({ name: 'eviction', agentArgs: ['--eviction-hard', 'memory.available<99%'] });
before(() => cluster.start());
after(async () => {
  await cluster.agent?.remove('static.yaml').catch(() => undefined);
  for (const name of ['be', 'burst']) await cluster.api(`/api/v1/namespaces/default/pods/${name}?gracePeriodSeconds=0`, { method: 'DELETE' }).catch(() => undefined);
  await cluster.stop();
});

const pod = (name: string, resources: string) => busyboxPod(name, ['sleep', '3600'], resources);
type Status = { status?: { phase?: string; reason?: string; message?: string } };
const evicted = (p: Status) => p.status?.phase === 'Failed' && p.status.reason === 'Evicted';

test('BestEffort pods are evicted first, then Burstable ones, each Failed with reason Evicted; a static pod stays', async () => {
  const agent = cluster.agent;
  // The static pod comes first and is BestEffort: were static pods evictable, it would go first.
  await agent.apply('static.yaml', pod('static', ''));
  await agent.waitFor('static', (p) => p.status?.phase === 'Running', 60_000);
  // The threshold holds from the agent's start, so a check may run while only the first pod is
  // there: the BestEffort pod goes first so that such a check takes it too (had the Burstable pod
  // come first and been alone, evicting it would be right, and the order below would not hold).
  const applyBe = await cluster.api('/api/v1/apply', { method: 'POST', body: pod('be', '') });
  assert.equal(applyBe.status, 200, JSON.stringify(applyBe.json));
  await agent.waitFor('be', (p) => p.status?.phase === 'Running' || evicted(p), 60_000);
  const applyBurst = await cluster.api('/api/v1/apply', { method: 'POST', body: pod('burst', '    resources:\n      requests: {memory: 16Mi}\n') });
  assert.equal(applyBurst.status, 200, JSON.stringify(applyBurst.json));

  const be = await agent.waitFor('be', evicted, 60_000);
  assert.match(be.status!.message ?? '', /low on resource: memory/);
  const burst = await agent.waitFor('burst', evicted, 60_000);
  assert.equal(burst.status!.reason, 'Evicted');
  await cluster.until('the API shows both pods Evicted', async () => {
    for (const name of ['be', 'burst']) if (!evicted((await cluster.api(`/api/v1/namespaces/default/pods/${name}`)).json)) return false;
    return true;
  }, 30_000);
  const order = (await agent.events()).filter((e) => e.reason === 'Evicted').map((e) => e.involvedObject.name);
  assert.deepEqual(order.slice(0, 2), ['be', 'burst'], 'BestEffort first');
  assert.ok(!order.includes('static'), `the static pod was evicted: ${order.join(', ')}`);

  // More checks run under the same pressure: the static pod, the only one left, keeps running.
  const logged = () => agent.log().then((l) => /cannot evict a critical pod/.test(l));
  await cluster.until('the agent says it cannot evict the static pod', logged, 40_000);
  assert.equal((await agent.pod('static'))?.status?.phase, 'Running');
  assert.match(await agent.metrics(), /corelet_evictions_total 2\b/);
});
