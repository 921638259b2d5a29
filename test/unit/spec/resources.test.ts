import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, clampOomScoreAdj, int64, toOciResources } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, errorOf, resources } from './fixtures.js';

const withRes = (res: Parameters<typeof resources>[0], over: Parameters<typeof containerInput>[0] = {}) =>
  buildContainerSpec(containerInput({ config: containerConfig({}, undefined, res), ...over }));

describe('cgroup resources', () => {
  it('none requested: empty cpu and memory, devices denied by default', () => {
    const spec = buildContainerSpec(containerInput());
    assert.deepEqual(spec.linux.resources, { devices: [{ allow: false, access: 'rwm' }], memory: {}, cpu: {} });
    assert.equal(spec.linux.cgroupsPath, '/kubepods/pod-uid-1/c1');
  });

  it('cpu shares, quota, period and cpuset', () => {
    const spec = withRes({ cpu_shares: '512', cpu_quota: '50000', cpu_period: '100000', cpuset_cpus: '0-1', cpuset_mems: '0' });
    assert.deepEqual(spec.linux.resources.cpu, { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' });
  });

  const memoryCases: { name: string; limit: string; swap: string; swapAvailable?: boolean; want: object }[] = [
    { name: 'limit caps swap at the same value', limit: '134217728', swap: '0', want: { limit: 134217728, swap: 134217728 } },
    { name: 'explicit swap limit wins', limit: '134217728', swap: '268435456', want: { limit: 134217728, swap: 268435456 } },
    { name: 'no swap accounting: limit only', limit: '134217728', swap: '0', swapAvailable: false, want: { limit: 134217728 } },
    { name: 'nothing', limit: '0', swap: '0', want: {} },
  ];
  for (const c of memoryCases) {
    it(`memory: ${c.name}`, () => {
      assert.deepEqual(withRes({ memory_limit_in_bytes: c.limit, memory_swap_limit_in_bytes: c.swap }, { swapAvailable: c.swapAvailable }).linux.resources.memory, c.want);
    });
  }

  it('hugepages, unless the hugetlb controller is missing', () => {
    const h = { hugepage_limits: [{ page_size: '2MB', limit: '4194304' }] };
    assert.deepEqual(withRes(h).linux.resources.hugepageLimits, [{ pageSize: '2MB', limit: 4194304 }]);
    assert.equal(withRes(h, { hugetlbAvailable: false }).linux.resources.hugepageLimits, undefined);
  });

  it('unified only on cgroup v2', () => {
    const u = { unified: { 'memory.high': '100000000' } };
    assert.deepEqual(withRes(u, { cgroupV2: true }).linux.resources.unified, { 'memory.high': '100000000' });
    assert.equal(withRes(u, { cgroupV2: false }).linux.resources.unified, undefined);
  });

  it('bad numbers are InvalidArgument', () => {
    assert.throws(() => withRes({ memory_limit_in_bytes: '9223372036854775807' }), errorOf('InvalidArgument', /out of range/));
    assert.throws(() => withRes({ cpu_shares: 'lots' }), errorOf('InvalidArgument'));
    assert.throws(() => withRes({ cpu_shares: '-2' }), errorOf('InvalidArgument'));
    assert.equal(int64('-1', 'x'), -1);
    assert.equal(int64('', 'x'), 0);
  });

  it('toOciResources is usable alone (UpdateContainerResources)', () => {
    assert.deepEqual(toOciResources(resources({ cpu_quota: '-1', memory_limit_in_bytes: '1048576' }), { cgroupV2: false }), {
      devices: [],
      memory: { limit: 1048576, swap: 1048576 },
      cpu: { quota: -1 },
    });
    assert.deepEqual(toOciResources(null, { cgroupV2: false }), { devices: [], memory: {}, cpu: {} });
  });
});

describe('oom_score_adj', () => {
  const cases: { requested: string; min: number; want: number }[] = [
    { requested: '1000', min: 0, want: 1000 },
    { requested: '-997', min: 0, want: 0 },
    { requested: '-997', min: -999, want: -997 },
    { requested: '0', min: 300, want: 300 },
    { requested: '5000', min: 0, want: 1000 },
  ];
  for (const c of cases) {
    it(`requested ${c.requested}, runtime at ${c.min} → ${c.want}`, () => {
      assert.equal(withRes({ oom_score_adj: c.requested }, { minOomScoreAdj: c.min }).process.oomScoreAdj, c.want);
    });
  }
  it('no resources: 0, still clamped', () => {
    assert.equal(buildContainerSpec(containerInput({ minOomScoreAdj: -500 })).process.oomScoreAdj, 0);
    assert.equal(buildContainerSpec(containerInput({ minOomScoreAdj: 200 })).process.oomScoreAdj, 200);
    assert.equal(clampOomScoreAdj(-1000, -1000), -1000);
  });
});

describe('devices', () => {
  const info = (p: string) =>
    p === '/dev/fuse'
      ? { type: 'c' as const, major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 }
      : p === '/dev/loop0'
        ? { type: 'b' as const, major: 7, minor: 0, fileMode: 0o60660, uid: 0, gid: 6 }
        : undefined;

  it('CRI devices become device nodes and allow rules', () => {
    const spec = buildContainerSpec(
      containerInput({
        deviceInfo: info,
        config: containerConfig({
          devices: [
            { host_path: '/dev/fuse', container_path: '/dev/fuse', permissions: 'rw' },
            { host_path: '/dev/loop0', container_path: '', permissions: '' },
          ],
        }),
      }),
    );
    assert.deepEqual(spec.linux.devices, [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 },
      { path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o60660, uid: 0, gid: 6 },
    ]);
    assert.deepEqual(spec.linux.resources.devices, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      { allow: true, type: 'b', major: 7, minor: 0, access: 'rwm' },
    ]);
  });

  it('a path that is not a device, or bad permissions, is InvalidArgument', () => {
    const spec = (d: { host_path: string; container_path: string; permissions: string }) =>
      buildContainerSpec(containerInput({ deviceInfo: info, config: containerConfig({ devices: [d] }) }));
    assert.throws(() => spec({ host_path: '/etc/passwd', container_path: '/x', permissions: 'r' }), errorOf('InvalidArgument', /not a character or block device/));
    assert.throws(() => spec({ host_path: '/dev/fuse', container_path: '/dev/fuse', permissions: 'rx' }), errorOf('InvalidArgument', /permissions/));
    assert.throws(() => spec({ host_path: '/dev/fuse', container_path: 'fuse', permissions: 'r' }), errorOf('InvalidArgument', /absolute/));
  });
});
