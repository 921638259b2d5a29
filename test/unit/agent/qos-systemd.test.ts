import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QosCgroupManager } from '../../../src/agent/qos/index.js';
import { expandSlice, type SliceUnits, type UnitProperty } from '../../../src/host/index.js';
import { bestEffort, burstable, GI, guaranteed, MI, pod } from './qos-fixtures.js';

const UID = 'a1b2-c3';

/** systemd as the agent sees it: slices started (their folder made) and stopped (folder gone), every call recorded. */
function fakeUnits(root: string) {
  const calls: string[] = [];
  const props = new Map<string, Record<string, string>>();
  const units: SliceUnits = {
    async ensureSlice(name: string, p: readonly UnitProperty[]) {
      calls.push(`ensure ${name}`);
      await mkdir(join(root, expandSlice(name)), { recursive: true });
      await writeFile(join(root, expandSlice(name), 'cgroup.procs'), ''); // as the kernel's folders have
      props.set(name, Object.fromEntries(p.map(([k, , v]) => [k, v])));
    },
    async stopUnit(name: string) {
      calls.push(`stop ${name}`);
      props.delete(name);
      // systemd removes the slice's cgroup (only when no child is left: a fake tree cannot tell)
      const dir = join(root, expandSlice(name));
      if ((await readdir(dir).catch(() => [])).every((e) => e === 'cgroup.procs')) await rm(dir, { recursive: true, force: true });
    },
  };
  return { units, calls, props };
}

async function v2Root(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cgd-qos-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  return root;
}

const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;

