/**
 * test/vm's short form (`npm run test:vm`, as root): on one Debian 12 VM of the lab
 * (native-scripts/vm/lab.sh; cgroup v2, systemd PID 1), the crictl scenario with runc and with crun
 * (limits in memory.max and cpu.max, exec, logs, update, an OOM kill counted in memory.events, no
 * cgroup left), and a standalone agent's static pods: QoS cgroups and the noisy-neighbour checks of
 * test/integration/agent/noisy-neighbour.test.ts and agent-cgroups, on v2.
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
  assert.ok(line, `inside.py ${verb} printed no facts (exit ${r.exitCode}):\n${r.all}`);
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

test('both runtimes start on the host-prepared image store', async () => {
  const f = await inside('start', 'runc', 'crun');
  assert.equal(f.error, undefined, `${f.error}\n${await vmLog('/var/lib/vml-runc/runtime.log')}\n${await vmLog('/var/lib/vml-crun/runtime.log')}`);
});

// both scenarios run at once in the VM (each mostly waits on its own runtime process)
let crictlFacts: Promise<Facts> | undefined;
for (const runtime of ['runc', 'crun']) {
  test(`the crictl scenario with ${runtime}: limits, exec, logs, update, OOMKilled, nothing left`, async (t) => {
    crictlFacts ??= inside('crictl', 'runc', 'crun');
    const f = await crictlFacts;
    const p = (k: string) => f[`${runtime}.${k}`];
    assert.equal(f.error, undefined, f.error);
    assert.equal(p('error'), undefined, `${p('error')}\n${await vmLog(`/var/lib/vml-${runtime}/runtime.log`)}`);
    assert.equal(p('imageListed'), true, 'busybox is in the store');
    assert.equal(p('podState'), 'SANDBOX_READY');
    assert.equal(p('ctrState'), 'CONTAINER_RUNNING');
    assert.equal(p('memory.max'), String(128 * MI));
    assert.equal(p('cpu.max'), '50000 100000');
    assert.match(p('exec'), /^out\n\nerr\n/);
    assert.equal(p('execHostname'), 'limits');
    assert.deepEqual(p('logs'), ['hello-from-vm']);
    assert.equal(p('hog').reason, 'OOMKilled');
    assert.equal(p('hog').exitCode, 137);
    const oomKills = p('hog.memory.events.oom_kill');
    assert.ok(oomKills === 'cgroup gone' || oomKills >= 1, `memory.events counts the kill (${oomKills})`);
    assert.equal(p('stopped'), 'CONTAINER_EXITED');
    assert.equal(p('podsLeft'), 0);
    assert.equal(p('podCgroupLeft'), false, 'no pod or container cgroup left');
    // the runtime's cgroup parent itself may stay (issue 13: an empty middle cgroup), nothing under it
    assert.deepEqual(p('cgroupsLeft').filter((d: string) => d !== `/vml-${runtime}`), [], 'no cgroup left under the parent');
    // update: under crun it goes through a pipe crun reopens as /dev/stdin (the startup helper's fix)
    if (runtime === 'crun' && p('update').exitCode !== 0) {
      assert.match(p('update').stderr, /\/dev\/stdin/, 'the known crun update failure, nothing else');
      t.todo('crictl update under crun: pending the /dev/stdin fix (issue 13 point 4)');
      return;
    }
    assert.equal(p('update').exitCode, 0, p('update').stderr);
    assert.equal(p('updated.memory.max'), String(96 * MI));
    assert.equal(p('updated.cpu.max'), '20000 100000');
  });
}

test('the agent on v2: static pods in QoS cgroups, a Guaranteed pod keeps its CPU, a memory hog is OOM-killed alone', async () => {
  const f = await inside('agent', 'runc');
  assert.equal(f.error, undefined, `${f.error}\n${await vmLog('/var/lib/vml-agent/agent.log')}`);
  assert.deepEqual(f['agent.qos'], { hog: 'BestEffort', guaranteed: 'Guaranteed', limited: 'Burstable' });
  const cg = f['agent.cgroups'];
  assert.equal(cg.guaranteed['cpu.max'], '50000 100000');
  assert.equal(cg.guaranteed['memory.max'], String(32 * MI));
  assert.equal(cg.limited['cpu.max'], '50000 100000');
  assert.equal(cg.limited['memory.max'], 'max');
  assert.equal(cg.hog['cpu.max'], 'max 100000');
  assert.equal(cg.hog['memory.max'], 'max');
  assert.ok(Number(cg.guaranteed['cpu.weight']) > Number(cg.hog['cpu.weight']), 'the Guaranteed pod weighs more than the BestEffort one');
  assert.equal(cg.hog['cpu.weight'], '1');
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
  assert.deepEqual(f['agent.podCgroupsLeft'], [], 'every pod cgroup removed with its pod');
});
