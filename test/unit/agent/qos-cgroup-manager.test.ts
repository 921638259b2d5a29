import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QosCgroupManager } from '../../../src/agent/qos/index.js';
import { isKind } from '../../../src/lib/index.js';
import { bestEffort, burstable, GI, guaranteed, MI, pod } from './qos-fixtures.js';

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'corelet-qos-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

const read = async (...p: string[]) => (await readFile(join(...p), 'utf8')).trim();
const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;

test('v1 with separate cpu and cpuacct mounts: QoS tiers, pod cgroups and their limit files', async (t) => {
  const root = await tempRoot(t);
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'systemd']) await mkdir(join(root, c));
  const m = new QosCgroupManager({ root, mode: 'v1' });

  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  assert.equal(await read(root, 'cpu/kubepods/cpu.shares'), '2048');
  assert.equal(await read(root, 'cpu/kubepods/cpu.cfs_quota_us'), '-1');
  assert.equal(await read(root, 'memory/kubepods/memory.limit_in_bytes'), String(GI));
  assert.equal(await read(root, 'cpu/kubepods/besteffort/cpu.shares'), '2');
  assert.equal(await read(root, 'cpu/kubepods/burstable/cpu.shares'), '2');
  for (const c of ['cpuacct', 'pids']) assert.ok(await isDir(join(root, c, 'kubepods/burstable')), `${c} hierarchy has the tier`);
  assert.equal(await isDir(join(root, 'devices/kubepods')), false, 'only the configured controllers');

  const g = guaranteed();
  assert.equal(m.podCgroupParent(g), '/kubepods/podg1');
  assert.equal(await m.ensurePod(g), '/kubepods/podg1');
  assert.equal(await read(root, 'cpu/kubepods/podg1/cpu.shares'), '512');
  assert.equal(await read(root, 'cpu/kubepods/podg1/cpu.cfs_period_us'), '100000');
  assert.equal(await read(root, 'cpu/kubepods/podg1/cpu.cfs_quota_us'), '50000');
  assert.equal(await read(root, 'memory/kubepods/podg1/memory.limit_in_bytes'), String(128 * MI));

  assert.equal(await m.ensurePod(burstable()), '/kubepods/burstable/podb1');
  assert.equal(await read(root, 'cpu/kubepods/burstable/cpu.shares'), '256', 'burstable tier follows the pod requests');
  assert.equal(await read(root, 'cpu/kubepods/burstable/podb1/cpu.shares'), '256');
  assert.equal(await read(root, 'cpu/kubepods/burstable/podb1/cpu.cfs_quota_us'), '100000');
  assert.equal(await read(root, 'memory/kubepods/burstable/podb1/memory.limit_in_bytes'), String(256 * MI));

  assert.equal(await m.ensurePod(bestEffort()), '/kubepods/besteffort/podbe1');
  assert.equal(await read(root, 'cpu/kubepods/besteffort/podbe1/cpu.shares'), '2');
  assert.equal(await read(root, 'cpu/kubepods/besteffort/podbe1/cpu.cfs_quota_us'), '-1');
  assert.equal(await read(root, 'memory/kubepods/besteffort/podbe1/memory.limit_in_bytes'), '-1');

  const b2 = pod('b2', [{ requests: { cpu: '500m', memory: '64Mi' } }]);
  await m.ensurePod(b2);
  assert.equal(await read(root, 'cpu/kubepods/burstable/cpu.shares'), '768');

  // A fake tree's folders hold regular files, so rmdir refuses them just as the kernel refuses a
  // cgroup with processes: they are reported busy and left alone; empty ones go.
  const res = await m.removePod('b2');
  assert.deepEqual(res.removed.sort(), [join(root, 'cpuacct/kubepods/burstable/podb2'), join(root, 'pids/kubepods/burstable/podb2')]);
  assert.deepEqual(res.busy.sort(), [join(root, 'cpu/kubepods/burstable/podb2'), join(root, 'memory/kubepods/burstable/podb2')]);
  assert.ok(await isDir(join(root, 'cpu/kubepods/burstable/podb2')));
  assert.equal(await read(root, 'cpu/kubepods/burstable/cpu.shares'), '256', 'a removed pod no longer counts');

  const shares = await m.updateBurstableShares([g, burstable(), pod('b3', [{ requests: { cpu: '1500m' } }])]);
  assert.equal(shares, 1792);
  assert.equal(await read(root, 'cpu/kubepods/burstable/cpu.shares'), '1792');
});

test('v1 with a combined cpu,cpuacct mount, with and without alias symlinks', async (t) => {
  for (const aliases of [false, true]) {
    const root = await tempRoot(t);
    await mkdir(join(root, 'cpu,cpuacct'));
    await mkdir(join(root, 'memory'));
    if (aliases) {
      await symlink('cpu,cpuacct', join(root, 'cpu'));
      await symlink('cpu,cpuacct', join(root, 'cpuacct'));
    }
    const m = new QosCgroupManager({ root, mode: 'hybrid', topName: 'kp' });
    await m.ensureTopLevel({ cpuMillis: 1000, memoryBytes: 512 * MI });
    await m.ensurePod(guaranteed('g9'));
    assert.equal(await read(root, 'cpu,cpuacct/kp/cpu.shares'), '1024');
    assert.equal(await read(root, 'cpu,cpuacct/kp/podg9/cpu.cfs_quota_us'), '50000');
    assert.equal(await read(root, 'memory/kp/podg9/memory.limit_in_bytes'), String(128 * MI));
    assert.equal(m.podCgroupParent(burstable('x')), '/kp/burstable/podx');
  }
});

