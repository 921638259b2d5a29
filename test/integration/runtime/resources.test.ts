/** cgroup limits, as a user sees them: an OOM kill reported as OOMKilled, a CPU quota that holds. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a container allocating 200 MB under a 50 MB limit is OOMKilled', async () => {
  const { pod, containers } = await h.runPodWith('oom', [
    // tail keeps the current line in memory; /dev/zero never ends one
    { name: 'hog', command: ['tail', '/dev/zero'], extra: { linux: { resources: { memory_limit_in_bytes: 50 * 1024 * 1024 } } } },
  ]);
  let st: any;
  for (let i = 0; i < 100; i++) {
    st = await h.crictlJson(['inspect', containers[0]!]);
    if (st.status.state === 'CONTAINER_EXITED') break;
    await sleep(100);
  }
  assert.equal(st.status.state, 'CONTAINER_EXITED');
  assert.equal(st.status.reason, 'OOMKilled');
  assert.equal(st.status.exitCode, 137);
  await h.crictl(['rmp', '-f', pod]);
});

test('a container with cpu quota 50ms/100ms burns at most about half a core', async () => {
  const { pod, containers } = await h.runPodWith('cpu', [
    { name: 'burn', command: ['sh', '-c', 'while :; do :; done'], extra: { linux: { resources: { cpu_quota: 50000, cpu_period: 100000 } } } },
  ]);
  const info = (await h.crictlJson(["inspect", containers[0]!])).info;
  const cpu = `/sys/fs/cgroup/cpu${info.cgroupsPath}`;
  assert.equal((await readFile(`${cpu}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
  assert.equal((await readFile(`${cpu}/cpu.cfs_period_us`, 'utf8')).trim(), '100000');
  const usage = async () => Number((await readFile(`/sys/fs/cgroup/cpuacct${info.cgroupsPath}/cpuacct.usage`, 'utf8')).trim());
  await sleep(300);
  const u0 = await usage();
  const t0 = process.hrtime.bigint();
  await sleep(2000);
  const cores = (await usage() - u0) / Number(process.hrtime.bigint() - t0);
  assert.ok(cores > 0.2, `the loop does run (${cores.toFixed(2)} cores)`);
  assert.ok(cores <= 0.6, `quota holds it to about half a core (${cores.toFixed(2)} cores)`);
  await h.crictl(['rmp', '-f', pod]);
});
