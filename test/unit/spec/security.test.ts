import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANNOTATIONS,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  buildContainerSpec,
  normalizeSysctlName,
  validateSysctls,
} from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, errorOf, sandboxConfig } from './fixtures.js';

describe('masked and read-only paths', () => {
  it('defaults when the CRI gives none', () => {
    const spec = buildContainerSpec(containerInput());
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
    assert.deepEqual(spec.linux.readonlyPaths, [...DEFAULT_READONLY_PATHS]);
    assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
    assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  });
  it('the CRI lists replace the defaults', () => {
    const spec = buildContainerSpec(containerInput({ config: containerConfig({}, { masked_paths: ['/bin/ls'], readonly_paths: ['/tmp'] }) }));
    assert.deepEqual(spec.linux.maskedPaths, ['/bin/ls']);
    assert.deepEqual(spec.linux.readonlyPaths, ['/tmp']);
  });
  it('privileged containers have none', () => {
    const spec = buildContainerSpec(
      containerInput({ sandboxConfig: sandboxConfig({}, { privileged: true }), config: containerConfig({}, { privileged: true, masked_paths: ['/x'] }) }),
    );
    assert.deepEqual(spec.linux.maskedPaths, []);
    assert.deepEqual(spec.linux.readonlyPaths, []);
  });
});

describe('privileged, no_new_privs, readonly rootfs', () => {
  it('a privileged container needs a privileged sandbox', () => {
    assert.throws(() => buildContainerSpec(containerInput({ config: containerConfig({}, { privileged: true }) })), errorOf('InvalidArgument', /privileged/));
  });
  it('no_new_privs and readonly_rootfs are carried over', () => {
    const spec = buildContainerSpec(containerInput({ config: containerConfig({}, { no_new_privs: true, readonly_rootfs: true }) }));
    assert.equal(spec.process.noNewPrivileges, true);
    assert.equal(spec.root.readonly, true);
    const plain = buildContainerSpec(containerInput());
    assert.equal(plain.process.noNewPrivileges, false);
    assert.equal(plain.root.readonly, false);
    assert.equal(plain.root.path, '/run/corelet/containers/c1/rootfs');
  });
});

describe('AppArmor', () => {
  const profile = (over: Parameters<typeof containerConfig>[1], apparmorEnabled = false) =>
    buildContainerSpec(containerInput({ apparmorEnabled, config: containerConfig({}, over) })).process.apparmorProfile;
  it('unconfined and runtime/default need nothing on a host without AppArmor', () => {
    assert.equal(profile({ apparmor: { profile_type: 'Unconfined', localhost_ref: '' } }), undefined);
    assert.equal(profile({ apparmor: { profile_type: 'RuntimeDefault', localhost_ref: '' } }), undefined);
    assert.equal(profile({ apparmor_profile: 'runtime/default' }), undefined);
    assert.equal(profile({ apparmor_profile: 'unconfined' }), undefined);
  });
  it('a named profile on a host without AppArmor is a clear error', () => {
    assert.throws(() => profile({ apparmor: { profile_type: 'Localhost', localhost_ref: 'my-prof' } }), errorOf('InvalidArgument', /apparmor is not enabled/));
    assert.throws(() => profile({ apparmor_profile: 'localhost/my-prof' }), errorOf('InvalidArgument', /apparmor is not enabled/));
  });
  it('a named profile is applied where AppArmor exists', () => {
    assert.equal(profile({ apparmor: { profile_type: 'Localhost', localhost_ref: 'localhost/my-prof' } }, true), 'my-prof');
    assert.equal(profile({ apparmor_profile: 'localhost/other' }, true), 'other');
  });
  it('nonsense deprecated values are InvalidArgument', () => {
    assert.throws(() => profile({ apparmor_profile: 'whatever' }, true), errorOf('InvalidArgument'));
  });
});

