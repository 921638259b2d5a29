import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, type ContainerNamespaces } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, sandboxConfig } from './fixtures.js';

const pod = { network: '/run/netns/n', ipc: '/proc/9/ns/ipc', uts: '/proc/9/ns/uts' };

describe('container namespaces', () => {
  const cases: { name: string; ns: ContainerNamespaces; cgroupV2?: boolean; want: { type: string; path?: string }[]; hostname: boolean }[] = [
    {
      name: 'POD pid: joins the pause PID namespace',
      ns: { ...pod, pid: '/proc/9/ns/pid' },
      want: [
        { type: 'pid', path: '/proc/9/ns/pid' },
        { type: 'network', path: '/run/netns/n' },
        { type: 'ipc', path: '/proc/9/ns/ipc' },
        { type: 'uts', path: '/proc/9/ns/uts' },
        { type: 'mount' },
      ],
      hostname: true,
    },
    {
      name: 'CONTAINER pid: a new PID namespace',
      ns: { ...pod, pid: 'new' },
      want: [{ type: 'pid' }, { type: 'network', path: '/run/netns/n' }, { type: 'ipc', path: '/proc/9/ns/ipc' }, { type: 'uts', path: '/proc/9/ns/uts' }, { type: 'mount' }],
      hostname: true,
    },
    {
      name: 'NODE pid: the host PID namespace',
      ns: { ...pod, pid: 'host' },
      want: [{ type: 'network', path: '/run/netns/n' }, { type: 'ipc', path: '/proc/9/ns/ipc' }, { type: 'uts', path: '/proc/9/ns/uts' }, { type: 'mount' }],
      hostname: true,
    },
    {
      name: 'host network, IPC and UTS: only mount (and pid)',
      ns: { pid: 'new' },
      want: [{ type: 'pid' }, { type: 'mount' }],
      hostname: false,
    },
    {
      name: 'private IPC and UTS (no pod to share them with)',
      ns: { ipc: 'new', uts: 'new', pid: 'new' },
      want: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      hostname: true,
    },
    {
      name: 'cgroup v2 adds a cgroup namespace',
      ns: { ...pod, pid: 'new' },
      cgroupV2: true,
      want: [
        { type: 'pid' },
        { type: 'network', path: '/run/netns/n' },
        { type: 'ipc', path: '/proc/9/ns/ipc' },
        { type: 'uts', path: '/proc/9/ns/uts' },
        { type: 'mount' },
        { type: 'cgroup' },
      ],
      hostname: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec = buildContainerSpec(containerInput({ namespaces: c.ns, cgroupV2: c.cgroupV2 ?? false }));
      assert.deepEqual(spec.linux.namespaces, c.want);
      // runc refuses a hostname without a UTS namespace of the container's own (or its pod's)
      assert.equal(spec.hostname, c.hostname ? 'web' : undefined);
      assert.ok(spec.process.env.includes('HOSTNAME=web'));
    });
  }
  it('privileged containers get no cgroup namespace, and the host devices', () => {
    const spec = buildContainerSpec(
      containerInput({
        cgroupV2: true,
        hostDevices: [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o20644, uid: 0, gid: 0 }],
        sandboxConfig: sandboxConfig({}, { privileged: true }),
        config: containerConfig({}, { privileged: true }),
      }),
    );
    assert.equal(spec.linux.namespaces.some((n) => n.type === 'cgroup'), false);
    assert.deepEqual(spec.linux.devices.map((d) => d.path), ['/dev/kmsg']);
    assert.deepEqual(spec.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  });
  it('host devices are not given to unprivileged containers', () => {
    const spec = buildContainerSpec(containerInput({ hostDevices: [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }] }));
    assert.deepEqual(spec.linux.devices, []);
  });
});
