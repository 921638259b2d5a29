/**
 * kill -9 of a pod's pause process: the runtime reports the sandbox NOTREADY and the agent does
 * what the kubelet does: kills the containers left, makes a new sandbox (attempt + 1) and starts
 * the containers again with their restart count + 1; a restartPolicy Never pod whose container
 * ran stays down (Failed), without a new sandbox.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createCriClient } from '../../../src/cri/index.js';
import { type AgentHarness, ready } from '../../helpers/agent-harness.js';
import { type RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';

let runtime: RuntimeHarness;
let agent: AgentHarness;
const fixture = new StandaloneAgent();
before(async () => {
  await fixture.start();
  ({ runtime, agent } = fixture);
});
after(() => fixture.stop());

const pod = (name: string, policy: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`;

async function sandboxes(uid: string) {
  const cri = createCriClient(`unix://${runtime.socket}`);
  try {
    return (await cri.runtime.ListPodSandbox({ filter: { label_selector: { 'io.kubernetes.pod.uid': uid } } })).items;
  } finally {
    cri.close();
  }
}

async function killPause(sandboxId: string): Promise<void> {
  const pid = (await runtime.crictlJson(['inspectp', sandboxId])).info.pid as number;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
}

test('restartPolicy Always: the pod comes back Running in a new sandbox, its container restarted once', async () => {
  await agent.apply('always.yaml', pod('always', 'Always'));
  const first = await agent.waitFor('always', ready);
  const uid = first.metadata.uid;
  const [old] = await sandboxes(uid);
  assert.equal(old!.state, 'SANDBOX_READY');
  await killPause(old!.id);

  const back = await agent.waitFor('always', (p) => ready(p) && p.status!.containerStatuses[0]!.restartCount >= 1, 60_000);
  assert.equal(back.status!.containerStatuses[0]!.restartCount, 1);
  assert.ok(back.status!.containerStatuses[0]!.state.running);
  const now = await sandboxes(uid);
  assert.equal(now.length, 1, 'the dead sandbox is removed');
  assert.notEqual(now[0]!.id, old!.id);
  assert.equal(now[0]!.state, 'SANDBOX_READY');
  assert.equal(now[0]!.metadata!.attempt, (old!.metadata!.attempt ?? 0) + 1);
  assert.match(back.status!.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  const reasons = (await agent.events()).filter((e) => e.involvedObject.name === 'always').map((e) => e.reason);
  assert.ok(reasons.includes('SandboxChanged'), `events: ${reasons.join(' ')}`);
});

test('restartPolicy Never: the pod ends Failed and no new sandbox is made', async () => {
  await agent.apply('never.yaml', pod('never', 'Never'));
  const first = await agent.waitFor('never', ready);
  const uid = first.metadata.uid;
  const [old] = await sandboxes(uid);
  await killPause(old!.id);
  const done = await agent.waitFor('never', (p) => p.status?.phase === 'Failed', 60_000);
  assert.ok(done.status!.containerStatuses[0]!.state.terminated, JSON.stringify(done.status!.containerStatuses[0]));
  const now = await sandboxes(uid);
  assert.deepEqual(now.map((s) => [s.id, s.state]), [[old!.id, 'SANDBOX_NOTREADY']]);
});
