/**
 * Disk pressure: with nodefs.available's threshold above what is free (99% of the disk: the disk is
 * never filled), the agent reclaims (dead containers, unused images) and looks for a pod to evict;
 * static pods are critical, as for the kubelet, so none of this standalone agent's pods goes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentHarness } from '../../helpers/agent-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';
import { busyboxPod } from '../../helpers/pod-manifest.js';

let agent: AgentHarness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pod = (name: string, command: string, resources = '') => busyboxPod(name, ['sh', '-c', command], resources);

const fixture = new StandaloneAgent(['--eviction-hard', 'nodefs.available<99%']);
before(async () => {
  await fixture.start();
  agent = fixture.agent;
});
after(() => fixture.stop());

test('under nodefs pressure static pods are critical: the agent reclaims, never evicts them, and they keep running', async () => {
  // As the kubelet (IsCriticalPod): a static pod is never evicted for node pressure. The ranking and
  // the eviction of non-static pods, and their cleanup, are unit-tested (test/unit/agent/disk-eviction,
  // pod-eviction-cleanup, disk-dead-containers).
  await agent.apply('writer.yaml', pod('writer', 'head -c 8000000 /dev/zero | tr "\\0" y | fold -w 1000; sleep 3600'));
  await agent.apply('quiet.yaml', pod('quiet', 'sleep 3600', '    resources:\n      requests: {ephemeral-storage: 1Gi}\n'));
  const running = (p: { status?: { phase: string } }) => p.status?.phase === 'Running';
  await agent.waitFor('writer', running, 60_000);
  await agent.waitFor('quiet', running, 60_000);
  // Two eviction rounds that saw both pods and refused them.
  for (let i = 0; i < 600 && ((await agent.log()).match(/cannot evict a critical pod/g) ?? []).length < 4; i++) await sleep(250);
  assert.ok(((await agent.log()).match(/cannot evict a critical pod/g) ?? []).length >= 4, 'the agent looked at both pods under pressure');
  for (const name of ['writer', 'quiet']) assert.equal((await agent.pod(name))?.status?.phase, 'Running', `${name} keeps running`);
  assert.deepEqual((await agent.events()).filter((e) => e.reason === 'Evicted'), []);
});
