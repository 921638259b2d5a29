/**
 * Attacks on the node through the pod API, rerun against a real agent and runtime (static pods):
 * each must fail and leave the host as it was.
 * - metadata.uid "../../victim" must not make the agent create or remove anything outside --root;
 * - a subPath that an init container turned into a symbolic link to /etc must not give the main
 *   container the host's /etc (the kubelet's "failed to prepare subPath" error instead), while a
 *   subPath inside the volume still works and its bind mount goes with the pod;
 * - the agent's --root is 0700.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentHarness, ready, type PodView } from '../../helpers/agent-harness.js';
import { BUSYBOX } from '../../helpers/runtime-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';

let agent: AgentHarness;
const fixture = new StandaloneAgent();
before(async () => {
  await fixture.start();
  agent = fixture.agent;
});
after(() => fixture.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mountsUnder = async (dir: string) =>
  (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p === dir || p.startsWith(`${dir}/`));

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}; agent log tail:\n${(await agent.log()).split('\n').slice(-20).join('\n')}`);
}

test('a pod whose metadata.uid is a path creates and removes nothing outside the agent root', async () => {
  // With the old agent, uid ../../victim made ROOT/pods/../../victim = the harness folder's victim/:
  // volumes were made there, and rm -r'd when the pod went (with ../../../.. from the default root: /).
  const victim = join(agent.dir, 'victim');
  await mkdir(victim);
  await writeFile(join(victim, 'canary'), 'still here\n');
  await agent.apply(
    'evil.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: evil, uid: ../../victim}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: ${BUSYBOX}, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /d}]}
  volumes: [{name: d, emptyDir: {}}]
`,
  );
  const outcome = await until('the agent to refuse or run the pod', async () => {
    if (/metadata\.uid: invalid value.*ignoring an invalid pod manifest/.test(await agent.log())) return 'refused';
    return (await agent.pod('evil')) ? 'ran' : undefined;
  });
  assert.deepEqual(await readdir(victim), ['canary'], 'nothing was made outside the root');
  assert.equal(outcome, 'refused');
  await agent.remove('evil.yaml');
  await until('the pod to be gone', async () => ((await agent.pod('evil')) ? undefined : true));
  assert.equal(await readFile(join(victim, 'canary'), 'utf8').catch(() => 'GONE'), 'still here\n', 'the canary outside the root survives');
  assert.deepEqual(await readdir(victim), ['canary']);
  assert.match(await agent.log(), /metadata\.uid: invalid value \\"\.\.\/\.\.\/victim\\"/);
});

test('a subPath made a symbolic link to /etc by an init container fails the container start and leaves the host as it was', async () => {
  await agent.apply(
    'escape.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: link, image: ${BUSYBOX}, command: [ln, -s, /etc, /d/x], volumeMounts: [{name: d, mountPath: /d}]}
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, "cat /host-etc/hostname; ls /host-etc; exec sleep 3600"]
    volumeMounts: [{name: d, mountPath: /host-etc, subPath: x}]
  volumes: [{name: d, emptyDir: {}}]
`,
  );
  const main = (p: PodView) => p.status?.containerStatuses.find((s) => s.name === 'main');
  const pod = await agent.waitFor('escape', (p) => Boolean(main(p)?.state.running || main(p)?.state.waiting?.reason === 'CreateContainerConfigError'), 60_000);
  assert.equal(pod.status!.initContainerStatuses[0]!.state.terminated?.exitCode, 0, 'the link was made');
  const status = main(pod)!;
  assert.equal(status.state.running, undefined, 'the container did not start with the host /etc');
  assert.equal(status.state.waiting.reason, 'CreateContainerConfigError');
  assert.match(status.state.waiting.message, /failed to prepare subPath for volumeMount "d" of container "main": subPath "x" is outside the volume/);
  const events = (await agent.events()).filter((e) => e.involvedObject.name === 'escape' && e.reason === 'Failed');
  assert.ok(events.some((e) => /failed to prepare subPath for volumeMount "d" of container "main"/.test(e.message)), 'a Failed event says why');
  // the host is as it was: no bind mount of /etc anywhere under the agent's root
  const podRoot = join(agent.root, 'pods', pod.metadata.uid);
  assert.deepEqual((await mountsUnder(podRoot)).filter((p) => p.includes('volume-subpaths')), []);
  assert.equal(existsSync(join(podRoot, 'volume-subpaths', 'd', 'main', '0', 'hostname')), false);

  await agent.remove('escape.yaml');
  await until('the pod to be gone', async () => ((await agent.pod('escape')) ? undefined : true));
  assert.equal(existsSync(podRoot), false, "the pod's folder is gone");
  assert.ok(existsSync('/etc/hostname'), 'the host /etc is untouched');
});

test('a subPath inside the volume (through a relative link that stays inside) works; its bind mount goes with the pod', async () => {
  await agent.apply(
    'inside.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: inside}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: prep, image: ${BUSYBOX}, command: [sh, -c, "mkdir -p /d/real && echo from-the-volume > /d/real/f && ln -s real /d/link"], volumeMounts: [{name: d, mountPath: /d}]}
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, "cat /sub/f /made/../sub/f && exec sleep 3600"]
    readinessProbe: {exec: {command: [test, -f, /sub/f]}, periodSeconds: 1}
    volumeMounts: [{name: d, mountPath: /sub, subPath: link}, {name: d, mountPath: /made, subPath: new/dir}]
  volumes: [{name: d, emptyDir: {}}]
`,
  );
  const pod = await agent.waitFor('inside', ready, 60_000);
  const podRoot = join(agent.root, 'pods', pod.metadata.uid);
  const binds = (await mountsUnder(podRoot)).filter((p) => p.includes('volume-subpaths'));
  assert.deepEqual(binds.sort(), [join(podRoot, 'volume-subpaths', 'd', 'main', '0'), join(podRoot, 'volume-subpaths', 'd', 'main', '1')]);
  assert.ok((await stat(join(podRoot, 'volumes', 'd', 'new', 'dir'))).isDirectory(), 'a missing subPath is made inside the volume');
  assert.equal(((await stat(agent.root)).mode & 0o777).toString(8), '700', "the agent's root is private");

  await agent.remove('inside.yaml');
  await until('the pod to be gone', async () => ((await agent.pod('inside')) ? undefined : true));
  assert.deepEqual(await mountsUnder(podRoot), [], 'no mount left');
  assert.equal(existsSync(podRoot), false, "the pod's folder is gone");
});