describe('sysctls', () => {
  const own = { hostNetwork: false, hostIpc: false };
  it('namespaced sysctls are accepted', () => {
    const s = { 'kernel.shm_rmid_forced': '1', 'kernel.msgmax': '8192', 'kernel.sem': '250 32000 100 128', 'fs.mqueue.msg_max': '20', 'net.ipv4.ip_forward': '1', 'net.core.somaxconn': '1024' };
    assert.deepEqual(validateSysctls(s, own), s);
  });
  for (const name of ['kernel.hostname', 'vm.swappiness', 'kernel.pid_max', 'fs.file-max', 'kernel.domainname']) {
    it(`node-wide ${name} is InvalidArgument`, () => assert.throws(() => validateSysctls({ [name]: '1' }, own), errorOf('InvalidArgument', /not namespaced/)));
  }
  it('net.* is refused for host-network pods, IPC ones for host-IPC pods', () => {
    assert.throws(() => validateSysctls({ 'net.ipv4.ip_forward': '1' }, { hostNetwork: true, hostIpc: false }), errorOf('InvalidArgument', /host network/));
    assert.throws(() => validateSysctls({ 'kernel.shmmax': '1' }, { hostNetwork: false, hostIpc: true }), errorOf('InvalidArgument', /host IPC/));
    assert.deepEqual(validateSysctls({ 'kernel.shmmax': '1' }, { hostNetwork: true, hostIpc: false }), { 'kernel.shmmax': '1' });
  });
  it('slash-separated names are converted', () => {
    assert.equal(normalizeSysctlName('net/ipv4/conf/eth0.100/rp_filter'), 'net.ipv4.conf.eth0/100.rp_filter');
    assert.equal(normalizeSysctlName('net.ipv4.ip_forward'), 'net.ipv4.ip_forward');
    assert.deepEqual(validateSysctls({ 'net/ipv4/ip_forward': '1' }, own), { 'net.ipv4.ip_forward': '1' });
  });
  it('the container spec carries the pod sysctls, validated against its namespaces', () => {
    const sysctls = { 'net.ipv4.ping_group_range': '0 2147483647' };
    const spec = buildContainerSpec(containerInput({ sandboxConfig: sandboxConfig({}, undefined, sysctls) }));
    assert.deepEqual(spec.linux.sysctl, sysctls);
    assert.throws(
      () => buildContainerSpec(containerInput({ sandboxConfig: sandboxConfig({}, undefined, sysctls), namespaces: { pid: 'new' } })),
      errorOf('InvalidArgument', /host network/),
    );
  });
});

describe('annotations', () => {
  it('CRI annotations plus the containerd CRI ones', () => {
    const spec = buildContainerSpec(
      containerInput({ config: containerConfig({ annotations: { 'example.com/a': '1', [ANNOTATIONS.containerType]: 'spoofed' } }), imageName: 'busybox:1' }),
    );
    assert.deepEqual(spec.annotations, {
      'example.com/a': '1',
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.sandbox-id': 'sb1',
      'io.kubernetes.cri.sandbox-name': 'web',
      'io.kubernetes.cri.sandbox-namespace': 'default',
      'io.kubernetes.cri.sandbox-uid': 'uid-1',
      'io.kubernetes.cri.container-name': 'app',
      'io.kubernetes.cri.image-name': 'busybox:1',
    });
  });
  it('the image name defaults to the CRI image', () => {
    assert.equal(buildContainerSpec(containerInput()).annotations[ANNOTATIONS.imageName], 'docker.io/library/busybox:latest');
  });
});

describe('user namespaces', () => {
  it('POD mode is refused, NODE accepted', () => {
    const ns = (mode: 'POD' | 'NODE') => ({ network: 'POD' as const, pid: 'POD' as const, ipc: 'POD' as const, target_id: '', userns_options: { mode, uids: [], gids: [] } });
    assert.throws(() => buildContainerSpec(containerInput({ config: containerConfig({}, { namespace_options: ns('POD') }) })), errorOf('InvalidArgument', /user namespace/));
    assert.doesNotThrow(() => buildContainerSpec(containerInput({ config: containerConfig({}, { namespace_options: ns('NODE') }) })));
  });
});
