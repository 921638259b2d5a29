/**
 * Pod Security admission on one machine, as a user sees it through the CLI: a scheduler and a node
 * (agent over corelet runtime). Under `restricted` a privileged pod and a hostPath pod are refused
 * at apply with the Pod Security Standards' message, a pod written for restricted runs (seccomp
 * RuntimeDefault, non-root); under `baseline` (every namespace without a label, default included) a
 * hostPath pod is refused and a plain pod runs; deleting the namespace stops its pods on the node.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BUSYBOX } from '../helpers/runtime-harness.js';
import { OneNodeCluster } from '../helpers/one-node-cluster.js';

const cluster = new OneNodeCluster({ name: 'psa' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const corelet = (args: string[], input?: string) => cluster.cli(args, input);

const pod = (name: string, spec: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 1
${spec}`;

const privileged = pod('priv', `  containers:
  - { name: app, image: ${BUSYBOX}, command: [sleep, "3600"], securityContext: { privileged: true } }
`);
const hostPath = pod('host', `  containers:
  - { name: app, image: ${BUSYBOX}, command: [sleep, "3600"], volumeMounts: [{ name: etc, mountPath: /host-etc }] }
  volumes:
  - { name: etc, hostPath: { path: /etc } }
`);
const plain = pod('plain', `  containers:
  - { name: app, image: ${BUSYBOX}, command: [sleep, "3600"] }
`);
const hardened = pod('hardened', `  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
  containers:
  - name: app
    image: ${BUSYBOX}
    command: [sleep, "3600"]
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
`);

async function waitRunning(ns: string, name: string): Promise<any> {
  let last: any;
  for (let i = 0; i < 240; i++) {
    const r = await corelet(['get', 'pod', name, '-n', ns, '-o', 'json']);
    last = r.exitCode === 0 ? JSON.parse(r.stdout) : undefined;
    if (last?.status?.phase === 'Running') return last;
    await sleep(250);
  }
  throw new Error(`${ns}/${name} never ran: ${JSON.stringify(last?.status)}`);
}

before(() => cluster.start());

after(async () => {
  await corelet(['delete', 'ns', 'locked', '--ignore-not-found']);
  await corelet(['delete', 'pod', 'plain', '--ignore-not-found']);
  await cluster.stop();
});

test('restricted: a privileged and a hostPath pod are refused at apply; a pod written for restricted runs', async () => {
  assert.equal((await corelet(['create', 'namespace', 'locked'])).stdout, 'namespace/locked created');
  assert.equal((await corelet(['label', 'ns', 'locked', 'pod-security.kubernetes.io/enforce=restricted'])).stdout, 'namespace/locked labeled');

  const priv = await corelet(['apply', '-n', 'locked', '-f', '-'], privileged);
  assert.equal(priv.exitCode, 1);
  assert.match(priv.stderr, /pods "priv" is forbidden: violates PodSecurity "restricted:latest": .*privileged \(container "app" must not set securityContext\.privileged=true\)/);
  const host = await corelet(['apply', '-n', 'locked', '-f', '-'], hostPath);
  assert.equal(host.exitCode, 1);
  assert.match(host.stderr, /pods "host" is forbidden: violates PodSecurity "restricted:latest": .*restricted volume types \(volume "etc" uses restricted volume type "hostPath"\)/);

  const ok = await corelet(['apply', '-n', 'locked', '-f', '-'], hardened);
  assert.equal(ok.exitCode, 0, ok.stderr);
  const running = await waitRunning('locked', 'hardened');
  assert.equal(running.spec.nodeName, 'test-node');
});

test('baseline (no label, as default has none): a hostPath pod is refused, a plain pod runs', async () => {
  const described = await corelet(['describe', 'ns', 'default']);
  assert.match(described.stdout, /^Pod Security: +enforce baseline \(no label: the default\)$/m);
  const host = await corelet(['apply', '-f', '-'], hostPath);
  assert.equal(host.exitCode, 1);
  assert.match(host.stderr, /pods "host" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes \(volume "etc"\)$/m);
  const ok = await corelet(['apply', '-f', '-'], plain);
  assert.equal(ok.stdout, 'pod/plain created');
  await waitRunning('default', 'plain');
  assert.deepEqual((await cluster.agent.pods()).map((p) => p.metadata.name).sort(), ['hardened', 'plain']);
});

test('deleting a namespace deletes its pods, and the node stops them', async () => {
  assert.equal((await corelet(['delete', 'namespace', 'locked'])).stdout, 'namespace "locked" deleted');
  let names: string[] = [];
  for (let i = 0; i < 120; i++) {
    names = (await cluster.agent.pods()).map((p) => p.metadata.name);
    if (!names.includes('hardened')) break;
    await sleep(250);
  }
  assert.deepEqual(names, ['plain']);
  assert.equal((await corelet(['get', 'pods', '-n', 'locked'])).stderr, 'No resources found in locked namespace.');
});
