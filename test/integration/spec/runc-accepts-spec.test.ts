/**
 * Sanity check of the CRI→OCI translation against the real runc: specs built by buildContainerSpec
 * and buildSandboxSpec for a busybox rootfs must be accepted and run. Needs root, runc and
 * /bin/busybox (busybox-static). Everything is created under a temp dir and the cgroups under
 * /corelet-test/<id>, and removed afterwards even when a step fails.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildContainerSpec, buildSandboxSpec, parseCapabilityMask, type OciSpec } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, sandboxConfig, sandboxInput } from '../../unit/spec/fixtures.js';

const run = promisify(execFile);
const RUNC = '/usr/sbin/runc';
const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP_PARENT = 'corelet-test';

assert.equal(process.getuid?.(), 0, 'integration tests run as root');

const work = await mkdtemp(join(tmpdir(), 'corelet-spec-runc-'));
const state = join(work, 'state');
const created: string[] = [];

/** Removes a cgroup directory tree bottom-up (cgroupfs only allows rmdir of empty groups). */
async function removeCgroupTree(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // already gone
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

after(async () => {
  for (const id of created) await run(RUNC, ['--root', state, 'delete', '--force', id]).catch(() => undefined);
  for (const controller of await readdir(CGROUP_ROOT)) await removeCgroupTree(join(CGROUP_ROOT, controller, CGROUP_PARENT));
  await rm(work, { recursive: true, force: true });
  for (const controller of await readdir(CGROUP_ROOT)) {
    await assert.rejects(readdir(join(CGROUP_ROOT, controller, CGROUP_PARENT)), `cgroup ${controller}/${CGROUP_PARENT} left behind`);
  }
});

/** A bundle with a busybox rootfs (/bin/busybox, /bin/sh and a few applets as symlinks). */
async function bundle(id: string): Promise<{ dir: string; rootfs: string }> {
  const dir = join(work, id);
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const applet of ['sh', 'cat', 'grep', 'hostname', 'id', 'echo', 'touch', 'wc']) await symlink('busybox', join(rootfs, 'bin', applet));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  return { dir, rootfs };
}

/** Runs the spec to completion with `runc run` and returns its stdout. */
async function runSpec(id: string, dir: string, spec: OciSpec): Promise<string> {
  await writeFile(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  created.push(id);
  // The timeout only keeps a wedged runc from hanging the suite; nothing asserts on durations.
  const { stdout } = await run(RUNC, ['--root', state, 'run', '--bundle', dir, id], { timeout: 60_000 });
  return stdout;
}

const hostCaps = parseCapabilityMask(/CapBnd:\s*([0-9a-f]+)/.exec(await readFile('/proc/self/status', 'utf8'))![1]!);
const ownOom = Number((await readFile('/proc/self/oom_score_adj', 'utf8')).trim());

describe('runc accepts corelet specs', () => {
  it('a busybox container: host network, private ipc/uts/pid/mount, RuntimeDefault seccomp, limits', async () => {
    const id = `spec-ctr-${process.pid}`;
    const { dir, rootfs } = await bundle(id);
    const files = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
    await writeFile(files.hostname, 'spec-test\n');
    await writeFile(files.hosts, '127.0.0.1 localhost spec-test\n');
    await writeFile(files.resolvConf, 'nameserver 127.0.0.1\n');
    const spec = buildContainerSpec(
      containerInput({
        config: containerConfig(
          { command: ['sh', '-c', 'echo ok; id -u; grep Seccomp: /proc/self/status; hostname; cat /etc/hosts; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; cat /proc/self/oom_score_adj /proc/sys/kernel/shmmni /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares'] },
          { seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' }, no_new_privs: true, run_as_user: { value: '65534' } },
          { cpu_shares: '256', memory_limit_in_bytes: '67108864', oom_score_adj: '500' },
        ),
        sandboxConfig: sandboxConfig({ hostname: 'spec-test' }, undefined, { 'kernel.shmmni': '8192' }),
        rootfsPath: rootfs,
        passwd: await readFile(join(rootfs, 'etc/passwd'), 'utf8'),
        group: await readFile(join(rootfs, 'etc/group'), 'utf8'),
        namespaces: { ipc: 'new', uts: 'new', pid: 'new' },
        cgroupsPath: `/${CGROUP_PARENT}/${id}`,
        sandboxFiles: files,
        hostname: 'spec-test',
        minOomScoreAdj: ownOom,
        availableCapabilities: hostCaps,
      }),
    );
    const out = await runSpec(id, dir, spec);
    assert.match(out, /^ok\n65534\nSeccomp:\s+2\nspec-test\n127\.0\.0\.1 localhost spec-test\n0\n0\n500\n8192\n67108864\n256\n$/);
  });

  it('a privileged container gets every capability the runtime holds', async () => {
    const id = `spec-priv-${process.pid}`;
    const { dir, rootfs } = await bundle(id);
    const spec = buildContainerSpec(
      containerInput({
        config: containerConfig({ command: ['grep', 'CapEff:', '/proc/self/status'] }, { privileged: true }),
        sandboxConfig: sandboxConfig({}, { privileged: true }),
        rootfsPath: rootfs,
        namespaces: { ipc: 'new', uts: 'new', pid: 'new' },
        cgroupsPath: `/${CGROUP_PARENT}/${id}`,
        sandboxFiles: {},
        minOomScoreAdj: ownOom,
        availableCapabilities: hostCaps,
      }),
    );
    const out = await runSpec(id, dir, spec);
    const effective = parseCapabilityMask(/CapEff:\s*([0-9a-f]+)/.exec(out)![1]!);
    assert.deepEqual(effective, hostCaps);
  });

  it('a pause (sandbox) spec: read-only rootfs, no capabilities, own pid/ipc/uts', async () => {
    const id = `spec-pause-${process.pid}`;
    const { dir, rootfs } = await bundle(id);
    const spec = buildSandboxSpec(
      sandboxInput({
        id,
        args: ['/bin/sh', '-c', 'echo $$; hostname; grep CapEff: /proc/self/status; touch /x 2>/dev/null || echo ro-root'],
        rootfsPath: rootfs,
        netnsPath: null,
        config: sandboxConfig({ hostname: 'pod-host' }, {
          namespace_options: { network: 'NODE', pid: 'POD', ipc: 'POD', target_id: '', userns_options: null },
        }),
        cgroupsPath: `/${CGROUP_PARENT}/${id}`,
        minOomScoreAdj: ownOom,
      }),
    );
    // Host network means host UTS: the hostname stays the host's and is not in the spec.
    assert.equal(spec.hostname, undefined);
    const out = await runSpec(id, dir, spec);
    const hostHostname = (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim();
    assert.equal(out, `1\n${hostHostname}\nCapEff:\t0000000000000000\nro-root\n`);
  });
});
