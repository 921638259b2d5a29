/**
 * A container whose conmon is gone (SIGKILLed, or it could not write its exit file: ENOSPC on the
 * state dir) leaves no exit file when the container ends. The runtime must not report such a
 * container RUNNING forever, and StopContainer must not fail on it: as CRI-O's
 * UpdateContainerStatus, a container whose process is gone and which has no exit file is recorded
 * as exited with an unknown code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitDir } from '../../../src/runtime/lifecycle.js';
import { internal } from '../../../src/lib/errors.js';
import { SandboxManager } from '../../../src/runtime/sandbox/sandbox-manager.js';
import { ContainerManager } from '../../../src/runtime/container/container-manager.js';
import { listPodSandbox } from '../../../src/runtime/sandbox/sandbox-list.js';
import { listContainers } from '../../../src/runtime/container/container-list.js';
import { podSandboxStatusRpc } from '../../../src/runtime/sandbox/sandbox-status.js';
import { recoverSandboxes } from '../../../src/runtime/sandbox/sandbox-recover.js';
import { cleanUpAfter, fakeContainerConfig, fakePodConfig, fakeRuntime } from './fakes.js';

const pod = fakePodConfig('p');
const ctr = fakeContainerConfig('c');

async function running() {
  const { deps, host, root, sandboxes, containers, verbs } = await fakeRuntime();
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const id = await verbs.createContainer(sandboxId, ctr, pod);
  await verbs.startContainer(id);
  // From here on the container's process is gone for /proc, and nothing writes an exit file:
  // its conmon died first (or could not write the file).
  const gone = () => {
    host.containers.set(id, 'stopped');
    deps.namespaces.startTime = async () => undefined;
  };
  return { deps, host, root, sandboxes, containers, id, gone, verbs };
}

test('a container that ended after its conmon died is reported exited (Unknown), not RUNNING forever', async (t) => {
  const { deps, root, containers, id, gone } = await running();
  cleanUpAfter(t, containers, root);
  assert.equal((await containers.refresh(id))!.state, 'running');
  gone();
  const rec = await containers.refresh(id);
  assert.equal(rec!.state, 'exited');
  assert.equal(rec!.reason, 'Unknown');
  assert.equal(rec!.exitCode, 255);
  assert.equal(deps.store.container(id).state, 'exited');
});

test('a container whose process was replaced by another with its pid (recycled) is not taken for running', async (t) => {
  const { deps, host, root, containers, id } = await running();
  cleanUpAfter(t, containers, root);
  host.containers.set(id, 'stopped');
  deps.namespaces.startTime = async () => '999'; // same pid, another process
  assert.equal((await containers.refresh(id))!.state, 'exited');
});

test('StopContainer succeeds when SIGKILL ends the container but no exit file can be written (conmon gone, ENOSPC)', async (t) => {
  const { deps, host, root, containers, id, gone, verbs } = await running();
  cleanUpAfter(t, containers, root);
  // The kill works, the exit file never comes.
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone();
  };
  await verbs.stopContainer(id, 0);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.equal(deps.store.container(id).reason, 'Unknown');
  await verbs.removeContainer(id);
  assert.equal(deps.store.findContainer(id), undefined);
});

test('a pause that died after its conmon (no exit file) shows NOTREADY in ListPodSandbox and PodSandboxStatus', async (t) => {
  const { deps, root, sandboxes, containers, verbs } = await fakeRuntime();
  await containers.start();
  cleanUpAfter(t, containers, root);
  const rt = { store: deps.store, sandboxes };
  const id = await verbs.runPodSandbox(pod, '');
  const list = async () => (await listPodSandbox(rt)({} as never)).items!.map((s) => s.state);
  assert.deepEqual(await list(), ['SANDBOX_READY']);
  deps.namespaces.startTime = async () => undefined; // the pause is gone; its conmon was gone first
  assert.deepEqual(await list(), ['SANDBOX_NOTREADY']);
  assert.equal((await podSandboxStatusRpc(rt)({ pod_sandbox_id: id } as never)).status!.state, 'SANDBOX_NOTREADY');
});

test('a graceful StopContainer returns once the container ends on its stop signal, its conmon gone (no waiting out the grace period)', async (t) => {
  const { deps, host, root, containers, id, gone, verbs } = await running();
  cleanUpAfter(t, containers, root);
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone(); // it ends on SIGTERM; nobody writes the exit file
  };
  await verbs.stopContainer(id, 5);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.deepEqual(host.signals, [`${id}:15`], 'no SIGKILL: its end was seen within the grace period');
});

test('StopContainer after SIGKILL returns when a ListContainers meanwhile recorded the lost exit', { timeout: 20_000 }, async (t) => {
  const { deps, host, root, containers, id, gone, verbs } = await running();
  cleanUpAfter(t, containers, root);
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone();
  };
  const stopping = verbs.stopContainer(id, 0);
  while (host.signals.length === 0) await new Promise((r) => setImmediate(r));
  await containers.refresh(id); // what a ListContainers does meanwhile: it records the lost exit first
  await stopping;
  assert.equal(deps.store.container(id).state, 'exited');
});

// --- Liveness only from what /proc says for sure (review of the lost-exit change) ---

/** What a failed read of /proc/<pid>/stat that says nothing about the process looks like. */
const emfile = () => Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
const CONTAINER_PID = 100; // the fake monitor's container pid

