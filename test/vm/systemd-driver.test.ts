/**
 * test/vm: the systemd cgroup driver on a lab VM (native-scripts/vm/lab.sh; Debian 12, cgroup v2,
 * systemd PID 1), as root. A runtime with --cgroup-driver systemd and an agent without the flag (it
 * takes the driver from the runtime's RuntimeConfig): the pods are slices under kubepods.slice with
 * the kubelet's names (systemd-cgls), the limits are on the slices and scopes (memory.max, cpu.max,
 * cpu.weight), UpdateContainerResources reaches the scope, crictl's own pods get a slice of the
 * runtime's and a cgroupfs parent is refused naming the field, and once every pod is stopped no pod
 * slice and no scope is left.
 *
 * The VM side is test/vm/inside-systemd.py (Python: Node starts 20-30 times slower under TCG), which
 * prints what it saw (VMFACTS); the assertions are here. The busybox image is imported on the host
 * into an image store that goes into the VM on the /opt/corelet disk. CORELET_VM_RUNTIMES (default
 * "runc"; "runc crun" for both) picks the OCI runtimes.
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
// runc by default (about 5.5 min a runtime under TCG here, most of it Node starting the daemons)
const RUNTIMES = (process.env.CORELET_VM_RUNTIMES ?? 'runc').split(/\s+/).filter(Boolean);
let extra = '';
const started = Date.now();

type Facts = Record<string, any>;

async function lab(args: string[]) {
  return execa(LAB, args, { reject: false, all: true, env: { VML_EXTRA_DIR: extra } });
}

async function vmLog(path: string): Promise<string> {
  return (await lab(['run', 'vml1', `tail -n 40 ${path}`])).all ?? '';
}

async function scenario(runtime: string): Promise<Facts> {
  const r = await lab(['run', 'vml1', 'python3', '/opt/corelet/extra/inside-systemd.py', 'run', runtime]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('VMFACTS '));
  assert.ok(line, `inside-systemd.py printed no facts (exit ${r.exitCode}):\n${r.all}`);
  const facts = JSON.parse(line.slice('VMFACTS '.length)) as Facts;
  console.log(`# vm systemd driver, ${runtime}: ${JSON.stringify(facts)}`);
  return facts;
}

before(async () => {
  extra = await mkdtemp(join(tmpdir(), 'cgd-extra-'));
  const archive = join(extra, 'busybox.tar');
  await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${BUSYBOX}`, `oci-archive:${archive}:${BUSYBOX}`]);
  await execa(process.execPath, [CORELET, 'images', 'import', archive, '--root', join(extra, 'store'), '--socket', join(extra, 'none.sock')]);
  await unlink(archive);
  await rm(join(extra, 'store', 'lock.pid'), { force: true });
  await copyFile(join(REPO, 'test', 'vm', 'inside-systemd.py'), join(extra, 'inside-systemd.py'));
  const up = await lab(['up', '1']);
  assert.equal(up.exitCode, 0, `lab.sh up 1:\n${up.all}`);
  console.log(`# vm up after ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

after(async () => {
  const down = await lab(['down']);
  await rm(extra, { recursive: true, force: true });
  console.log(`# vm systemd driver: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  assert.equal(down.exitCode, 0, `lab.sh down:\n${down.all}`);
});

for (const runtime of RUNTIMES) {
  test(`systemd cgroup driver with ${runtime}: kubelet-named slices, limits on slices and scopes, nothing left`, async (t) => {
    const f = await scenario(runtime);
    assert.equal(f.error, undefined, `${f.error}\n${await vmLog('/var/lib/cgd-runtime.log')}\n${await vmLog('/var/lib/cgd-agent.log')}`);
    assert.equal(f.cgroup2, true);
    assert.equal(f.systemdPid1, 'systemd');
    assert.equal(f['runtime.info.cgroupDriver'], 'systemd');

    // crictl: a cgroupfs parent is refused naming the field; a pod without one gets its own slice
    assert.notEqual(f['crictl.cgroupfsParent'].exitCode, 0);
    assert.match(f['crictl.cgroupfsParent'].stderr, /config\.linux\.cgroup_parent \\?"\/kubepods\/burstable\/podx\\?" is not a systemd slice/);
    assert.equal(f['crictl.cgroupsPath'], '/corelet.slice/corelet-pod<pod>.slice/corelet-<id>.scope');
    assert.deepEqual(f['crictl.units'].sort(), ['corelet-<id>.scope', 'corelet-<pod>.scope', 'corelet-pod<pod>.slice']);
    assert.equal(f['crictl.scope.limits']['memory.max'], String(64 * MI));
    assert.equal(f['crictl.scope.limits']['cpu.max'], '30000 100000');
    // update: under crun it goes through a pipe crun reopens as /dev/stdin (issue 13 point 4's fix)
    const crunUpdateBug = (u: { exitCode: number; stderr: string }) => runtime === 'crun' && u.exitCode !== 0 && /\/dev\/stdin/.test(u.stderr);
    if (crunUpdateBug(f['crictl.update'])) t.todo('crictl update under crun: pending the /dev/stdin fix (issue 13 point 4)');
    else {
      assert.equal(f['crictl.update'].exitCode, 0, f['crictl.update'].stderr);
      assert.equal(f['crictl.update'].limits['memory.max'], String(48 * MI));
      assert.equal(f['crictl.update'].limits['cpu.max'], '20000 100000');
    }
    assert.deepEqual(f['crictl.unitsLeft'], [], 'the pod\'s slice and scopes are gone with it');

    // the agent took the runtime's driver and made the kubelet's slices
    assert.deepEqual(f['agent.driverLog'], ['systemd/runtime']);
    assert.deepEqual(f['agent.qos'], { guaranteed: 'Guaranteed', burstable: 'Burstable', besteffort: 'BestEffort' });
    const uid = (n: string) => (f['agent.uids'][n] as string).replace(/-/g, '_');
    assert.deepEqual(f['agent.slicePaths'], {
      guaranteed: `/kubepods.slice/kubepods-pod${uid('guaranteed')}.slice`,
      burstable: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid('burstable')}.slice`,
      besteffort: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid('besteffort')}.slice`,
    });
    const cgls = (f['agent.systemd-cgls'] as string[]).join('\n');
    for (const name of ['kubepods.slice', 'kubepods-burstable.slice', 'kubepods-besteffort.slice', `kubepods-pod${uid('guaranteed')}.slice`, `kubepods-burstable-pod${uid('burstable')}.slice`, `kubepods-besteffort-pod${uid('besteffort')}.slice`]) {
      assert.ok(cgls.includes(name), `systemd-cgls shows ${name}:\n${cgls}`);
    }
    assert.match(cgls, /corelet-[0-9a-f]{64}\.scope/, 'the containers are scopes in the pod slices');
    const sl = f['agent.slice.limits'];
    assert.deepEqual(sl.guaranteed, { 'memory.max': String(64 * MI), 'cpu.max': '50000 100000', 'cpu.weight': '20' });
    assert.deepEqual(sl.burstable, { 'memory.max': String(128 * MI), 'cpu.max': '25000 100000', 'cpu.weight': '4' });
    assert.deepEqual(sl.besteffort, { 'memory.max': 'max', 'cpu.max': 'max 100000', 'cpu.weight': '1' });
    assert.equal(f['agent.tier.limits'].besteffort['cpu.weight'], '1');
    assert.equal(f['agent.tier.limits'].burstable['cpu.weight'], '4', 'the burstable tier: the sum of its pods\' requests (100m)');
    // the containers' own limits, on their scopes (runc) or the scope's child "container" (crun)
    const scopeMemory = (n: string) => (f['agent.scope.limits'][n] as { 'memory.max': string }[]).map((l) => l['memory.max']);
    assert.ok(scopeMemory('guaranteed').includes(String(64 * MI)), JSON.stringify(f['agent.scope.limits']));
    assert.ok(scopeMemory('burstable').includes(String(128 * MI)), JSON.stringify(f['agent.scope.limits']));
    if (!crunUpdateBug(f['agent.update'])) {
      assert.equal(f['agent.update'].exitCode, 0, f['agent.update'].stderr);
      assert.equal(f['agent.update']['memory.max'], String(100 * MI));
    }

    // every pod stopped: no pod slice, no scope (the QoS tiers stay while the agent runs, as the kubelet's)
    assert.deepEqual(f['agent.unitsLeft'], ['kubepods-besteffort.slice', 'kubepods-burstable.slice', 'kubepods.slice']);
    assert.deepEqual(f['agent.podCgroupsLeft'], []);
    assert.deepEqual(f['cleanup.unitsLeft'], [], 'the test leaves nothing behind');
  });
}
