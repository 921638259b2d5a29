import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, type OciMount } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, errorOf, mount, sandboxConfig } from './fixtures.js';
import type { Mount__Output } from '../../../src/cri/generated/runtime/v1/Mount.js';

const specWith = (mounts: Mount__Output[], sc: Parameters<typeof containerConfig>[1] = {}, over: Parameters<typeof containerInput>[0] = {}) =>
  buildContainerSpec(containerInput({ config: containerConfig({ mounts }, sc), ...over }));
const at = (mounts: OciMount[], dest: string) => mounts.filter((m) => m.destination === dest);

describe('default mounts', () => {
  it('proc, /dev, pts, shm bind, mqueue, read-only sys and cgroup, then the pod files', () => {
    const spec = specWith([]);
    assert.deepEqual(
      spec.mounts.map((m) => [m.destination, m.type]),
      [
        ['/proc', 'proc'],
        ['/dev', 'tmpfs'],
        ['/dev/pts', 'devpts'],
        ['/dev/mqueue', 'mqueue'],
        ['/sys', 'sysfs'],
        ['/sys/fs/cgroup', 'cgroup'],
        ['/etc/hostname', 'bind'],
        ['/etc/hosts', 'bind'],
        ['/etc/resolv.conf', 'bind'],
        ['/dev/shm', 'bind'],
      ],
    );
    assert.ok(at(spec.mounts, '/sys')[0]!.options.includes('ro'));
    assert.ok(at(spec.mounts, '/sys/fs/cgroup')[0]!.options.includes('ro'));
    assert.deepEqual(at(spec.mounts, '/etc/hosts')[0], {
      destination: '/etc/hosts',
      type: 'bind',
      source: '/var/lib/corelet/sandboxes/sb1/hosts',
      options: ['rbind', 'rprivate', 'rw'],
    });
    assert.deepEqual(at(spec.mounts, '/dev/shm')[0]!.source, '/var/lib/corelet/sandboxes/sb1/shm');
    assert.equal(spec.linux.rootfsPropagation, undefined);
  });

  it('without a pod /dev/shm the default tmpfs stays', () => {
    const spec = specWith([], {}, { sandboxFiles: {} });
    assert.equal(at(spec.mounts, '/dev/shm')[0]!.type, 'tmpfs');
    assert.equal(at(spec.mounts, '/etc/hosts').length, 0);
  });

  it('privileged: /sys and cgroupfs writable', () => {
    const spec = specWith([], { privileged: true }, { sandboxConfig: sandboxConfig({}, { privileged: true }) });
    assert.ok(at(spec.mounts, '/sys')[0]!.options.includes('rw'));
    assert.ok(!at(spec.mounts, '/sys')[0]!.options.includes('ro'));
    assert.ok(at(spec.mounts, '/sys/fs/cgroup')[0]!.options.includes('rw'));
  });

  it('read-only rootfs makes the pod /etc files read-only but not /dev/shm', () => {
    const spec = specWith([], { readonly_rootfs: true });
    assert.equal(spec.root.readonly, true);
    for (const f of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) assert.ok(at(spec.mounts, f)[0]!.options.includes('ro'), f);
    assert.ok(at(spec.mounts, '/dev/shm')[0]!.options.includes('rw'));
  });
});