test('a live container and pod stay RUNNING/READY when reading /proc fails once (EMFILE is not "gone")', async (t) => {
  const { deps, root, sandboxes, containers, id } = await running();
  cleanUpAfter(t, containers, root);
  deps.namespaces.startTime = async () => {
    throw emfile();
  };
  assert.equal((await containers.refresh(id))!.state, 'running');
  const rt = { store: deps.store, sandboxes };
  assert.deepEqual((await listPodSandbox(rt)({} as never)).items!.map((s) => s.state), ['SANDBOX_READY']);
  deps.namespaces.startTime = async () => '1';
  assert.deepEqual((await listPodSandbox(rt)({} as never)).items!.map((s) => s.state), ['SANDBOX_READY']);
  assert.equal((await containers.refresh(id))!.state, 'running');
});

test('while its conmon lives, a container whose pid is gone is not recorded lost: conmon writes the real exit code', async (t) => {
  const { deps, root, containers, id } = await running();
  cleanUpAfter(t, containers, root);
  deps.namespaces.startTime = async (pid) => (pid === CONTAINER_PID ? undefined : '1');
  assert.equal((await containers.refresh(id))!.state, 'running', 'conmon is alive: its exit file is coming');
  await writeFile(join(exitDir(deps.config), id), '137');
  const rec = await containers.refresh(id);
  assert.equal(rec!.state, 'exited');
  assert.equal(rec!.exitCode, 137);
});

test('StopContainer sends SIGKILL when the process ignores SIGTERM, even if two isolated readings said "gone"', { timeout: 30_000 }, async (t) => {
  const { deps, host, root, containers, id, gone, verbs } = await running();
  cleanUpAfter(t, containers, root);
  let n = 0;
  // conmon's state cannot be read (an old record, or EMFILE); the container's pid reads "gone"
  // twice, far apart, and alive otherwise: it never ended.
  deps.namespaces.startTime = async (pid) => {
    if (pid !== CONTAINER_PID) throw emfile();
    n++;
    return n === 2 || n === 8 ? undefined : '1';
  };
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    if (signal === 'KILL') gone();
  };
  await verbs.stopContainer(id, 3);
  assert.deepEqual(host.signals, [`${id}:15`, `${id}:KILL`]);
  assert.equal(deps.store.container(id).state, 'exited');
});

/** Five containers of one pod recorded running, then a new manager as after a restart. */
async function fiveRunning() {
  const { deps, root, sandboxes, containers, verbs } = await fakeRuntime();
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const id = await verbs.createContainer(sandboxId, fakeContainerConfig(`c${i}`), pod);
    await verbs.startContainer(id);
    ids.push(id);
  }
  await containers.stopWatching();
  return { deps, root, sandboxes, ids };
}

test('after a reboot (another boot id) the containers are exited at once, even a pid reused with the same start time', { timeout: 30_000 }, async (t) => {
  const { deps, root, sandboxes, ids } = await fiveRunning();
  deps.namespaces.bootId = async () => 'boot-2';
  // No wait for exit files nobody will write: a wait would take 10 minutes per container.
  const again = new ContainerManager(deps, sandboxes, { lostExitWaitMs: 600_000 });
  cleanUpAfter(t, again, root);
  await again.start();
  for (const id of ids) {
    assert.equal(deps.store.container(id).state, 'exited');
    assert.equal(deps.store.container(id).reason, 'Unknown');
  }
  assert.equal(deps.store.listSandboxes()[0]!.state, 'notready');
});

test('a record without a boot id (older version) whose pid lives with its start time stays running', async (t) => {
  const { deps, root, containers, id } = await running();
  cleanUpAfter(t, containers, root);
  await deps.store.updateContainer(id, (r) => {
    delete r.bootId;
  });
  deps.namespaces.bootId = async () => 'boot-2';
  assert.equal((await containers.refresh(id))!.state, 'running');
});