test('systemd driver: QoS and pod slices named as the kubelet names them, with its limits as properties', async (t) => {
  const root = await v2Root(t);
  const f = fakeUnits(root);
  const m = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  assert.deepEqual(f.calls, ['ensure kubepods.slice', 'ensure kubepods-besteffort.slice', 'ensure kubepods-burstable.slice']);
  assert.equal(m.topPath, '/kubepods.slice');
  assert.deepEqual(f.props.get('kubepods.slice'), { CPUAccounting: 'true', MemoryAccounting: 'true', TasksAccounting: 'true', CPUWeight: '79', CPUQuotaPerSecUSec: '18446744073709551615', MemoryMax: String(GI) });
  assert.equal(f.props.get('kubepods-besteffort.slice')!.CPUWeight, '1');
  assert.ok(!(await isDir(join(root, 'kubepods'))), 'no cgroupfs folder of its own');
  assert.equal((await readdir(root)).includes('cgroup.subtree_control'), false, 'controllers are systemd\'s to enable');

  const g = guaranteed(`g-${UID}`);
  assert.equal(await m.ensurePod(g), '/kubepods.slice/kubepods-podg_a1b2_c3.slice', 'the cgroup parent the kubelet sends: the expanded slice');
  assert.deepEqual(f.props.get('kubepods-podg_a1b2_c3.slice'), { CPUAccounting: 'true', MemoryAccounting: 'true', TasksAccounting: 'true', CPUWeight: '20', CPUQuotaPerSecUSec: '500000', CPUQuotaPeriodUSec: '100000', MemoryMax: String(128 * MI) });

  const b = burstable(`b-${UID}`);
  assert.equal(m.podCgroupParent(b), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podb_a1b2_c3.slice');
  await m.ensurePod(b);
  assert.equal(f.props.get('kubepods-burstable.slice')!.CPUWeight, '10', 'the burstable tier follows the pods\' requests (256 shares)');
  assert.deepEqual(f.props.get('kubepods-burstable-podb_a1b2_c3.slice'), { CPUAccounting: 'true', MemoryAccounting: 'true', TasksAccounting: 'true', CPUWeight: '10', CPUQuotaPerSecUSec: '1000000', CPUQuotaPeriodUSec: '100000', MemoryMax: String(256 * MI) });
  assert.equal(await m.ensurePod(bestEffort(`e-${UID}`)), '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pode_a1b2_c3.slice');

  assert.deepEqual([...(await m.podUids())].sort(), [`b-${UID}`, `e-${UID}`, `g-${UID}`], 'slices read back to pod uids (_ is -)');

  f.calls.length = 0;
  const r = await m.removePod(`b-${UID}`);
  assert.deepEqual(r.busy, []);
  assert.ok(f.calls.includes('stop kubepods-burstable-podb_a1b2_c3.slice'), f.calls.join(', '));
  assert.ok(!(await isDir(join(root, 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podb_a1b2_c3.slice'))));
  assert.equal(f.props.get('kubepods-burstable.slice')!.CPUWeight, '1', 'a removed pod no longer counts');
});

test('systemd driver: a pod slice that still holds processes is never stopped (stopping would kill them): reported busy', async (t) => {
  const root = await v2Root(t);
  const f = fakeUnits(root);
  const m = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units });
  await m.ensureTopLevel({ cpuMillis: 1000, memoryBytes: GI });
  const p = pod('busy1', [{ requests: { cpu: '100m' } }]);
  const path = await m.ensurePod(p);
  await mkdir(join(root, path, 'corelet-abc.scope'));
  await writeFile(join(root, path, 'corelet-abc.scope', 'cgroup.procs'), '4242\n');
  f.calls.length = 0;
  const r = await m.removePod('busy1');
  assert.deepEqual(r.busy, [join(root, path)]);
  assert.deepEqual(f.calls.filter((c) => c.startsWith('stop')), []);
});

test('systemd driver: the top-level slices go innermost first, only when empty', async (t) => {
  const root = await v2Root(t);
  const f = fakeUnits(root);
  const m = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units, topName: 'cgd-kubepods' });
  await m.ensureTopLevel({ cpuMillis: 1000, memoryBytes: GI });
  assert.equal(m.topPath, '/cgd_kubepods.slice');
  f.calls.length = 0;
  const r = await m.removeTopLevel();
  assert.deepEqual(f.calls, ['stop cgd_kubepods-burstable.slice', 'stop cgd_kubepods-besteffort.slice', 'stop cgd_kubepods.slice']);
  assert.deepEqual(r.busy, []);
  assert.deepEqual(await readdir(root), ['cgroup.controllers']);
});

test('systemd driver: a pod whose uid holds "_" is read back as itself, so the orphan sweep never takes it for another', async (t) => {
  const root = await v2Root(t);
  const f = fakeUnits(root);
  const m = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  await m.ensurePod(guaranteed('odd_uid'));
  assert.deepEqual([...(await m.podUids())], ['odd_uid']);
  f.calls.length = 0;
  assert.deepEqual(await m.removeOrphanPods((uid) => uid !== 'odd_uid'), [], 'the live pod is no orphan');
  assert.deepEqual(f.calls, []);
});

test('the orphan sweep does not stop the slice of a pod re-admitted between its check and its removal', async (t) => {
  const root = await v2Root(t);
  const f = fakeUnits(root);
  // the agent before a restart made the pod's slice
  const before = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units });
  await before.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  await before.ensurePod(bestEffort('back'));
  // the restarted agent, a minute later: the slice is old enough for its sweep
  const m = new QosCgroupManager({ root, mode: 'v2', driver: 'systemd', units: f.units, now: () => Date.now() + 61_000 });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  const runs = new Set<string>();
  let admitted: Promise<string> | undefined;
  f.calls.length = 0;
  const removed = await m.removeOrphanPods((uid) => {
    const orphan = !runs.has(uid);
    // right after the sweep asked, the pod's worker admits the pod again
    if (uid === 'back' && !admitted) {
      runs.add(uid);
      admitted = m.ensurePod(bestEffort('back'));
    }
    return orphan;
  });
  await admitted;
  assert.deepEqual(removed, [], 'the re-admitted pod is no orphan');
  assert.deepEqual(f.calls, ['ensure kubepods-besteffort-podback.slice'], 'its slice is not stopped');
  assert.ok(await isDir(join(root, 'kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podback.slice')));
});
