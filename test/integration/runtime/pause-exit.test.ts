/**
 * A pod whose pause process dies: the runtime notices the exit (conmon's exit file, as for
 * containers), reports the sandbox NOTREADY, refuses new containers in it, and never joins the
 * namespaces of a dead (maybe recycled) pause pid. Also across a runtime restart.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeHarness, BUSYBOX, hostLeftovers } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function podState(pod: string): Promise<string> {
  return (await h.crictlJson(['inspectp', pod])).status.state;
}

/** Polls until the sandbox leaves SANDBOX_READY (bounded: a missed exit fails the test, not hangs it). */
async function waitNotReady(pod: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const state = await podState(pod);
    if (state !== 'SANDBOX_READY') return state;
    await sleep(100);
  }
  return podState(pod);
}

test('kill -9 of the pause process: the sandbox turns NOTREADY and CreateContainer/StartContainer are refused', async () => {
  // PID namespace per container, as the kubelet asks without shareProcessNamespace: the created
  // container's init survives the pause (in a shared PID namespace it would die with it).
  const ownPid = { linux: { security_context: { namespace_options: { pid: 1 } } } };
  const a = await h.runPodWith('pausekill', [{ name: 'app', command: ['sleep', '3600'], extra: ownPid }], ownPid);
  const created = (await h.crictl(['create', a.pod, await h.containerConfig('later', ['sleep', '3600'], ownPid), a.podConfig])).stdout.trim();
  const pausePid = (await h.crictlJson(['inspectp', a.pod])).info.pid as number;
  assert.ok(pausePid > 0);
  // Containers join the pod's IPC and UTS namespaces through pinned files, not /proc/<pause pid>.
  const spec = JSON.parse(await readFile(join(h.root, 'containers', a.containers[0]!, 'config.json'), 'utf8'));
  const nsPaths = Object.fromEntries(spec.linux.namespaces.map((n: { type: string; path?: string }) => [n.type, n.path ?? '']));
  assert.doesNotMatch(nsPaths.ipc, /^\/proc\//, `ipc joined by ${nsPaths.ipc}`);
  assert.doesNotMatch(nsPaths.uts, /^\/proc\//, `uts joined by ${nsPaths.uts}`);

  process.kill(pausePid, 'SIGKILL');
  assert.equal(await waitNotReady(a.pod), 'SANDBOX_NOTREADY');
  const listed = (await h.crictlJson(['pods', '--id', a.pod])).items;
  assert.equal(listed[0].state, 'SANDBOX_NOTREADY');

  const create = await h.crictl(['create', a.pod, await h.containerConfig('new', ['sleep', '3600']), a.podConfig], { reject: false });
  assert.notEqual(create.exitCode, 0);
  assert.match(create.stderr, /sandbox .* is not ready/);
  const start = await h.crictl(['start', created], { reject: false });
  assert.notEqual(start.exitCode, 0);
  assert.match(start.stderr, /sandbox .* is not ready/);

  // The kubelet then stops and removes it: nothing stays behind (pins included).
  await h.crictl(['stopp', a.pod]);
  await h.crictl(['rmp', a.pod]);
  assert.deepEqual(await hostLeftovers(h, [a.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});

test('a pause process that dies while the runtime is down is NOTREADY after the restart', async () => {
  const a = await h.runPodWith('pausedown', [{ name: 'app', command: ['sleep', '3600'] }]);
  const pausePid = (await h.crictlJson(['inspectp', a.pod])).info.pid as number;
  await h.kill9();
  process.kill(pausePid, 'SIGKILL');
  await h.startDaemon();
  assert.equal(await waitNotReady(a.pod), 'SANDBOX_NOTREADY');
  const create = await h.crictl(['create', a.pod, await h.containerConfig('new', ['sleep', '3600']), a.podConfig], { reject: false });
  assert.match(create.stderr, /sandbox .* is not ready/);
  await h.crictl(['rmp', '-f', a.pod]);
  assert.deepEqual(await hostLeftovers(h, [a.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});

test('a container whose conmon was SIGKILLed first stays RUNNING while it runs, and is EXITED (Unknown) once it ends', async () => {
  const a = await h.runPodWith('conmonkill', [{ name: 'app', command: ['sleep', '3600'] }]);
  const id = a.containers[0]!;
  const rec = JSON.parse(await readFile(join(h.root, 'containers', id, 'container.json'), 'utf8'));
  // Recorded at create: conmon's pid and start time and the boot, by which liveness is judged.
  assert.ok(rec.conmonPid > 0 && rec.conmonStartTime && rec.bootId, `recorded: conmon ${rec.conmonPid} start ${rec.conmonStartTime} boot ${rec.bootId}`);
  assert.equal(rec.conmonPid, Number((await readFile(join(h.root, 'containers', id, 'conmon.pid'), 'utf8')).trim()));
  process.kill(rec.conmonPid, 'SIGKILL');
  assert.equal((await h.crictlJson(['inspect', id])).status.state, 'CONTAINER_RUNNING', 'its process still runs');
  process.kill(rec.pid, 'SIGKILL');
  let status = (await h.crictlJson(['inspect', id])).status;
  for (let i = 0; i < 300 && status.state === 'CONTAINER_RUNNING'; i++) {
    await sleep(100);
    status = (await h.crictlJson(['inspect', id])).status;
  }
  assert.equal(status.state, 'CONTAINER_EXITED');
  assert.equal(status.reason, 'Unknown');
  await h.crictl(['rmp', '-f', a.pod]);
  assert.deepEqual(await hostLeftovers(h, [a.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});