test('at start the containers are refreshed in parallel (not one lost-exit wait after the other)', { timeout: 30_000 }, async (t) => {
  const { deps, root, sandboxes } = await fiveRunning();
  const again = new ContainerManager(deps, sandboxes);
  cleanUpAfter(t, again, root);
  // The first reading answers only once a second one is under way: sequential refreshes never finish.
  let waiting: (() => void) | undefined;
  let calls = 0;
  deps.namespaces.startTime = async () => {
    calls++;
    if (calls === 1) await new Promise<void>((r) => (waiting = r));
    else waiting?.();
    return '1';
  };
  await again.start();
  assert.ok(deps.store.listContainers().every((c) => c.state === 'running'));
});

test('two concurrent refreshes of a lost container publish one CONTAINER_STOPPED_EVENT', async (t) => {
  const { deps, root, containers, id, gone } = await running();
  cleanUpAfter(t, containers, root);
  const stopped: string[] = [];
  deps.events.subscribe((e) => {
    if (e.type === 'CONTAINER_STOPPED_EVENT') stopped.push(e.id);
  });
  gone();
  await Promise.all([containers.refresh(id), containers.refresh(id), containers.refresh(id)]);
  assert.deepEqual(stopped, [id]);
});

test('concurrent record updates of one container apply one after the other (no lost write)', async (t) => {
  const { deps, root, containers, id } = await running();
  cleanUpAfter(t, containers, root);
  await Promise.all([
    deps.store.updateContainer(id, (r) => {
      r.state = 'exited';
    }),
    deps.store.updateContainer(id, (r) => {
      r.message = 'resources updated';
    }),
  ]);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.equal(deps.store.container(id).message, 'resources updated');
});

/** running(), over a manager with the given options (wired as fakeRuntime wires its own). */
async function runningWith(options: ConstructorParameters<typeof ContainerManager>[2]) {
  const { deps, host, root, containers, verbs } = await fakeRuntime(options);
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const id = await verbs.createContainer(sandboxId, ctr, pod);
  await verbs.startContainer(id);
  return { deps, host, root, containers, id, verbs };
}
const CONMON_PID = 99; // the fake monitor's conmon pid

test('StopContainer on a container runc reports stopped waits for its live conmon: the real exit code, not 255 Unknown', async (t) => {
  const { deps, host, root, containers, id, verbs } = await runningWith({ lostExitWaitMs: 1 });
  cleanUpAfter(t, containers, root);
  host.containers.set(id, 'stopped'); // runc says stopped (a zombie); conmon has not written the file yet
  deps.namespaces.startTime = async (pid) => {
    if (pid !== CONMON_PID) return undefined;
    mkdirSync(exitDir(deps.config), { recursive: true });
    writeFileSync(join(exitDir(deps.config), id), '3'); // conmon writes it late, and ends
    deps.namespaces.startTime = async () => undefined;
    return '1';
  };
  await verbs.stopContainer(id, 0);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.equal(deps.store.container(id).exitCode, 3);
});

/** The container's process gone for /proc, its conmon's pid alive with its recorded start time. */
const containerGoneConmonLives = (deps: { namespaces: { startTime(pid: number): Promise<string | undefined> } }) => {
  deps.namespaces.startTime = async (pid) => (pid === CONMON_PID ? '1' : undefined);
};

test('a conmon stopped by a signal (state T) does not keep a container whose process is gone RUNNING', async (t) => {
  const { deps, root, containers, id } = await runningWith({ lostExitWaitMs: 1 });
  cleanUpAfter(t, containers, root);
  containerGoneConmonLives(deps);
  deps.namespaces.stopped = async (pid) => pid === CONMON_PID;
  const rec = await containers.refresh(id);
  assert.equal(rec!.state, 'exited');
  assert.equal(rec!.reason, 'Unknown');
});

test('a conmon recorded without its start time is not taken for alive (its pid may be another process now)', async (t) => {
  const { deps, root, containers, id } = await runningWith({ lostExitWaitMs: 1 });
  cleanUpAfter(t, containers, root);
  await deps.store.updateContainer(id, (r) => {
    delete r.conmonStartTime;
  });
  containerGoneConmonLives(deps);
  assert.equal((await containers.refresh(id))!.state, 'exited');
});

