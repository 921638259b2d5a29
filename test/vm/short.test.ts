/**
 * test/vm's short form (`npm run test:vm`, as root): ONE Debian 12 VM of the lab
 * (native-scripts/vm/lab.sh; cgroup v2, systemd PID 1), where the runtime and the agent run under the
 * systemd cgroup driver (the default there). On it: the crictl scenario with runc and with crun
 * (limits, exec, logs, update, an OOM kill, no pod slice or scope left, a cgroupfs parent refused),
 * and a standalone agent (driver taken from the runtime): static pods as the kubelet's slices under
 * kubepods.slice (systemd-cgls), QoS limits on the pod slices, tiers and container scopes, the
 * noisy-neighbour checks of test/integration/agent/noisy-neighbour.test.ts, nothing left once every
 * pod is gone. One boot, two runtime starts, one agent start.
 *
 * Node starts 20-30 times slower in the VM (TCG), so the VM side is test/vm/inside.py: it starts the
 * daemons and does what a user does, and prints what it saw (VMFACTS); the assertions are here. The
 * busybox image is imported on the host into an image store (corelet images import --root) that goes
 * into the VM on the /opt/corelet disk: the VM has no registry.
 * The long form (CORELET_VM_LONG=1): see test/vm/long.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, copyFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, CORELET, BUSYBOX } from '../helpers/runtime-harness.js';

const LAB = join(REPO, 'native-scripts', 'vm', 'lab.sh');
const MI = 1024 * 1024;
let extra = '';
const started = Date.now();

type Facts = Record<string, any>;

async function lab(args: string[]) {
  return execa(LAB, args, { reject: false, all: true, env: { VML_EXTRA_DIR: extra } });
}

/** Runs inside.py VERB ARGS on vml1 and returns its facts (an `error` fact says where it stopped). */
async function inside(verb: string, ...args: string[]): Promise<Facts> {
  const r = await lab(['run', 'vml1', 'python3', '/opt/corelet/extra/inside.py', verb, ...args]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('VMFACTS '));
  if (!line) {
    // ssh itself failed (exit 255): say whether the VM is still there and what its console said last
    const status = (await lab(['status'])).all ?? '';
    const console = ((await lab(['console', 'vml1'])).stdout ?? '').split('\n').slice(-40).join('\n');
    // and the host's load: TCG guests stall when the host's cores are busy elsewhere
    const host = (await execa('sh', ['-c', 'cat /proc/loadavg; ps -eo pcpu,rss,etimes,args --sort=-pcpu | head -8'], { reject: false })).stdout;
    assert.fail(`inside.py ${verb} printed no facts (exit ${r.exitCode}):\n${r.all}\nlab.sh status: ${status}\n` +
      `host:\n${host}\nconsole (last 40 lines):\n${console}`);
  }
  const facts = JSON.parse(line.slice('VMFACTS '.length)) as Facts;
  console.log(`# vm ${verb} ${args.join(' ')}: ${JSON.stringify(facts)}`);
  return facts;
}

/** The log of a daemon in the VM, for a failure message. */
async function vmLog(path: string): Promise<string> {
  return (await lab(['run', 'vml1', `tail -n 30 ${path}`])).all ?? '';
}

before(async () => {
  extra = await mkdtemp(join(tmpdir(), 'vml-extra-'));
  // busybox from the local registry into an image store, as the runtime keeps it
  const archive = join(extra, 'busybox.tar');
  await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${BUSYBOX}`, `oci-archive:${archive}:${BUSYBOX}`]);
  await execa(process.execPath, [CORELET, 'images', 'import', archive, '--root', join(extra, 'store'), '--socket', join(extra, 'none.sock')]);
  await unlink(archive);
  await rm(join(extra, 'store', 'lock.pid'), { force: true });
  await copyFile(join(REPO, 'test', 'vm', 'inside.py'), join(extra, 'inside.py'));
  const up = await lab(['up', '1']);
  assert.equal(up.exitCode, 0, `lab.sh up 1:\n${up.all}`);
  console.log(`# vm up after ${((Date.now() - started) / 1000).toFixed(0)} s:\n${up.stderr}`);
});