test('v2: controllers enabled in subtree_control, cpu.weight / cpu.max / memory.max written', async (t) => {
  const root = await tempRoot(t);
  await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await writeFile(join(root, 'cgroup.subtree_control'), '');
  const m = new QosCgroupManager({ root, mode: 'v2' });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  assert.equal(await read(root, 'cgroup.subtree_control'), '+cpu +cpuset +io +memory +pids');
  assert.equal(await read(root, 'kubepods/cpu.weight'), '79');
  assert.equal(await read(root, 'kubepods/cpu.max'), 'max 100000');
  assert.equal(await read(root, 'kubepods/memory.max'), String(GI));
  assert.equal(await read(root, 'kubepods/besteffort/cpu.weight'), '1');

  await m.ensurePod(guaranteed());
  assert.equal(await read(root, 'kubepods/podg1/cpu.weight'), '20');
  assert.equal(await read(root, 'kubepods/podg1/cpu.max'), '50000 100000');
  assert.equal(await read(root, 'kubepods/podg1/memory.max'), String(128 * MI));
  await m.ensurePod(bestEffort());
  assert.equal(await read(root, 'kubepods/besteffort/podbe1/memory.max'), 'max');
  assert.equal(await read(root, 'kubepods/besteffort/podbe1/cpu.max'), 'max 100000');
});

test('unsafe names are refused before touching the filesystem', async (t) => {
  const root = await tempRoot(t);
  assert.throws(() => new QosCgroupManager({ root, mode: 'v1', topName: '../etc' }), (e) => isKind(e, 'InvalidArgument'));
  const m = new QosCgroupManager({ root, mode: 'v1' });
  assert.throws(() => m.podCgroupParent(pod('../../x', [{}])), (e) => isKind(e, 'InvalidArgument'));
  await assert.rejects(m.removePod('a/b'), (e) => isKind(e, 'InvalidArgument'));
  await assert.rejects(m.ensureTopLevel({ cpuMillis: 0, memoryBytes: GI }), (e) => isKind(e, 'InvalidArgument'));
});

test('pod cgroups of pods the agent no longer knows (removed while it was down) are found and removed; known pods keep theirs', async (t) => {
  const root = await tempRoot(t);
  for (const c of ['cpu', 'memory']) await mkdir(join(root, c));
  // The sweep runs two minutes later: the orphan's folders are older than its 60 s minimum age.
  const m = new QosCgroupManager({ root, mode: 'v1', now: () => Date.now() + 120_000 });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  await m.ensurePod(guaranteed());
  await m.ensurePod(burstable());
  // what a pod deleted while the agent was down leaves: its (empty) cgroup in every hierarchy
  for (const c of ['cpu', 'memory']) await mkdir(join(root, c, 'kubepods/besteffort/podgone1'), { recursive: true });
  assert.deepEqual([...(await m.podUids())].sort(), ['b1', 'g1', 'gone1']);
  const removed = await m.removeOrphanPods((uid) => uid === 'gone1');
  assert.deepEqual(removed, ['gone1']);
  assert.equal(await isDir(join(root, 'cpu/kubepods/besteffort/podgone1')), false);
  assert.equal(await isDir(join(root, 'memory/kubepods/besteffort/podgone1')), false);
  assert.ok(await isDir(join(root, 'cpu/kubepods/podg1')), 'a known pod keeps its cgroup');
  assert.deepEqual([...(await m.podUids())].sort(), ['b1', 'g1']);
});

test('the orphan sweep spares a pod cgroup younger than 60 s (another agent sharing /kubepods just made it) and reports a busy one once', async (t) => {
  const root = await tempRoot(t);
  for (const c of ['cpu', 'memory']) await mkdir(join(root, c));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  let clock = Date.now();
  const m = new QosCgroupManager({ root, mode: 'v1', logger, now: () => clock });
  await m.ensureTopLevel({ cpuMillis: 2000, memoryBytes: GI });
  // Another agent (or a kubelet with the cgroupfs driver) creates its pod's cgroup under the same top.
  for (const c of ['cpu', 'memory']) await mkdir(join(root, c, 'kubepods/besteffort/podtheirs'), { recursive: true });
  assert.deepEqual(await m.removeOrphanPods(() => true), [], 'a fresh pod cgroup is left alone');
  assert.ok(await isDir(join(root, 'cpu/kubepods/besteffort/podtheirs')));

  // An old orphan that still holds processes (a fake tree: a file inside, which rmdir refuses too).
  for (const c of ['cpu', 'memory']) await mkdir(join(root, c, 'kubepods/burstable/podbusy'), { recursive: true });
  await writeFile(join(root, 'cpu/kubepods/burstable/podbusy/cgroup.procs'), '4242\n');
  clock += 61_000;
  const busyWarnings = () => lines.filter((l) => l.includes('"uid":"busy"') && l.includes('busy')).length;
  assert.deepEqual(await m.removeOrphanPods(() => true), ['theirs'], 'once older than 60 s it is an orphan like any other');
  assert.equal(busyWarnings(), 1);
  for (let i = 0; i < 3; i++) {
    clock += 10_000;
    assert.deepEqual(await m.removeOrphanPods(() => true), []);
  }
  assert.equal(busyWarnings(), 1, `a busy cgroup is reported once, not at every sweep: ${lines.join('')}`);
  assert.ok(await isDir(join(root, 'cpu/kubepods/burstable/podbusy')), 'nothing is forced');
});