test('a live conmon is believed only for a while: a container gone longer than that without an exit file is recorded lost', async (t) => {
  const { deps, root, containers, id } = await runningWith({ lostExitWaitMs: 1, conmonBeliefMs: 0 });
  cleanUpAfter(t, containers, root);
  containerGoneConmonLives(deps); // conmon frozen / in D state: alive for /proc, never writes the file
  const rec = await containers.refresh(id);
  assert.equal(rec!.state, 'exited');
  assert.equal(rec!.reason, 'Unknown');
});

// --- Sandboxes (review 2) ---

test('at start, a failing runc state (timeout, EAGAIN, runc missing) does not turn live pods NOTREADY', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  const live = await verbs.runPodSandbox(pod, '');
  const dead = await verbs.runPodSandbox(fakePodConfig('q'), '');
  deps.oci.state = async () => {
    throw internal('runc state: signal: killed (timed out)');
  };
  await deps.store.updateSandbox(dead, (r) => {
    r.pausePid = 4242; // only this pause is gone for /proc
  });
  deps.namespaces.startTime = async (pid) => (pid === 4242 ? undefined : '1');
  await recoverSandboxes({ ...deps, sandboxes: new SandboxManager(deps) });
  assert.equal(deps.store.sandbox(live).state, 'ready');
  assert.equal(deps.store.sandbox(dead).state, 'notready', 'the pause liveness check still finds a gone pause');
});

test('three concurrent refreshes of a pod whose pause is gone publish one CONTAINER_STOPPED_EVENT', async (t) => {
  const { deps, root, sandboxes, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  const id = await verbs.runPodSandbox(pod, '');
  const stopped: string[] = [];
  deps.events.subscribe((e) => {
    if (e.type === 'CONTAINER_STOPPED_EVENT') stopped.push(e.id);
  });
  deps.namespaces.startTime = async () => undefined;
  await Promise.all([sandboxes.refreshPause(id), sandboxes.refreshPause(id), sandboxes.refreshPause(id)]);
  assert.equal(deps.store.sandbox(id).state, 'notready');
  assert.deepEqual(stopped, [id]);
});

test('RunPodSandbox succeeds when the pause start time cannot be read (EMFILE); the pod is then judged by its pid alone', async (t) => {
  const { deps, root, sandboxes, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  deps.namespaces.startTime = async () => {
    throw emfile();
  };
  const id = await verbs.runPodSandbox(pod, '');
  assert.equal(deps.store.sandbox(id).state, 'ready');
  assert.equal(deps.store.sandbox(id).pauseStartTime, undefined);
  deps.namespaces.startTime = async () => undefined; // its pid gone for sure
  assert.equal((await sandboxes.refreshPause(id))!.state, 'notready');
});

test('a filtered ListContainers brings the containers it selects up to date before its state filter applies', async (t) => {
  const { deps, root, containers, id, gone } = await running();
  cleanUpAfter(t, containers, root);
  const sandboxId = deps.store.container(id).sandboxId;
  const list = async (filter: object) => (await listContainers({ store: deps.store, containers, images: { get: () => undefined } } as never)({ filter } as never)).containers!;
  assert.deepEqual((await list({ pod_sandbox_id: sandboxId, state: { state: 'CONTAINER_RUNNING' } })).map((c) => c.id), [id]);
  gone();
  assert.deepEqual(await list({ pod_sandbox_id: sandboxId, state: { state: 'CONTAINER_RUNNING' } }), [], 'no longer running: left out');
  assert.deepEqual((await list({ pod_sandbox_id: sandboxId })).map((c) => c.state), ['CONTAINER_EXITED']);
  assert.deepEqual(await list({ pod_sandbox_id: 'other' }), []);
});

test('a filtered ListPodSandbox brings the sandboxes it selects up to date before its state filter applies', async (t) => {
  const { deps, root, sandboxes, containers, verbs } = await fakeRuntime();
  await containers.start();
  cleanUpAfter(t, containers, root);
  const id = await verbs.runPodSandbox(pod, '');
  const rt = { store: deps.store, sandboxes };
  const list = async (filter: object) => (await listPodSandbox(rt)({ filter } as never)).items!;
  assert.deepEqual((await list({ id, state: { state: 'SANDBOX_READY' } })).map((s) => s.id), [id]);
  deps.namespaces.startTime = async () => undefined; // the pause is gone; its conmon was gone first
  assert.deepEqual(await list({ id, state: { state: 'SANDBOX_READY' } }), [], 'no longer ready: left out');
  assert.deepEqual((await list({ label_selector: pod.labels })).map((s) => s.state), ['SANDBOX_NOTREADY']);
  assert.deepEqual(await list({ id: 'other' }), []);
});
