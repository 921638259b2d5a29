/** kill -9 of the runtime: pods and containers survive with their ids and states. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
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

/** The runtime's `corelet-io serve` (its long-lived host helper), found as a child of this harness's daemon. */
async function hostHelperPid(): Promise<number | undefined> {
  const ps = await execa('ps', ['-eo', 'pid=,ppid=,args='], { reject: false });
  for (const line of ps.stdout.split('\n')) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    if (!/corelet-io$/.test(args[0] ?? '') || args[1] !== 'serve') continue;
    const parent = await readFile(`/proc/${ppid}/cmdline`, 'utf8').catch(() => '');
    if (parent.includes(h.socket) || parent.includes(h.root)) return Number(pid);
  }
  return undefined;
}

test('kill -9 of the host helper while 6 pods start: each start succeeds or fails whole, nothing is left, the next pod starts', async () => {
  const netnsBefore = new Set(await readdir('/run/netns').catch(() => [] as string[]));
  const configs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => h.podConfig(`helper-kill-${i}`)));
  const helper = await hostHelperPid();
  assert.ok(helper, 'the runtime runs its host helper (corelet-io serve)');
  const starts = configs.map((cfg) => h.crictl(['runp', cfg], { reject: false }));
  await sleep(150); // the starts are in the helper's hands (netns, mounts, CNI)
  process.kill(helper, 'SIGKILL');
  const results = await Promise.all(starts);
  const ok = results.filter((r) => r.exitCode === 0).map((r) => r.stdout.trim());
  console.log(`# ${ok.length} of 6 starts succeeded, ${6 - ok.length} failed with the helper`);
  for (const r of results.filter((x) => x.exitCode !== 0)) assert.match(r.stderr, /helper|Unavailable|unavailable|ended|DeadlineExceeded/, r.stderr);
  // what started is a whole pod; what failed was rolled back
  for (const pod of ok) assert.equal((await h.crictlJson(['inspectp', pod])).status.state, 'SANDBOX_READY');
  const listed = (await h.crictlJson(['pods'])).items.map((p: { id: string }) => p.id).sort();
  assert.deepEqual(listed, [...ok].sort(), 'only the pods whose start succeeded exist');
  // a new helper serves the next pod
  const next = (await h.crictl(['runp', await h.podConfig('helper-kill-after')])).stdout.trim();
  assert.notEqual(await hostHelperPid(), helper);
  for (const pod of [...ok, next]) {
    await h.crictl(['stopp', pod]);
    await h.crictl(['rmp', pod]);
  }
  const netnsLeft = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith('corelet-') && !netnsBefore.has(n));
  assert.deepEqual({ ...(await hostLeftovers(h, [...ok, next])), netnsLeft }, { mounts: [], netns: [], processes: [], ipam: [], state: [], netnsLeft: [] });
});