after(async () => {
  const down = await lab(['down']);
  await rm(extra, { recursive: true, force: true });
  console.log(`# vm short form: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  assert.equal(down.exitCode, 0, `lab.sh down:\n${down.all}`);
});

test('the VM is cgroup v2 with systemd as PID 1', async () => {
  const r = await lab(['run', 'vml1', 'stat -fc %T /sys/fs/cgroup; cat /proc/1/comm']);
  assert.equal(r.stdout, 'cgroup2fs\nsystemd');
});

test('both runtimes start on the host-prepared image store, with the systemd cgroup driver', async () => {
  const f = await inside('start', 'runc', 'crun');
  assert.equal(f.error, undefined, `${f.error}\n${await vmLog('/var/lib/vml-runc/runtime.log')}\n${await vmLog('/var/lib/vml-crun/runtime.log')}`);
  assert.equal(f['runc.info.cgroupDriver'], 'systemd', 'crictl info says the driver');
  assert.equal(f['crun.info.cgroupDriver'], 'systemd', 'crictl info says the driver');
});

// both scenarios run at once in the VM (each mostly waits on its own runtime process), and the agent
// starts over runc's runtime once runc's scenario is done: one ssh, one set of facts for the tests below
let crictlFacts: Promise<Facts> | undefined;
const scenarios = () => (crictlFacts ??= inside('crictl', 'runc', 'crun', 'agent=runc'));
for (const runtime of ['runc', 'crun']) {
  test(`the crictl scenario with ${runtime}: a pod slice and scopes, limits, exec, logs, update, OOMKilled, nothing left`, async () => {
    const f = await scenarios();
    const p = (k: string) => f[`${runtime}.${k}`];
    assert.equal(f.error, undefined, f.error);
    assert.equal(p('error'), undefined, `${p('error')}\n${await vmLog(`/var/lib/vml-${runtime}/runtime.log`)}`);
    assert.equal(p('imageListed'), true, 'busybox is in the store');
    // a cgroupfs parent is refused, naming the field
    assert.notEqual(p('cgroupfsParent').exitCode, 0);
    assert.match(p('cgroupfsParent').stderr, /config\.linux\.cgroup_parent \\?"\/kubepods\/burstable\/podx\\?" is not a systemd slice/);
    assert.equal(p('podState'), 'SANDBOX_READY');
    assert.equal(p('ctrState'), 'CONTAINER_RUNNING');
    // a pod without a parent: a slice of the runtime's; the pause and the container are scopes in it
    assert.equal(p('cgroupsPath'), '/corelet.slice/corelet-pod<pod>.slice/corelet-<id>.scope');
    assert.deepEqual([...p('units')].sort(), ['corelet-<id>.scope', 'corelet-<pod>.scope', 'corelet-pod<pod>.slice']);
    // the container's limits: on its scope (runc) or the scope's child "container" (crun)
    assert.deepEqual(p('limits'), { 'memory.max': String(128 * MI), 'cpu.max': '50000 100000' });
    assert.match(p('exec'), /^out\n\nerr\n/);
    assert.equal(p('execHostname'), 'limits');
    assert.deepEqual(p('logs'), ['hello-from-vm']);
    // crictl update (crun too: the resources go to crun as a file, issue 13 point 4)
    assert.equal(p('update').exitCode, 0, p('update').stderr);
    assert.deepEqual(p('update').limits, { 'memory.max': String(96 * MI), 'cpu.max': '20000 100000' }, `the scope: ${JSON.stringify(p('update').scopeLimits)}`);
    assert.equal(p('hog').reason, 'OOMKilled');
    assert.equal(p('hog').exitCode, 137);
    const oomKills = p('hog.memory.events.oom_kill');
    assert.ok(oomKills === 'cgroup gone' || oomKills >= 1, `memory.events counts the kill (${oomKills})`);
    assert.equal(p('stopped'), 'CONTAINER_EXITED');
    assert.equal(p('podsLeft'), 0);
    assert.deepEqual(p('unitsLeft'), [], 'the pod\'s slice and scopes are gone with it');
    assert.equal(p('podCgroupLeft'), false, 'no pod or container cgroup left');
  });
}

test('the agent under the systemd driver: kubelet-named slices, QoS limits, a Guaranteed pod keeps its CPU, a memory hog is OOM-killed alone, nothing left', async () => {
  const f = await scenarios();
  assert.equal(f.error, undefined, f.error);
  assert.equal(f['runc.error'], undefined, `the agent runs after runc's crictl scenario: ${f['runc.error']}`);
  assert.equal(f['agent.error'], undefined, `${f['agent.error']}\n${await vmLog('/var/lib/vml-agent/agent.log')}`);
  assert.deepEqual(f['agent.driverLog'], ['systemd/runtime'], 'the agent took the runtime\'s driver');
  assert.deepEqual(f['agent.qos'], { hog: 'BestEffort', guaranteed: 'Guaranteed', limited: 'Burstable' });
  const uid = (n: string) => (f['agent.uids'][n] as string).replace(/-/g, '_');
  assert.deepEqual(f['agent.slicePaths'], {
    guaranteed: `/kubepods.slice/kubepods-pod${uid('guaranteed')}.slice`,
    limited: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid('limited')}.slice`,
    hog: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid('hog')}.slice`,
  });
  const cgls = (f['agent.systemd-cgls'] as string[]).join('\n');
  for (const name of ['kubepods.slice', 'kubepods-burstable.slice', 'kubepods-besteffort.slice', `kubepods-pod${uid('guaranteed')}.slice`, `kubepods-burstable-pod${uid('limited')}.slice`, `kubepods-besteffort-pod${uid('hog')}.slice`]) {
    assert.ok(cgls.includes(name), `systemd-cgls shows ${name}:\n${cgls}`);
  }
  assert.match(cgls, /corelet-[0-9a-f]{64}\.scope/, 'the containers are scopes in the pod slices');
  const sl = f['agent.slice.limits'];
  assert.deepEqual(sl.guaranteed, { 'memory.max': String(32 * MI), 'cpu.max': '50000 100000', 'cpu.weight': '20' });
  assert.deepEqual(sl.limited, { 'memory.max': String(128 * MI), 'cpu.max': '50000 100000', 'cpu.weight': '4' });
  assert.deepEqual(sl.hog, { 'memory.max': 'max', 'cpu.max': 'max 100000', 'cpu.weight': '1' });
  assert.ok(Number(sl.guaranteed['cpu.weight']) > Number(sl.hog['cpu.weight']), 'the Guaranteed pod weighs more than the BestEffort one');
  assert.equal(f['agent.tier.limits'].besteffort['cpu.weight'], '1');
  assert.equal(f['agent.tier.limits'].burstable['cpu.weight'], '4', 'the burstable tier: the sum of its pods\' requests (100m)');
  // the containers' own limits, on their scopes (runc) or the scope's child "container" (crun)
  const scopes = f['agent.scope.limits'] as Record<string, { 'memory.max': string; 'cpu.max': string }[]>;
  assert.ok(scopes.guaranteed.some((l) => l['memory.max'] === String(32 * MI) && l['cpu.max'] === '50000 100000'), JSON.stringify(scopes));
  assert.ok(scopes.limited.some((l) => l['memory.max'] === String(128 * MI) && l['cpu.max'] === '50000 100000'), JSON.stringify(scopes));
  assert.equal(f['agent.update'].exitCode, 0, f['agent.update'].stderr);
  assert.equal(f['agent.update']['memory.max'], String(100 * MI), 'crictl update reaches an agent pod\'s container scope');
  const used = f['agent.coresUsed'];
  // what the pods got together is what the VM's CPUs gave (TCG on a shared host gives less than 2)
  const total = used.guaranteed + used.limited + used.hog;
  assert.ok(used.guaranteed >= 0.8 * Math.min(0.5, total / 2), `the Guaranteed pod got ${used.guaranteed} cores of its 0.5 next to the hog (all pods: ${total.toFixed(2)})`);
  assert.ok(used.guaranteed <= 0.6, `and no more than its limit (${used.guaranteed})`);
  assert.ok(used.limited <= 0.6, `the 500m-limited pod stayed near half a core (${used.limited})`);
  assert.equal(f['agent.memhog'].reason, 'OOMKilled');
  assert.equal(f['agent.memhog'].exitCode, 137);
  assert.deepEqual(f['agent.neighbour'], { ready: true, restartCount: 0 });
  assert.equal(f['agent.oomEvent'], true, `an OOMKilled event (events: ${JSON.stringify(f['agent.events'])})`);
  // every pod gone: no pod slice, no scope (the QoS tiers stay while the agent runs, as the kubelet's)
  assert.deepEqual(f['agent.unitsLeft'], ['kubepods-besteffort.slice', 'kubepods-burstable.slice', 'kubepods.slice']);
  assert.deepEqual(f['agent.podCgroupsLeft'], [], 'every pod cgroup removed with its pod');
});

test('stopping the daemons leaves no slice or scope', async () => {
  const f = await inside('stop');
  assert.equal(f.error, undefined, f.error);
  assert.deepEqual(f.unitsLeft, [], 'the test leaves nothing behind');
});
