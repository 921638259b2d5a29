import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseDefaultCgroupDriver, loadRuntimeConfig, DEFAULTS } from '../../../src/runtime/config.js';
import { isKind } from '../../../src/lib/errors.js';

test('defaults, file and flags combine with flags winning', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const missing = join(dir, 'none.yaml');
  // an absent default config file is fine; an absent explicit one is not
  await assert.rejects(loadRuntimeConfig({ config: missing }, '/p'), (e) => isKind(e, 'InvalidArgument') && /cannot read config file/.test(String(e)));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, 'root: /srv/corelet\ncni:\n  podSubnet: 10.77.0.0/16\n  bridge: br-test\n');
  const c = await loadRuntimeConfig({ config: file, socket: '/tmp/x.sock' }, '/p');
  assert.equal(c.root, '/srv/corelet');
  assert.equal(c.state, '/srv/corelet/run', 'volatile state follows a non-default root');
  assert.equal(c.socket, '/tmp/x.sock');
  assert.equal(c.cni.podSubnet, '10.77.0.0/16');
  assert.equal(c.cni.bridge, 'br-test');
  assert.deepEqual(c.cni.binDirs, DEFAULTS.cniBinDirs);
  const flagged = await loadRuntimeConfig({ config: file, root: '/var/tmp/r2' }, '/p');
  assert.equal(flagged.root, '/var/tmp/r2');
});

test('unknown fields, bad YAML and unknown runtimes are clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, 'rooot: /x\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), /unknown field "rooot"/);
  await writeFile(file, 'root: [unclosed\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), /not valid YAML/);
  await writeFile(file, '{}\n');
  await assert.rejects(loadRuntimeConfig({ config: file, runtime: 'kata' }, '/p'), /--runtime must be runc or crun/);
});

test('logSizeMax: conmon caps each container log at 100Mi by default; a quantity, or 0 for no cap', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, '{}\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).logSizeMax, 100 * 1024 * 1024);
  await writeFile(file, 'logSizeMax: 1Gi\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).logSizeMax, 1024 ** 3);
  await writeFile(file, 'logSizeMax: -1\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).logSizeMax, 0);
  await writeFile(file, 'logSizeMax: lots\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), (e) => isKind(e, 'InvalidArgument') && /logSizeMax/.test(String(e)));
});

test('pinnedImages: references (or NAME* prefixes, as CRI-O pinned_images) the agent\'s image GC must keep; a bad one names its index', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, '{}\n');
  assert.deepEqual((await loadRuntimeConfig({ config: file }, '/p')).pinnedImages, []);
  await writeFile(file, 'pinnedImages: ["corelet.local/zeus/*", "busybox"]\n');
  assert.deepEqual((await loadRuntimeConfig({ config: file }, '/p')).pinnedImages, ['corelet.local/zeus/*', 'busybox']);
  await writeFile(file, 'pinnedImages: ["ok:1", "Not A Ref"]\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), (e) => isKind(e, 'InvalidArgument') && /pinnedImages\[1\]/.test(String(e)));
  await writeFile(file, 'pinnedImages: busybox\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), (e) => isKind(e, 'InvalidArgument') && /pinnedImages must be a list/.test(String(e)));
});

test('imageUnpackWorker: auto by default, always or never; anything else is refused naming the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, '{}\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).imageUnpackWorker, 'auto');
  await writeFile(file, 'imageUnpackWorker: never\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).imageUnpackWorker, 'never');
  await writeFile(file, 'imageUnpackWorker: yes\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), (e) => isKind(e, 'InvalidArgument') && /imageUnpackWorker must be auto, always or never/.test(String(e)));
});

test('--runtime overrides the config file, which overrides the host default; the choice says where it came from', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, 'runtime: runc\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).ociRuntime.chosenBy, 'config file');
  const flagged = await loadRuntimeConfig({ config: file, runtime: 'runc' }, '/p');
  assert.deepEqual([flagged.ociRuntime.name, flagged.ociRuntime.chosenBy], ['runc', '--runtime']);
  await writeFile(file, '');
  assert.match((await loadRuntimeConfig({ config: file }, '/p')).ociRuntime.chosenBy ?? '', /^default: /);
});

