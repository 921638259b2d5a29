/**
 * A container whose conmon is gone (SIGKILLed, or it could not write its exit file: ENOSPC on the
 * state dir) leaves no exit file when the container ends. The runtime must not report such a
 * container RUNNING forever, and StopContainer must not fail on it: as CRI-O's
 * UpdateContainerStatus, a container whose process is gone and which has no exit file is recorded
 * as exited with an unknown code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { SandboxManager } from '../../../src/runtime/sandbox/sandbox-manager.js';
import { ContainerManager } from '../../../src/runtime/container/container-manager.js';
import type { ContainerConfig__Output, PodSandboxConfig__Output } from '../../../src/cri/types.js';
import { listPodSandbox } from '../../../src/runtime/sandbox/sandbox-list.js';
import { podSandboxStatusRpc } from '../../../src/runtime/sandbox/sandbox-status.js';
import type { RuntimeContext } from '../../../src/runtime/runtime-context.js';
import { fakeDeps } from './fakes.js';

const pod = {
  metadata: { name: 'p', namespace: 'default', uid: 'u', attempt: 0 },
  hostname: 'p',
  log_directory: '',
  dns_config: null,
  port_mappings: [],
  labels: {},
  annotations: {},
  linux: null,
  windows: null,
} as PodSandboxConfig__Output;

const ctr = { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox' }, command: ['sleep', '60'], args: [], working_dir: '', envs: [], mounts: [], devices: [], labels: {}, annotations: {}, log_path: '', stdin: false, stdin_once: false, tty: false, linux: null } as unknown as ContainerConfig__Output;

async function running() {
  const { deps, host, root } = await fakeDeps();
  const sandboxes = new SandboxManager(deps);
  const containers = new ContainerManager(deps, sandboxes);
  sandboxes.containers = containers;
  await containers.start();
  const sandboxId = await sandboxes.run(pod, '');
  const id = await containers.create(sandboxId, ctr, pod);
  await containers.startContainer(id);
  // From here on the container's process is gone for /proc, and nothing writes an exit file:
  // its conmon died first (or could not write the file).
  const gone = () => {
    host.containers.set(id, 'stopped');
    deps.namespaces.startTime = async () => undefined;
  };
  return { deps, host, root, containers, id, gone };
}

test('a container that ended after its conmon died is reported exited (Unknown), not RUNNING forever', async (t) => {
  const { deps, root, containers, id, gone } = await running();
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
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
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
  host.containers.set(id, 'stopped');
  deps.namespaces.startTime = async () => '999'; // same pid, another process
  assert.equal((await containers.refresh(id))!.state, 'exited');
});

test('StopContainer succeeds when SIGKILL ends the container but no exit file can be written (conmon gone, ENOSPC)', async (t) => {
  const { deps, host, root, containers, id, gone } = await running();
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
  // The kill works, the exit file never comes.
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone();
  };
  await containers.stop(id, 0);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.equal(deps.store.container(id).reason, 'Unknown');
  await containers.remove(id);
  assert.equal(deps.store.findContainer(id), undefined);
});

test('a pause that died after its conmon (no exit file) shows NOTREADY in ListPodSandbox and PodSandboxStatus', async (t) => {
  const { deps, root } = await fakeDeps();
  const sandboxes = new SandboxManager(deps);
  const containers = new ContainerManager(deps, sandboxes);
  sandboxes.containers = containers;
  await containers.start();
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
  const rt = { deps, sandboxes, containers } as unknown as RuntimeContext;
  const id = await sandboxes.run(pod, '');
  const list = async () => (await listPodSandbox(rt)({} as never)).items!.map((s) => s.state);
  assert.deepEqual(await list(), ['SANDBOX_READY']);
  deps.namespaces.startTime = async () => undefined; // the pause is gone; its conmon was gone first
  assert.deepEqual(await list(), ['SANDBOX_NOTREADY']);
  assert.equal((await podSandboxStatusRpc(rt)({ pod_sandbox_id: id } as never)).status!.state, 'SANDBOX_NOTREADY');
});

test('a graceful StopContainer returns once the container ends on its stop signal, its conmon gone (no waiting out the grace period)', async (t) => {
  const { deps, host, root, containers, id, gone } = await running();
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone(); // it ends on SIGTERM; nobody writes the exit file
  };
  await containers.stop(id, 5);
  assert.equal(deps.store.container(id).state, 'exited');
  assert.deepEqual(host.signals, [`${id}:15`], 'no SIGKILL: its end was seen within the grace period');
});

test('StopContainer after SIGKILL returns when a ListContainers meanwhile recorded the lost exit', { timeout: 20_000 }, async (t) => {
  const { deps, host, root, containers, id, gone } = await running();
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
  deps.oci.kill = async (cid, signal) => {
    host.signals.push(`${cid}:${signal}`);
    gone();
  };
  const stopping = containers.stop(id, 0);
  while (host.signals.length === 0) await new Promise((r) => setImmediate(r));
  await containers.refresh(id); // what a ListContainers does meanwhile: it records the lost exit first
  await stopping;
  assert.equal(deps.store.container(id).state, 'exited');
});
