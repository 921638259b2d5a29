/** kill -9 of the runtime: pods and containers survive with their ids and states. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeHarness, BUSYBOX, hostLeftovers } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('after kill -9 and a restart the same pods and containers are there, still running', async () => {
  const a = await h.runPodWith('survivor', [
    { name: 'long', command: ['sleep', '3600'] },
    { name: 'short', command: ['sh', '-c', 'sleep 2; exit 5'] },
  ]);
  const before = await h.crictlJson(['inspect', a.containers[0]!]);
  const pidBefore = before.info.pid;
  const podsBefore = (await h.crictlJson(['pods'])).items.map((p: { id: string; state: string }) => [p.id, p.state]);

  await h.kill9();
  await sleep(3000); // "short" exits while the runtime is down
  process.kill(pidBefore, 0); // the container process is alive without the daemon
  await h.startDaemon();

  const podsAfter = (await h.crictlJson(['pods'])).items.map((p: { id: string; state: string }) => [p.id, p.state]);
  assert.deepEqual(podsAfter, podsBefore);
  const long = await h.crictlJson(['inspect', a.containers[0]!]);
  assert.equal(long.status.state, 'CONTAINER_RUNNING');
  assert.equal(long.info.pid, pidBefore);
  const short = await h.crictlJson(['inspect', a.containers[1]!]);
  assert.equal(short.status.state, 'CONTAINER_EXITED');
  assert.equal(short.status.exitCode, 5);
  // still fully manageable
  assert.equal((await h.crictl(['exec', '-s', a.containers[0]!, 'echo', 'alive'])).stdout.trim(), 'alive');
  await h.crictl(['stopp', a.pod]);
  await h.crictl(['rmp', a.pod]);
  assert.deepEqual(await hostLeftovers(h, [a.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});

test('SIGTERM stops the daemon gracefully and leaves containers running', async () => {
  const a = await h.runPodWith('graceful', [{ name: 'long', command: ['sleep', '3600'] }]);
  const pid = (await h.crictlJson(["inspect", a.containers[0]!])).info.pid;
  assert.equal(await h.terminate(), 0);
  process.kill(pid, 0);
  await h.startDaemon();
  assert.equal((await h.crictlJson(['inspect', a.containers[0]!])).status.state, 'CONTAINER_RUNNING');
  await h.crictl(['rmp', '-f', a.pod]);
});
