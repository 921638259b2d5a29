import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, defaultSeccompProfile, parseSeccompProfile, seccompArch, seccompChoice, type OciSeccomp } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, errorOf, sandboxConfig } from './fixtures.js';

const allowed = (p: OciSeccomp) => new Set(p.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names));

describe('default seccomp profile', () => {
  const p = defaultSeccompProfile(['CAP_CHOWN', 'CAP_SETUID'], 'x64');
  it('denies by default with EPERM, on all x86 ABIs (x86_64)', () => {
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });
  it('allows what shells, libc, nginx and language runtimes call', () => {
    const a = allowed(p);
    for (const name of [
      'read', 'write', 'openat', 'close', 'execve', 'mmap', 'brk', 'arch_prctl', 'set_tid_address', 'rt_sigaction', 'wait4', 'fork', 'vfork',
      'getdents64', 'newfstatat', 'statx', 'ioctl', 'fcntl', 'dup2', 'pipe2', 'accept4', 'epoll_wait', 'epoll_pwait', 'sendfile', 'setsockopt',
      'bind', 'listen', 'setgroups', 'setuid', 'setgid', 'prctl', 'futex', 'clock_nanosleep', 'getrandom', 'rseq', 'prlimit64', 'uname', 'kill',
      'chmod', 'fchownat', 'socketpair', 'io_setup', 'eventfd2', 'memfd_create', 'ptrace',
    ]) {
      assert.ok(a.has(name), `${name} should be allowed`);
    }
  });
  it('blocks the dangerous ones', () => {
    const a = allowed(p);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'kexec_load', 'init_module', 'reboot', 'swapon',
      'pivot_root', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'sethostname', 'clock_settime', 'chroot', 'open_by_handle_at']) {
      assert.ok(!a.has(name), `${name} should be blocked`);
    }
  });
  it('clone may not create namespaces and clone3 falls back with ENOSYS', () => {
    const clone = p.syscalls.find((s) => s.names.includes('clone'))!;
    assert.deepEqual(clone.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    assert.deepEqual(p.syscalls.find((s) => s.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });
  it('socket is allowed except AF_VSOCK; personality only for safe values', () => {
    assert.deepEqual(p.syscalls.find((s) => s.names.includes('socket'))!.args, [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]);
    const personalities = p.syscalls.filter((s) => s.names.includes('personality')).map((s) => s.args![0]!.value);
    assert.deepEqual(personalities, [0, 8, 0x20000, 0x20008, 0xffffffff]);
  });
  it('capabilities open their system calls', () => {
    const admin = defaultSeccompProfile(['CAP_SYS_ADMIN', 'CAP_SYS_CHROOT', 'CAP_SYS_TIME', 'CAP_SYS_PTRACE'], 'x64');
    const a = allowed(admin);
    for (const name of ['mount', 'unshare', 'setns', 'sethostname', 'clone', 'clone3', 'chroot', 'clock_settime', 'kcmp']) assert.ok(a.has(name), name);
    assert.equal(admin.syscalls.some((s) => s.names.includes('clone') && s.args), false, 'no clone restriction with CAP_SYS_ADMIN');
    assert.equal(admin.syscalls.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO'), false);
  });
});

describe('the seccomp architecture follows the host (process.arch), x86_64 is not assumed', () => {
  it('defaults to this host\'s architecture', () => {
    assert.deepEqual(defaultSeccompProfile([]), defaultSeccompProfile([], process.arch));
    assert.deepEqual(defaultSeccompProfile([]).architectures, seccompArch(process.arch).architectures);
  });
  it('arm64: AArch64 and 32-bit ARM, the ARM calls, no x86 ones', () => {
    const p = defaultSeccompProfile(['CAP_CHOWN'], 'arm64');
    assert.deepEqual(p.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    const a = allowed(p);
    for (const name of ['set_tls', 'cacheflush', 'arm_fadvise64_64', 'read', 'openat', 'execve']) assert.ok(a.has(name), `${name} should be allowed`);
    for (const name of ['arch_prctl', 'modify_ldt']) assert.ok(!a.has(name), `${name} should not be listed`);
    assert.deepEqual(p.syscalls.find((s) => s.names.includes('clone'))!.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  });
  it('x86_64: x86_64, i386 and x32, with arch_prctl and modify_ldt', () => {
    const p = defaultSeccompProfile([], 'x64');
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.ok(allowed(p).has('arch_prctl') && allowed(p).has('modify_ldt'));
  });
  it('s390x: both s390 ABIs, and clone\'s flags are its second argument', () => {
    const p = defaultSeccompProfile([], 's390x');
    assert.deepEqual(p.architectures, ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']);
    assert.ok(allowed(p).has('s390_runtime_instr'));
    assert.deepEqual(p.syscalls.find((s) => s.names.includes('clone'))!.args, [{ index: 1, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  });
  it('an architecture corelet has no list for gets none: runc then filters the native ABI only', () => {
    const p = defaultSeccompProfile([], 'ppc');
    assert.deepEqual(p.architectures, []);
    assert.ok(allowed(p).has('read') && !allowed(p).has('arch_prctl'));
  });
  it('profile files: archMap and includes/excludes arches are read for the given architecture', () => {
    const text = JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
      syscalls: [
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
        { names: ['set_tls'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
        { names: ['sync_file_range'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['SCMP_ARCH_AARCH64'] } },
      ],
    });
    assert.deepEqual(parseSeccompProfile(text, [], 'arm64'), {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
      syscalls: [{ names: ['set_tls'], action: 'SCMP_ACT_ALLOW' }],
    });
    assert.deepEqual(parseSeccompProfile(text, [], 'x64'), {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
        { names: ['sync_file_range'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
  });
});

describe('seccomp profile files', () => {
  it('converts a Docker-style profile', () => {
    const text = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
      syscalls: [
        { names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' },
        { name: 'sethostname', action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['reboot'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_CHOWN'] } },
        { names: ['s390_runtime_instr'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['s390x'] } },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }], comment: 'x' },
      ],
    });
    assert.deepEqual(parseSeccompProfile(text, ['CAP_CHOWN'], 'x64'), {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' },
        { names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      ],
    });
  });
  const bad: [string, string, RegExp][] = [
    ['not JSON', '{nope', /not valid JSON/],
    ['not an object', '[1]', /JSON object/],
    ['no defaultAction', '{}', /defaultAction/],
    ['unknown action', '{"defaultAction":"SCMP_ACT_PARTY"}', /defaultAction/],
    ['bad syscall action', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"nope"}]}', /action/],
    ['bad operator', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"LT"}]}]}', /operator/],
    ['name and names', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}', /both/],
    ['both arch fields', '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}', /either/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => parseSeccompProfile(text), errorOf('InvalidArgument', re)));
  }
});

describe('seccomp choice in the container spec', () => {
  const block = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sethostname"],"action":"SCMP_ACT_ERRNO"}]}';
  const spec = (sc: Parameters<typeof containerConfig>[1], over: Parameters<typeof containerInput>[0] = {}) =>
    buildContainerSpec(containerInput({ seccompLocalhost: (p) => (p === '/profiles/block.json' ? block : (() => { throw new Error(`ENOENT: ${p}`); })()), config: containerConfig({}, sc), ...over }));

  it('unset (nil profile) is unconfined', () => {
    assert.equal(spec({}).linux.seccomp, undefined);
    assert.equal(buildContainerSpec(containerInput()).linux.seccomp, undefined);
  });
  it('Unconfined', () => assert.equal(spec({ seccomp: { profile_type: 'Unconfined', localhost_ref: '' } }).linux.seccomp, undefined));
  it('RuntimeDefault (also an empty SecurityProfile) is the default profile for the container\'s capabilities', () => {
    const s = spec({ seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' } });
    assert.deepEqual(s.linux.seccomp, defaultSeccompProfile(s.process.capabilities.bounding));
  });
  it('RuntimeDefault with SYS_ADMIN allows sethostname', () => {
    const s = spec({ seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' }, capabilities: { add_capabilities: ['SYS_ADMIN'], drop_capabilities: [], add_ambient_capabilities: [] } });
    assert.ok(allowed(s.linux.seccomp!).has('sethostname'));
  });
  it('Localhost reads the file through the callback', () => {
    const s = spec({ seccomp: { profile_type: 'Localhost', localhost_ref: '/profiles/block.json' } });
    assert.deepEqual(s.linux.seccomp!.syscalls, [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }]);
  });
  it('Localhost: unreadable or invalid files are InvalidArgument', () => {
    assert.throws(() => spec({ seccomp: { profile_type: 'Localhost', localhost_ref: '/missing.json' } }), errorOf('InvalidArgument', /ENOENT/));
    assert.throws(() => spec({ seccomp: { profile_type: 'Localhost', localhost_ref: '/profiles/block.json' } }, { seccompLocalhost: () => 'garbage' }), errorOf('InvalidArgument', /JSON/));
    assert.throws(() => spec({ seccomp: { profile_type: 'Localhost', localhost_ref: '' } }), errorOf('InvalidArgument'));
  });
  it('privileged containers ignore any profile', () => {
    const s = spec(
      { privileged: true, seccomp: { profile_type: 'Localhost', localhost_ref: '/profiles/block.json' } },
      { sandboxConfig: sandboxConfig({}, { privileged: true }) },
    );
    assert.equal(s.linux.seccomp, undefined);
  });
  it('the deprecated seccomp_profile_path', () => {
    assert.deepEqual(seccompChoice(null, ''), { type: 'Unconfined' });
    assert.deepEqual(seccompChoice(null, 'unconfined'), { type: 'Unconfined' });
    assert.deepEqual(seccompChoice(null, 'runtime/default'), { type: 'RuntimeDefault' });
    assert.deepEqual(seccompChoice(null, 'docker/default'), { type: 'RuntimeDefault' });
    assert.deepEqual(seccompChoice(null, 'localhost//profiles/block.json'), { type: 'Localhost', path: '/profiles/block.json' });
    assert.throws(() => seccompChoice(null, 'bogus'), errorOf('InvalidArgument'));
    assert.deepEqual(spec({ seccomp_profile_path: 'localhost//profiles/block.json' }).linux.seccomp!.defaultAction, 'SCMP_ACT_ALLOW');
  });
});
