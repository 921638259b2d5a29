import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSandboxSpec, DEFAULT_MASKED_PATHS, DEFAULT_PATH_ENV, defaultSeccompProfile } from '../../../src/runtime/spec/index.js';
import type { NamespaceOption__Output } from '../../../src/cri/generated/runtime/v1/NamespaceOption.js';
import { errorOf, sandboxConfig, sandboxInput } from './fixtures.js';

const nsOpts = (over: Partial<NamespaceOption__Output>): NamespaceOption__Output => ({
  network: 'POD',
  pid: 'POD',
  ipc: 'POD',
  target_id: '',
  userns_options: null,
  ...over,
});

describe('pause container spec', () => {
  it('runs /pause read-only, without capabilities, with no_new_privs', () => {
    const spec = buildSandboxSpec(sandboxInput());
    assert.equal(spec.ociVersion, '1.0.2');
    assert.deepEqual(spec.process.args, ['/pause']);
    assert.deepEqual(spec.process.env, [DEFAULT_PATH_ENV]);
    assert.equal(spec.process.cwd, '/');
    assert.deepEqual(spec.root, { path: '/usr/lib/corelet/pause/rootfs', readonly: true });
    assert.equal(spec.process.noNewPrivileges, true);
    assert.deepEqual(spec.process.capabilities, { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] });
    assert.deepEqual(spec.process.user, { uid: 0, gid: 0, additionalGids: [0] });
    assert.equal(spec.linux.cgroupsPath, '/kubepods/pod-uid-1/sb1');
    assert.deepEqual(spec.linux.resources.cpu, { shares: 2 });
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
    assert.equal(spec.linux.seccomp, undefined);
    assert.equal(spec.hostname, 'web');
  });

  it('IPC and UTS namespaces made beforehand are joined by path, with the hostname still set', () => {
    const spec = buildSandboxSpec(sandboxInput({ namespacePaths: { ipc: '/run/pins/sb1/ipc', uts: '/run/pins/sb1/uts' } }));
    const ns = spec.linux.namespaces;
    assert.deepEqual(ns.find((n) => n.type === 'ipc'), { type: 'ipc', path: '/run/pins/sb1/ipc' });
    assert.deepEqual(ns.find((n) => n.type === 'uts'), { type: 'uts', path: '/run/pins/sb1/uts' });
    assert.equal(spec.hostname, 'web');
    // host IPC: no IPC namespace at all, whatever path was given
    const hostIpc = buildSandboxSpec(sandboxInput({ namespacePaths: { ipc: '/run/pins/sb1/ipc' }, config: sandboxConfig({}, { namespace_options: nsOpts({ ipc: 'NODE' }) }) }));
    assert.equal(hostIpc.linux.namespaces.find((n) => n.type === 'ipc'), undefined);
  });

  it('oom_score_adj -998, raised to the runtime\'s own', () => {
    assert.equal(buildSandboxSpec(sandboxInput({ minOomScoreAdj: -999 })).process.oomScoreAdj, -998);
    assert.equal(buildSandboxSpec(sandboxInput({ minOomScoreAdj: 0 })).process.oomScoreAdj, 0);
  });

  const nsCases: { name: string; opts: Partial<NamespaceOption__Output>; netns?: string | null; cgroupV2?: boolean; want: object[]; hostname?: string }[] = [
    {
      name: 'default pod: joins its netns, new pid/ipc/uts/mount',
      opts: {},
      want: [{ type: 'pid' }, { type: 'network', path: '/run/netns/corelet-sb1' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      hostname: 'web',
    },
    {
      name: 'host network: no network or UTS namespace, no hostname',
      opts: { network: 'NODE' },
      netns: null,
      want: [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }],
    },
    { name: 'host IPC', opts: { ipc: 'NODE' }, want: [{ type: 'pid' }, { type: 'network', path: '/run/netns/corelet-sb1' }, { type: 'uts' }, { type: 'mount' }], hostname: 'web' },
    { name: 'host PID', opts: { pid: 'NODE' }, want: [{ type: 'network', path: '/run/netns/corelet-sb1' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }], hostname: 'web' },
    {
      name: 'CONTAINER pid still gives the pause its own',
      opts: { pid: 'CONTAINER' },
      want: [{ type: 'pid' }, { type: 'network', path: '/run/netns/corelet-sb1' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      hostname: 'web',
    },
    {
      name: 'no netns path: a new network namespace',
      opts: {},
      netns: null,
      want: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      hostname: 'web',
    },
    {
      name: 'cgroup v2: a cgroup namespace too',
      opts: { network: 'NODE', pid: 'NODE', ipc: 'NODE' },
      cgroupV2: true,
      want: [{ type: 'mount' }, { type: 'cgroup' }],
    },
  ];
  for (const c of nsCases) {
    it(`namespaces: ${c.name}`, () => {
      const spec = buildSandboxSpec(
        sandboxInput({
          config: sandboxConfig({}, { namespace_options: nsOpts(c.opts) }),
          netnsPath: c.netns === undefined ? '/run/netns/corelet-sb1' : c.netns,
          cgroupV2: c.cgroupV2 ?? false,
        }),
      );
      assert.deepEqual(spec.linux.namespaces, c.want);
      assert.equal(spec.hostname, c.hostname);
    });
  }

  it('TARGET pid and user namespaces are refused', () => {
    assert.throws(() => buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, { namespace_options: nsOpts({ pid: 'TARGET' }) }) })), errorOf('InvalidArgument'));
    assert.throws(
      () => buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, { namespace_options: nsOpts({ userns_options: { mode: 'POD', uids: [], gids: [] } }) }) })),
      errorOf('InvalidArgument', /user namespace/),
    );
  });

  it('hostname from the input wins over the config', () => {
    assert.equal(buildSandboxSpec(sandboxInput({ hostname: 'other' })).hostname, 'other');
    assert.equal(buildSandboxSpec(sandboxInput({ config: sandboxConfig({ hostname: '' }) })).hostname, undefined);
  });

  it('user, group and supplemental groups from the sandbox security context', () => {
    const spec = buildSandboxSpec(
      sandboxInput({ config: sandboxConfig({}, { run_as_user: { value: '65535' }, run_as_group: { value: '65534' }, supplemental_groups: ['7', '3'] }) }),
    );
    assert.deepEqual(spec.process.user, { uid: 65535, gid: 65534, additionalGids: [3, 7, 65534] });
    assert.throws(() => buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, { run_as_group: { value: '1' } }) })), errorOf('InvalidArgument'));
  });

  it('seccomp: unset is unconfined; RuntimeDefault applies; privileged skips it', () => {
    const rd = { profile_type: 'RuntimeDefault' as const, localhost_ref: '' };
    assert.deepEqual(buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, { seccomp: rd }) })).linux.seccomp, defaultSeccompProfile([]));
    assert.equal(buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, { seccomp: rd, privileged: true }) })).linux.seccomp, undefined);
  });

  it('sysctls are validated against the pod namespaces', () => {
    const sysctls = { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmni': '8192' };
    assert.deepEqual(buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, undefined, sysctls) })).linux.sysctl, sysctls);
    assert.throws(
      () => buildSandboxSpec(sandboxInput({ netnsPath: null, config: sandboxConfig({}, { namespace_options: nsOpts({ network: 'NODE' }) }, sysctls) })),
      errorOf('InvalidArgument', /host network/),
    );
    assert.throws(() => buildSandboxSpec(sandboxInput({ config: sandboxConfig({}, undefined, { 'vm.overcommit_memory': '1' }) })), errorOf('InvalidArgument'));
  });

  it('mounts the pod /dev/shm and resolv.conf read-only', () => {
    const spec = buildSandboxSpec(sandboxInput({ sandboxFiles: { shm: '/sb/shm', resolvConf: '/sb/resolv.conf' } }));
    const shm = spec.mounts.filter((m) => m.destination === '/dev/shm');
    assert.deepEqual(shm, [{ destination: '/dev/shm', type: 'bind', source: '/sb/shm', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] }]);
    assert.equal(spec.mounts.find((m) => m.destination === '/etc/resolv.conf')!.source, '/sb/resolv.conf');
    assert.equal(spec.mounts.some((m) => m.destination === '/sys/fs/cgroup'), false);
  });

  it('annotations say sandbox', () => {
    const spec = buildSandboxSpec(sandboxInput({ config: sandboxConfig({ annotations: { a: 'b' } }) }));
    assert.deepEqual(spec.annotations, {
      a: 'b',
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': 'sb1',
      'io.kubernetes.cri.sandbox-name': 'web',
      'io.kubernetes.cri.sandbox-namespace': 'default',
      'io.kubernetes.cri.sandbox-uid': 'uid-1',
      'io.kubernetes.cri.sandbox-log-directory': '/var/log/pods/default_web_uid-1',
    });
  });

  it('custom args and env', () => {
    const spec = buildSandboxSpec(sandboxInput({ args: ['/bin/pause', '-x'], env: ['A=1'] }));
    assert.deepEqual(spec.process.args, ['/bin/pause', '-x']);
    assert.deepEqual(spec.process.env, ['A=1']);
  });
});
