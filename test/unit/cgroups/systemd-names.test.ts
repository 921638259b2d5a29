import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busctlProperties,
  checkSystemdBooted,
  defaultCgroupDriver,
  expandSlice,
  isValidSliceName,
  parseCgroupDriver,
  parseSliceParent,
  refuseSliceUnderCgroupfs,
  scopeCgroupfsPath,
  sliceName,
  sliceProperties,
  systemdCgroupsPath,
} from '../../../src/host/index.js';
import { isKind } from '../../../src/lib/index.js';

const UID = '6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c';

test('slice names as the kubelet derives them: parts joined by -, a part\'s own - written _', () => {
  assert.equal(sliceName(['kubepods']), 'kubepods.slice');
  assert.equal(sliceName(['kubepods', 'burstable']), 'kubepods-burstable.slice');
  assert.equal(sliceName(['kubepods', 'besteffort', `pod${UID}`]), 'kubepods-besteffort-pod6f1c2a3b_0d4e_4f5a_9b8c_7d6e5f4a3b2c.slice');
  assert.equal(sliceName(['kubepods', `pod${UID}`]), 'kubepods-pod6f1c2a3b_0d4e_4f5a_9b8c_7d6e5f4a3b2c.slice');
  assert.equal(sliceName(['cgd-kubepods']), 'cgd_kubepods.slice');
});

test('expandSlice gives the cgroupfs path systemd puts a slice at', () => {
  assert.equal(expandSlice('kubepods.slice'), '/kubepods.slice');
  assert.equal(expandSlice('kubepods-burstable-podx_y.slice'), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx_y.slice');
  assert.equal(expandSlice('-.slice'), '/');
  for (const bad of ['kubepods', 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice', '.slice', 'a b.slice']) {
    assert.equal(isValidSliceName(bad), false, bad);
    assert.throws(() => expandSlice(bad), (e: unknown) => isKind(e, 'InvalidArgument') && /not a valid systemd slice name/.test(String(e)));
  }
});

test('a container\'s OCI cgroupsPath is slice:corelet:id and its scope corelet-<id>.scope in the slice', () => {
  const slice = 'kubepods-burstable-podx.slice';
  assert.equal(systemdCgroupsPath(slice, 'abc'), 'kubepods-burstable-podx.slice:corelet:abc');
  assert.equal(scopeCgroupfsPath(slice, 'abc'), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice/corelet-abc.scope');
  assert.equal(scopeCgroupfsPath('-.slice', 'abc'), '/corelet-abc.scope');
});

test('a systemd cgroup parent: a slice name or its expanded path; anything else refused naming the field', () => {
  assert.equal(parseSliceParent('kubepods-burstable-podx.slice', 'config.linux.cgroup_parent'), 'kubepods-burstable-podx.slice');
  assert.equal(parseSliceParent('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice', 'config.linux.cgroup_parent'), 'kubepods-burstable-podx.slice');
  const refused = (value: string, re: RegExp) =>
    assert.throws(
      () => parseSliceParent(value, 'config.linux.cgroup_parent'),
      (e: unknown) => isKind(e, 'InvalidArgument') && String(e).includes('config.linux.cgroup_parent') && re.test(String(e)),
      value,
    );
  refused('/kubepods/burstable/podx', /is not a systemd slice: this runtime uses the systemd cgroup driver/);
  refused('a--b.slice', /is not a valid slice name/);
  refused('/other.slice/kubepods-burstable-podx.slice', /is not where systemd puts kubepods-burstable-podx.slice \(\/kubepods.slice\/kubepods-burstable.slice\/kubepods-burstable-podx.slice\)/);
  assert.throws(() => refuseSliceUnderCgroupfs('kubepods-podx.slice', 'config.linux.cgroup_parent'), /config.linux.cgroup_parent "kubepods-podx.slice" is a systemd slice, but this runtime uses the cgroupfs cgroup driver/);
  refuseSliceUnderCgroupfs('/kubepods/podx', 'config.linux.cgroup_parent');
});

test('slice properties: the kubelet\'s limits as systemd properties (quota per second rounded up to 10 ms)', () => {
  assert.deepEqual(sliceProperties({ cpuWeight: 20, cpuShares: 512, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, memoryMaxBytes: 134217728 }, true), [
    ['CPUAccounting', 'b', 'true'],
    ['MemoryAccounting', 'b', 'true'],
    ['TasksAccounting', 'b', 'true'],
    ['CPUWeight', 't', '20'],
    ['CPUQuotaPerSecUSec', 't', '500000'],
    ['CPUQuotaPeriodUSec', 't', '100000'],
    ['MemoryMax', 't', '134217728'],
  ]);
  const v1 = sliceProperties({ cpuWeight: 1, cpuShares: 2 }, false);
  assert.deepEqual(v1.slice(3), [
    ['CPUShares', 't', '2'],
    ['CPUQuotaPerSecUSec', 't', '18446744073709551615'],
    ['MemoryLimit', 't', '18446744073709551615'],
  ]);
  // 1234 µs per 100 ms = 12340 µs/s, which systemd cannot keep: 20000
  assert.deepEqual(sliceProperties({ cpuQuotaUs: 1234, cpuPeriodUs: 100_000 }, true).find((p) => p[0] === 'CPUQuotaPerSecUSec'), ['CPUQuotaPerSecUSec', 't', '20000']);
  assert.deepEqual(busctlProperties([['Description', 's', 'x'], ['MemoryMax', 't', '5']]), ['2', 'Description', 's', 'x', 'MemoryMax', 't', '5']);
});

test('the default driver is systemd only where systemd is PID 1 on a cgroup v2 tree', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cgd-driver-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const v2 = join(dir, 'v2');
  const hybrid = join(dir, 'hybrid');
  const booted = join(dir, 'run-systemd-system');
  await mkdir(v2);
  await writeFile(join(v2, 'cgroup.controllers'), 'cpu memory\n');
  await mkdir(join(hybrid, 'unified'), { recursive: true });
  await writeFile(join(hybrid, 'unified', 'cgroup.controllers'), '');
  await mkdir(booted);
  assert.equal(defaultCgroupDriver({ cgroupRoot: v2, systemdRunDir: booted }), 'systemd');
  assert.equal(defaultCgroupDriver({ cgroupRoot: hybrid, systemdRunDir: booted }), 'cgroupfs');
  assert.equal(defaultCgroupDriver({ cgroupRoot: v2, systemdRunDir: join(dir, 'absent') }), 'cgroupfs');
  assert.throws(() => checkSystemdBooted('corelet runtime', join(dir, 'absent')), /corelet runtime: the systemd cgroup driver needs systemd as PID 1 .* use --cgroup-driver cgroupfs/);
  checkSystemdBooted('corelet runtime', booted);
  assert.equal(parseCgroupDriver('systemd'), 'systemd');
  assert.throws(() => parseCgroupDriver('cgroupsfs'), /--cgroup-driver must be systemd or cgroupfs, got "cgroupsfs"/);
  assert.throws(() => parseCgroupDriver(3, 'cgroupDriver'), /^.*cgroupDriver must be systemd or cgroupfs, got 3/);
});