test('cgroupDriver: --cgroup-driver or the file\'s cgroupDriver; the default parent follows the driver; a wrong one is refused naming the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, '{}\n');
  const systemd = await loadRuntimeConfig({ config: file, cgroupDriver: 'systemd' }, '/p');
  assert.equal(systemd.cgroupDriver, 'systemd');
  assert.equal(systemd.defaultCgroupParent, 'corelet.slice');
  const cgroupfs = await loadRuntimeConfig({ config: file, cgroupDriver: 'cgroupfs' }, '/p');
  assert.equal(cgroupfs.defaultCgroupParent, '/corelet');
  await assert.rejects(loadRuntimeConfig({ config: file, cgroupDriver: 'systemdd' }, '/p'), /--cgroup-driver must be systemd or cgroupfs, got "systemdd"/);
  await writeFile(file, 'cgroupDriver: systemd\ncgroupParent: /machine.slice/machine-pods.slice\n');
  assert.equal((await loadRuntimeConfig({ config: file }, '/p')).defaultCgroupParent, 'machine-pods.slice');
  await writeFile(file, 'cgroupDriver: systemd\ncgroupParent: /corelet\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), (e) => isKind(e, 'InvalidArgument') && /cgroupParent "\/corelet" is not a systemd slice/.test(String(e)));
  await writeFile(file, 'cgroupDriver: sd\n');
  await assert.rejects(loadRuntimeConfig({ config: file }, '/p'), /cgroupDriver must be systemd or cgroupfs, got "sd"/);
  await writeFile(file, 'cgroupParent: corelet.slice\n');
  await assert.rejects(loadRuntimeConfig({ config: file, cgroupDriver: 'cgroupfs' }, '/p'), /cgroupParent "corelet.slice" is a systemd slice, but this runtime uses the cgroupfs cgroup driver/);
});

test('an upgraded runtime keeps the cgroup driver its running pods were made under (from their sandbox records, any build); the host default takes over once they are gone', async (t) => {
  // pure: a systemd host whose runtime ran cgroupfs before the upgrade
  assert.deepEqual(chooseDefaultCgroupDriver({ hostDefault: 'systemd', running: 'cgroupfs' }), { driver: 'cgroupfs', chosenBy: 'default: cgroupfs, the driver of the pods still running from an earlier start' });
  assert.deepEqual(chooseDefaultCgroupDriver({ hostDefault: 'systemd', running: undefined }), { driver: 'systemd', chosenBy: 'default: systemd on this host' });
  assert.equal(chooseDefaultCgroupDriver({ hostDefault: 'cgroupfs', running: 'cgroupfs' }).driver, 'cgroupfs');
  // wired: a pod's pause in STATE's runc folder and its sandbox record in ROOT, as any earlier build leaves them
  const dir = await mkdtemp(join(tmpdir(), 'corelet-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, '{}\n');
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const hostDefault = (await loadRuntimeConfig({ config: file, root, state }, '/p')).cgroupDriver!;
  const other = hostDefault === 'systemd' ? 'cgroupfs' : 'systemd';
  await mkdir(join(state, 'runc', 'c1'), { recursive: true }); // a container: no sandbox record
  await mkdir(join(state, 'runc', 'p1'), { recursive: true });
  await mkdir(join(root, 'sandboxes', 'p1'), { recursive: true });
  await writeFile(join(root, 'sandboxes', 'p1', 'sandbox.json'), JSON.stringify(other === 'systemd' ? { id: 'p1', cgroupParent: '/corelet.slice/corelet-podp1.slice', cgroupSlice: 'corelet-podp1.slice' } : { id: 'p1', cgroupParent: '/corelet' }));
  const kept = await loadRuntimeConfig({ config: file, root, state }, '/p');
  assert.deepEqual([kept.cgroupDriver, kept.cgroupDriverChosenBy], [other, `default: ${other}, the driver of the pods still running from an earlier start`]);
  assert.equal((await loadRuntimeConfig({ config: file, root, state, cgroupDriver: hostDefault }, '/p')).cgroupDriver, hostDefault, 'a flag still wins');
  await rm(join(state, 'runc', 'p1'), { recursive: true });
  assert.equal((await loadRuntimeConfig({ config: file, root, state }, '/p')).cgroupDriver, hostDefault, 'no pod left running: the host default');
});
