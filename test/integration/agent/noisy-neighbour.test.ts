/**
 * Noisy neighbours, as a user sees them: a Guaranteed pod keeps its CPU next to a BestEffort hog, a
 * CPU limit holds, a memory hog is OOM-killed without touching its neighbours, admission refuses
 * what does not fit, and memory pressure evicts BestEffort pods first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { type AgentHarness, ready, type PodView } from '../../helpers/agent-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';

let runtime: RuntimeHarness;
let agent: AgentHarness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fixture = new StandaloneAgent();
before(async () => {
  await fixture.start();
  ({ runtime, agent } = fixture);
});
after(() => fixture.stop());

async function apply(name: string, containers: string): Promise<void> {
  await agent.apply(
    `${name}.yaml`,
    `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
${containers}`,
  );
}

const burn = (name: string, resources = '') => `  - name: ${name}
    image: ${BUSYBOX}
    command: ["sh", "-c", "while :; do :; done"]
${resources}`;

/** CPU cores a pod used over ms, from its pod cgroup (cpuacct.usage is cumulative nanoseconds). */
async function coresUsed(p: PodView, qos: string, ms: number): Promise<number> {
  const dir = `/sys/fs/cgroup/cpuacct/${agent.qosTop}${qos ? `/${qos}` : ''}/pod${p.metadata.uid}`;
  const read = async () => Number((await readFile(`${dir}/cpuacct.usage`, 'utf8')).trim());
  const u0 = await read();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  return ((await read()) - u0) / Number(process.hrtime.bigint() - t0);
}

test('a Guaranteed 500m pod keeps its share next to a BestEffort CPU hog; a 500m limit holds', async () => {
  await apply('hog', [burn('a'), burn('b')].join(''));
  await apply('guaranteed', burn('work', '    resources:\n      requests: {cpu: 500m, memory: 32Mi}\n      limits: {cpu: 500m, memory: 32Mi}\n'));
  await apply('limited', burn('work', '    resources:\n      limits: {cpu: 500m}\n      requests: {cpu: 100m}\n'));
  const hog = await agent.waitFor('hog', ready);
  const guaranteed = await agent.waitFor('guaranteed', ready);
  const limited = await agent.waitFor('limited', ready);
  assert.equal(hog.status!.qosClass, 'BestEffort');
  assert.equal(guaranteed.status!.qosClass, 'Guaranteed');
  assert.equal(limited.status!.qosClass, 'Burstable');
  await sleep(500);
  const [g, l, h] = await Promise.all([coresUsed(guaranteed, '', 3000), coresUsed(limited, 'burstable', 3000), coresUsed(hog, 'besteffort', 3000)]);
  assert.ok(g >= 0.4, `the Guaranteed pod got ${g.toFixed(2)} cores of its 0.5 next to the hog (hog ${h.toFixed(2)})`);
  assert.ok(g <= 0.6, `and no more than its limit (${g.toFixed(2)})`);
  assert.ok(l <= 0.6, `the 500m-limited pod stayed near half a core (${l.toFixed(2)})`);
  for (const name of ['hog', 'limited']) {
    await agent.remove(`${name}.yaml`);
  }
});

test('a memory hog over its limit is OOM-killed and its neighbour is untouched', async () => {
  await apply('memhog', `  - name: eat
    image: ${BUSYBOX}
    command: ["tail", "/dev/zero"]
    resources:
      limits: {memory: 64Mi}
`);
  const oom = await agent.waitFor('memhog', (p) => {
    const s = p.status?.containerStatuses[0];
    return (s?.state.terminated?.reason ?? s?.lastState.terminated?.reason) === 'OOMKilled';
  });
  const s = oom.status!.containerStatuses[0]!;
  assert.equal((s.state.terminated ?? s.lastState.terminated).exitCode, 137);
  const neighbour = (await agent.pod('guaranteed'))!;
  assert.ok(ready(neighbour));
  assert.equal(neighbour.status!.containerStatuses[0]!.restartCount, 0, 'the neighbour never restarted');
  const events = (await (await fetch(`${agent.url}/events`)).json()) as { items: { reason: string; involvedObject: { name: string } }[] };
  assert.ok(events.items.some((e) => e.reason === 'OOMKilled' && e.involvedObject.name === 'memhog'), 'an OOMKilled event');
});

test('admission refuses a pod whose requests do not fit, with the reason in its status', async () => {
  await apply('toobig', `  - name: big
    image: ${BUSYBOX}
    command: ["sleep", "60"]
    resources:
      requests: {cpu: "64"}
`);
  const p = await agent.waitFor('toobig', (p) => p.status?.phase === 'Failed');
  assert.equal(p.status!.reason, 'OutOfcpu');
  assert.match(p.status!.message ?? '', /cpu/);
  const metrics = await agent.metrics();
  assert.match(metrics, /corelet_pods\{phase="Failed"\} [1-9]/);
});

test('an emptyDir of medium Memory is a tmpfs of its sizeLimit, gone with the pod', async () => {
  await agent.apply(
    'mem.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: mem}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - name: scratch
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
`,
  );
  const p = await agent.waitFor('mem', ready);
  const id = p.status!.containerStatuses[0]!.containerID!.replace('cri://', '');
  const df = (await runtime.crictl(['exec', '-s', id, 'df', '-k', '/scratch'])).stdout;
  assert.match(df, /^\S+\s+16384\s.*\/scratch$/m, '16 MiB');
  const inside = (await runtime.crictl(['exec', '-s', id, 'cat', '/proc/mounts'])).stdout;
  assert.match(inside, /^\S+ \/scratch tmpfs /m, 'a tmpfs');
  await agent.remove('mem.yaml');
  for (let i = 0; i < 80 && (await agent.pod('mem')); i++) await sleep(250);
  const hostMounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.ok(!hostMounts.includes(p.metadata.uid), 'the tmpfs is unmounted with the pod');
});