describe('CRI mounts', () => {
  const cases: { name: string; m: Mount__Output; options: string[]; rootfs?: string }[] = [
    { name: 'private rw', m: mount({ container_path: '/data', host_path: '/srv/data' }), options: ['rbind', 'rprivate', 'rw'] },
    { name: 'read-only', m: mount({ container_path: '/data', host_path: '/srv/data', readonly: true }), options: ['rbind', 'rprivate', 'ro'] },
    {
      name: 'host-to-container → rslave',
      m: mount({ container_path: '/data', host_path: '/srv/data', propagation: 'PROPAGATION_HOST_TO_CONTAINER' }),
      options: ['rbind', 'rslave', 'rw'],
      rootfs: 'rslave',
    },
    {
      name: 'bidirectional → rshared',
      m: mount({ container_path: '/data', host_path: '/srv/data', propagation: 'PROPAGATION_BIDIRECTIONAL' }),
      options: ['rbind', 'rshared', 'rw'],
      rootfs: 'rshared',
    },
    {
      name: 'recursive read-only',
      m: mount({ container_path: '/data', host_path: '/srv/data', readonly: true, recursive_read_only: true }),
      options: ['rbind', 'rprivate', 'rro'],
    },
    {
      name: 'mount_options noexec, nodev, nosuid (CRI v1.37), once each',
      m: mount({ container_path: '/data', host_path: '/srv/data', readonly: true, mount_options: ['noexec', 'nodev', 'nosuid', 'noexec'] }),
      options: ['rbind', 'rprivate', 'ro', 'noexec', 'nodev', 'nosuid'],
    },
    {
      name: 'selinux_relabel is ignored',
      m: mount({ container_path: '/data', host_path: '/srv/data', selinux_relabel: true }),
      options: ['rbind', 'rprivate', 'rw'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec = specWith([c.m]);
      assert.deepEqual(at(spec.mounts, '/data'), [{ destination: '/data', type: 'bind', source: '/srv/data', options: c.options }]);
      assert.equal(spec.linux.rootfsPropagation, c.rootfs);
    });
  }

  it('rshared wins over rslave for the root propagation, in either order', () => {
    const a = mount({ container_path: '/a', host_path: '/a', propagation: 'PROPAGATION_BIDIRECTIONAL' });
    const b = mount({ container_path: '/b', host_path: '/b', propagation: 'PROPAGATION_HOST_TO_CONTAINER' });
    assert.equal(specWith([a, b]).linux.rootfsPropagation, 'rshared');
    assert.equal(specWith([b, a]).linux.rootfsPropagation, 'rshared');
  });

  it('CRI mounts override the pod files and default mounts with the same destination', () => {
    const spec = specWith([
      mount({ container_path: '/etc/hosts', host_path: '/my/hosts', readonly: true }),
      mount({ container_path: '/etc/resolv.conf/', host_path: '/my/resolv' }),
      mount({ container_path: '/sys/fs/cgroup', host_path: '/sys/fs/cgroup' }),
      mount({ container_path: '/dev/shm', host_path: '/my/shm' }),
    ]);
    assert.deepEqual(at(spec.mounts, '/etc/hosts').map((m) => m.source), ['/my/hosts']);
    assert.deepEqual(spec.mounts.filter((m) => m.destination.startsWith('/etc/resolv.conf')).map((m) => m.source), ['/my/resolv']);
    assert.deepEqual(at(spec.mounts, '/sys/fs/cgroup').map((m) => m.type), ['bind']);
    assert.deepEqual(at(spec.mounts, '/dev/shm').map((m) => m.source), ['/my/shm']);
    assert.equal(at(spec.mounts, '/etc/hostname').length, 1, 'the untouched pod files stay');
  });

  it('a /dev bind mount drops every default mount under /dev', () => {
    const spec = specWith([mount({ container_path: '/dev', host_path: '/dev' })]);
    assert.deepEqual(
      spec.mounts.filter((m) => m.destination.startsWith('/dev')).map((m) => [m.destination, m.type]),
      [
        ['/dev', 'bind'],
        ['/dev/shm', 'bind'],
      ],
    );
  });

  it('binds are ordered by depth so parents are mounted first, keeping request order otherwise', () => {
    const spec = specWith([
      mount({ container_path: '/a/b/c', host_path: '/h1' }),
      mount({ container_path: '/x', host_path: '/h2' }),
      mount({ container_path: '/a/b', host_path: '/h3' }),
      mount({ container_path: '/y', host_path: '/h4' }),
    ]);
    const binds = spec.mounts.filter((m) => m.type === 'bind').map((m) => m.destination);
    assert.ok(binds.indexOf('/x') < binds.indexOf('/y'));
    assert.ok(binds.indexOf('/y') < binds.indexOf('/a/b'));
    assert.ok(binds.indexOf('/a/b') < binds.indexOf('/a/b/c'));
  });

  const bad: [string, Mount__Output, RegExp][] = [
    ['relative container path', mount({ container_path: 'data', host_path: '/srv' }), /absolute/],
    ['no host path', mount({ container_path: '/data', host_path: '' }), /host_path/],
    [
      'image volume',
      { ...mount({ container_path: '/data', host_path: '' }), image: { image: 'x', annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' } },
      /image volume/,
    ],
    ['an unknown mount option', mount({ container_path: '/data', host_path: '/srv', mount_options: ['exec'] }), /mount at \/data: mount_options "exec" is not supported \(supported: noexec, nodev, nosuid\)/],
    ['rro without ro', mount({ container_path: '/data', host_path: '/srv', recursive_read_only: true }), /requires readonly/],
    [
      'rro with rslave',
      mount({ container_path: '/data', host_path: '/srv', readonly: true, recursive_read_only: true, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }),
      /private/,
    ],
  ];
  for (const [name, m, re] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => specWith([m]), errorOf('InvalidArgument', re)));
  }
});
