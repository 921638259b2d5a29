/**
 * Pod Security for static pods on a real node (corelet runtime, runc): under the default
 * --static-pod-security baseline a hostPath pod is refused before anything of it exists (Failed,
 * reason PodSecurity, the Pod Security Standards' message, a Warning event, no sandbox), while a
 * plain pod runs; an agent started with --static-pod-security privileged runs the same hostPath pod.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { AgentHarness, ready } from '../../helpers/agent-harness.js';
import { BUSYBOX, RuntimeHarness } from '../../helpers/runtime-harness.js';

const hostPathPod = (name: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: [sleep, "3600"]
    volumeMounts: [{ name: etc, mountPath: /host-etc, readOnly: true }]
  volumes:
  - name: etc
    hostPath: { path: /etc }
`;

const plainPod = `apiVersion: v1
kind: Pod
metadata: { name: plain }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: [sleep, "3600"]
`;

let runtime: RuntimeHarness;
const agents: AgentHarness[] = [];

before(async () => {
  runtime = await RuntimeHarness.start();
  await runtime.crictl(['pull', BUSYBOX]);
});

after(async () => {
  for (const agent of agents) {
    for (const f of ['host.yaml', 'plain.yaml', 'allowed.yaml']) await agent.remove(f);
    for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
    await agent.stop();
  }
  await runtime?.stop();
  for (const agent of agents) await agent.removeCgroups();
});

const sandboxesNamed = async (name: string) =>
  (await runtime.crictlJson<{ items: { metadata: { name: string } }[] }>(['pods'])).items.filter((s) => s.metadata.name === name);

test('baseline (the default): a hostPath static pod is refused and never started; a plain pod runs', async () => {
  const agent = await AgentHarness.start(`unix://${runtime.socket}`);
  agents.push(agent);
  await agent.apply('host.yaml', hostPathPod('host'));
  await agent.apply('plain.yaml', plainPod);
  const refused = await agent.waitFor('host', (p) => p.status?.phase === 'Failed');
  assert.equal(refused.status?.reason, 'PodSecurity');
  assert.equal(refused.status?.message, 'pods "host" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "etc")');
  const event = (await agent.events()).find((e) => e.involvedObject.name === 'host' && e.reason === 'PodSecurity');
  assert.equal(event?.message, refused.status?.message);
  await agent.waitFor('plain', ready);
  assert.equal((await sandboxesNamed('host')).length, 0, 'no sandbox was made for the refused pod');
  assert.equal((await sandboxesNamed('plain')).length, 1);
  await agent.remove('host.yaml');
  await agent.remove('plain.yaml');
  for (let i = 0; i < 120 && (await agent.pods()).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await agent.pods(), []);
});

test('--static-pod-security privileged runs the hostPath pod', async () => {
  const agent = await AgentHarness.start(`unix://${runtime.socket}`, ['--static-pod-security', 'privileged']);
  agents.push(agent);
  await agent.apply('allowed.yaml', hostPathPod('allowed'));
  await agent.waitFor('allowed', ready);
  await agent.remove('allowed.yaml');
  for (let i = 0; i < 120 && (await agent.pods()).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await agent.pods(), []);
});
