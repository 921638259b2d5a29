/**
 * The container lifecycle under each OCI runtime this host has (runc and crun): create, start,
 * exec (ExecSync and streaming), UpdateContainerResources, stop and removal; and the pod cgroups a
 * sandbox leaves: none the runtime made, never one it did not make.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Cgroups, detectCgroupMode } from '../../../src/host/index.js';
import { findExecutable } from '../../../src/runtime/index.js';
import { BUSYBOX, cgroupExists, cgroupRoots, removeCgroupTree, RuntimeHarness } from '../../helpers/runtime-harness.js';

// Host-network pods: the lifecycle under test needs no pod network (and no subnet of its own).
const HOST_NETWORK = { linux: { security_context: { namespace_options: { network: 2 } } } };
const MiB = 1024 * 1024;

for (const oci of ['runc', 'crun']) {
  const missing = findExecutable(oci) === undefined;
  describe(`under ${oci}`, { skip: missing ? `${oci} is not installed` : false }, () => {
    let h: RuntimeHarness;
    const cgroups = new Cgroups();
    // crun 1.x runs on v2 or v1 hosts, not on a hybrid one whose v2 mount holds a controller: to
    // crun's daemon this host is shown as v1 (see hideCgroupV2).
    const hideCgroupV2 = oci === 'crun' && detectCgroupMode() === 'hybrid';
    before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX], ociRuntime: oci, prefix: `st-${oci}-`, subnet: '10.73.0.0/24', hideCgroupV2 })));
    after(() => h?.stop());

    test('a container is created, started, exec\'d into, updated, stopped and removed', async () => {
      const { pod, containers } = await h.runPodWith('life', [{ name: 'sleeper', command: ['sleep', '3600'], extra: { linux: { resources: { memory_limit_in_bytes: 128 * MiB } } } }], HOST_NETWORK);
      const id = containers[0]!;
      const status = await h.crictlJson(['inspect', id]);
      assert.equal(status.status.state, 'CONTAINER_RUNNING');
      const path: string = status.info.cgroupsPath;
      assert.equal((await cgroups.limits(path))?.memoryLimit, 128 * MiB);

      assert.equal((await h.crictl(['exec', '-s', id, 'echo', 'sync-hello'])).stdout.trim(), 'sync-hello');
      assert.equal((await h.crictl(['exec', id, 'echo', 'stream-hello'])).stdout.trim(), 'stream-hello');
      // The exec'd process gets pipes, not sockets, under either runtime (crun hands the process
      // its own stdio): /dev/stdout and /dev/stderr open. crictl --sync prints both on its stdout.
      const devs = 'echo o > /dev/stdout; echo e > /dev/stderr';
      assert.deepEqual((await h.crictl(['exec', '-s', id, 'sh', '-c', devs])).stdout.split('\n').filter((l) => l !== ''), ['o', 'e']);
      const streamed = await h.crictl(['exec', id, 'sh', '-c', devs]);
      assert.equal(streamed.stdout.trim(), 'o');
      assert.match(streamed.stderr, /^e$/m);

      // UpdateContainerResources: the new limits reach the container's cgroup.
      await h.crictl(['update', '--memory', String(64 * MiB), '--cpu-quota', '20000', '--cpu-period', '100000', id]);
      const limits = await cgroups.limits(path);
      assert.equal(limits?.memoryLimit, 64 * MiB);
      assert.equal(limits?.cpuQuota, 20000);
      assert.equal(limits?.cpuPeriod, 100000);
      const inspected = await h.crictlJson(['inspect', id]);
      assert.equal(inspected.status.state, 'CONTAINER_RUNNING');

      await h.crictl(['stop', '-t', '1', id]);
      assert.equal((await h.crictlJson(['inspect', id])).status.state, 'CONTAINER_EXITED');
      await h.crictl(['rm', id]);
      await h.crictl(['rmp', '-f', pod]);
      assert.equal(await cgroupExists(path), false, `${path} left after the pod was removed`);
    });

    test('the pod cgroups the runtime made are removed with the last pod under them, no others', async () => {
      const top = `/st-${oci}-mid-${process.pid}`;
      const owned = `/st-${oci}-agent-${process.pid}`;
      try {
        // Two pods under a middle a/b the runtime makes: the first removed leaves a/b to the second.
        const one = await h.runPodWith('mid1', [{ name: 'c', command: ['sleep', '3600'] }], { ...HOST_NETWORK, linux: { ...HOST_NETWORK.linux, cgroup_parent: `${top}/b/pod-x` } });
        const two = await h.runPodWith('mid2', [{ name: 'c', command: ['sleep', '3600'] }], { ...HOST_NETWORK, linux: { ...HOST_NETWORK.linux, cgroup_parent: `${top}/b/pod-y` } });
        await h.crictl(['rmp', '-f', one.pod]);
        assert.equal(await cgroupExists(`${top}/b/pod-x`), false);
        assert.equal(await cgroupExists(`${top}/b/pod-y`), true);
        await h.crictl(['rmp', '-f', two.pod]);
        const left: string[] = [];
        for (const root of await cgroupRoots()) if (existsSync(join(root, top))) left.push(join(root, top));
        assert.deepEqual(left, [], 'no folder of the middle cgroup is left under any controller');

        // A parent someone else made (the agent's QoS manager makes pod<uid> itself) stays.
        for (const root of await cgroupRoots()) await mkdir(join(root, owned), { recursive: true }).catch(() => undefined);
        const three = await h.runPodWith('agent', [{ name: 'c', command: ['sleep', '3600'] }], { ...HOST_NETWORK, linux: { ...HOST_NETWORK.linux, cgroup_parent: `${owned}/pod-z` } });
        await h.crictl(['rmp', '-f', three.pod]);
        assert.equal(await cgroupExists(`${owned}/pod-z`), false, 'the pod cgroup the runtime made is gone');
        assert.equal(await cgroupExists(owned), true, 'the parent it did not make stays');
      } finally {
        await removeCgroupTree(top);
        for (const root of await cgroupRoots()) await rmdir(join(root, owned)).catch(() => undefined);
        await removeCgroupTree(owned);
      }
    });
  });
}
