/**
 * The agent's standalone scenario, run against one CRI runtime: static pods from a manifest folder
 * reach Running and Ready, a crash-looping pod backs off with growing delays, a failing liveness
 * probe restarts its container, removing a file removes its pod and everything it made, and a
 * kill -9 of the agent restarts nothing.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createCriClient } from '../../../src/cri/index.js';
import { AgentHarness, ready, type PodView } from '../../helpers/agent-harness.js';
import { BUSYBOX, cgroupExists } from '../../helpers/runtime-harness.js';

const pod = (name: string, spec: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  terminationGracePeriodSeconds: 2
${spec}`;

/** A CRI runtime for the suite: start() returns its endpoint. */
export interface SuiteRuntime {
  start(): Promise<string>;
  stop(): Promise<void>;
}

export function standaloneSuite(runtimeName: string, runtime: SuiteRuntime): void {
  let agent: AgentHarness;
  let ep = '';
  const endpoint = () => ep;
  before(async () => {
    ep = await runtime.start();
    agent = await AgentHarness.start(ep);
  });
  after(async () => {
    if (agent) {
      for (const f of ['two.yaml', 'init.yaml', 'crash.yaml', 'live.yaml']) await agent.remove(f);
      for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
      await agent.stop();
    }
    await runtime.stop();
    await agent?.removeCgroups();
  });

  const sandboxesOf = async (uid: string) => {
    const cri = createCriClient(endpoint());
    try {
      return (await cri.runtime.ListPodSandbox({ filter: { label_selector: { 'io.kubernetes.pod.uid': uid } } })).items;
    } finally {
      cri.close();
    }
  };

  test(`[${runtimeName}] static pods: two containers and an init container reach Running and Ready`, async () => {
    await agent.apply(
      'two.yaml',
      pod('two', `  containers:
  - name: web
    image: ${BUSYBOX}
    command: ["sh", "-c", "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
  - name: side
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 200m, memory: 64Mi}
`),
    );
    await agent.apply(
      'init.yaml',
      pod('withinit', `  initContainers:
  - name: prep
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo prepared > /data/marker"]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: ${BUSYBOX}
    command: ["sh", "-c", "cat /data/marker && exec sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    emptyDir: {}
`),
    );
    const two = await agent.waitFor('two', ready);
    assert.equal(two.status!.containerStatuses.length, 2);
    assert.ok(two.status!.containerStatuses.every((s) => s.ready && s.state.running));
    assert.match(two.status!.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(two.status!.qosClass, 'Burstable');
    const init = await agent.waitFor('withinit', ready);
    assert.equal(init.status!.initContainerStatuses[0]!.state.terminated?.exitCode, 0);
    assert.ok(init.status!.conditions.some((c) => c.type === 'Initialized' && c.status === 'True'));
  });

  test(`[${runtimeName}] a crash-looping pod shows CrashLoopBackOff with growing delays`, async () => {
    await agent.apply('crash.yaml', pod('crasher', `  containers:
  - name: boom
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo dying; exit 1"]
`));
    const backoff = (p: PodView) => p.status?.containerStatuses[0]?.state.waiting?.reason === 'CrashLoopBackOff';
    const first = await agent.waitFor('crasher', backoff, 30_000);
    assert.match(first.status!.containerStatuses[0]!.state.waiting.message, /back-off 10s/);
    assert.equal(first.status!.containerStatuses[0]!.lastState.terminated?.exitCode, 1);
    const second = await agent.waitFor('crasher', (p) => backoff(p) && /back-off 20s/.test(p.status!.containerStatuses[0]!.state.waiting.message), 40_000);
    // back-off 20s follows the second failure, i.e. one restart
    assert.ok(second.status!.containerStatuses[0]!.restartCount >= 1, 'restarted after the first back-off');
    assert.equal(second.status!.phase, 'Running', 'a restarting pod is Running, as with the kubelet');
    const reasons = (await agent.events()).filter((e) => e.involvedObject.name === 'crasher').map((e) => e.reason);
    for (const r of ['Created', 'Started', 'BackOff']) assert.ok(reasons.includes(r), `event ${r} among ${reasons.join(' ')}`);
  });

  test(`[${runtimeName}] a failing liveness probe restarts the container`, async () => {
    await agent.apply('live.yaml', pod('live', `  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sh", "-c", "touch /tmp/healthy; sleep 4; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 2
`));
    await agent.waitFor('live', ready);
    const restarted = await agent.waitFor('live', (p) => p.status!.containerStatuses[0]!.restartCount >= 1, 40_000);
    assert.ok(restarted.status!.containerStatuses[0]!.restartCount >= 1);
    const reasons = (await agent.events()).filter((e) => e.involvedObject.name === 'live').map((e) => e.reason);
    for (const r of ['Unhealthy', 'Killing']) assert.ok(reasons.includes(r), `event ${r} among ${reasons.join(' ')}`);
  });

  test(`[${runtimeName}] kill -9 of the agent: same pods, nothing restarts`, async () => {
    const before = await agent.pods();
    const ids = (pods: PodView[], name: string) => pods.find((p) => p.metadata.name === name)!.status!.containerStatuses.map((s) => s.containerID);
    await agent.kill9();
    await agent.startDaemon();
    const two = await agent.waitFor('two', ready);
    assert.deepEqual(two.status!.containerStatuses.map((s) => s.containerID), ids(before, 'two'));
    assert.deepEqual(two.status!.containerStatuses.map((s) => s.restartCount), [0, 0]);
    const init = await agent.waitFor('withinit', ready);
    assert.deepEqual(init.status!.containerStatuses.map((s) => s.containerID), ids(before, 'withinit'));
  });

  test(`[${runtimeName}] removing a manifest removes its pod and everything it made`, async () => {
    const two = (await agent.pod('two'))!;
    const uid = two.metadata.uid;
    assert.equal((await sandboxesOf(uid)).length, 1);
    await agent.remove('two.yaml');
    for (let i = 0; i < 120 && (await agent.pod('two')); i++) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await agent.pod('two'), undefined, 'pod gone from the agent');
    assert.deepEqual(await sandboxesOf(uid), [], 'no sandbox left in the runtime');
    assert.equal(await cgroupExists(`/${agent.qosTop}/burstable/pod${uid}`), false, 'pod cgroup removed');
  });
}
