import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseCgroupDriver } from '../../../src/agent/agent.js';
import { silentLogger } from '../../../src/lib/index.js';

/** A CRI client whose RuntimeConfig answers answer, or fails as containerd 1.6 does (Unimplemented). */
const cri = (answer: object | 'unimplemented') => ({
  runtime: {
    RuntimeConfig: async () => {
      if (answer === 'unimplemented') throw Object.assign(new Error('12 UNIMPLEMENTED: unknown method RuntimeConfig for service runtime.v1.RuntimeService'), { code: 12 });
      return answer;
    },
  },
}) as never;

test('the agent takes the runtime\'s cgroup driver when --cgroup-driver is not given, as the kubelet\'s KubeletCgroupDriverFromCRI', async (t) => {
  const v1Root = await mkdtemp(join(tmpdir(), 'cgd-v1-')); // no cgroup.controllers: the default is cgroupfs
  t.after(() => rm(v1Root, { recursive: true, force: true }));
  assert.equal(await chooseCgroupDriver(cri({ linux: { cgroup_driver: 'SYSTEMD' } }), { cgroupRoot: v1Root }, silentLogger), 'systemd');
  assert.equal(await chooseCgroupDriver(cri({ linux: { cgroup_driver: 'CGROUPFS' } }), { cgroupRoot: v1Root }, silentLogger), 'cgroupfs');
  // no answer (containerd 1.6), or an answer without linux: the flag's default
  assert.equal(await chooseCgroupDriver(cri('unimplemented'), { cgroupRoot: v1Root }, silentLogger), 'cgroupfs');
  assert.equal(await chooseCgroupDriver(cri({}), { cgroupRoot: v1Root }, silentLogger), 'cgroupfs');
  // the flag wins when given
  assert.equal(await chooseCgroupDriver(cri({ linux: { cgroup_driver: 'SYSTEMD' } }), { cgroupRoot: v1Root, cgroupDriver: 'cgroupfs' }, silentLogger), 'cgroupfs');
  assert.equal(await chooseCgroupDriver(cri('unimplemented'), { cgroupRoot: v1Root, cgroupDriver: 'systemd' }, silentLogger), 'systemd');
});
