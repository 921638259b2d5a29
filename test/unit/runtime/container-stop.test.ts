import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerConfig__Output } from '../../../src/cri/types.js';
import { cleanUpAfter, fakeContainerConfig, fakePodConfig, fakeRuntime } from './fakes.js';

const pod = fakePodConfig('p');
const ctr = fakeContainerConfig;

async function setup() {
  const { deps, host, root, containers, verbs } = await fakeRuntime();
  await containers.start();
  const sandboxId = await verbs.runPodSandbox(pod, '');
  return { deps, host, root, containers, sandboxId, verbs };
}

test('a container that exits 0 on its stop signal is Completed, without SIGKILL', async (t) => {
  const { deps, host, root, containers, sandboxId, verbs } = await setup();
  cleanUpAfter(t, containers, root);
  const id = await verbs.createContainer(sandboxId, ctr('graceful'), pod);
  await verbs.startContainer(id);
  host.onStopSignal.set(id, 0);
  await verbs.stopContainer(id, 5);
  const rec = deps.store.container(id);
  assert.equal(rec.state, 'exited');
  assert.equal(rec.exitCode, 0);
  assert.equal(rec.reason, 'Completed');
});

test('a container ignoring its stop signal is killed after the timeout (137)', async (t) => {
  const { deps, host, root, containers, sandboxId, verbs } = await setup();
  cleanUpAfter(t, containers, root);
  const id = await verbs.createContainer(sandboxId, ctr('stubborn'), pod);
  await verbs.startContainer(id);
  host.onStopSignal.set(id, 'ignore');
  await verbs.stopContainer(id, 1);
  assert.equal(deps.store.container(id).exitCode, 137);
  assert.equal(deps.store.container(id).reason, 'Error');
  // stopping again, or an unknown container, is fine
  await verbs.stopContainer(id, 1);
  await verbs.stopContainer('no-such-container', 1);
  await verbs.removeContainer(id);
  assert.equal(deps.store.findContainer(id), undefined);
});

test("the stop signal is the CRI config's, else the image's StopSignal, else SIGTERM", async (t) => {
  const { host, root, containers, sandboxId, verbs } = await setup();
  cleanUpAfter(t, containers, root);
  const nginx = await verbs.createContainer(sandboxId, { ...ctr('web'), image: { image: 'nginx' } } as ContainerConfig__Output, pod);
  const plain = await verbs.createContainer(sandboxId, ctr('plain'), pod);
  const told = await verbs.createContainer(sandboxId, { ...ctr('told'), stop_signal: 'SIGNAL_SIGUSR1' } as ContainerConfig__Output, pod);
  for (const id of [nginx, plain, told]) {
    await verbs.startContainer(id);
    await verbs.stopContainer(id, 5);
  }
  assert.deepEqual(host.signals, [`${nginx}:3`, `${plain}:15`, `${told}:10`]);
});

test('a second StopContainer with a shorter timeout shortens the wait of one in progress (a shorter delete kills sooner)', async (t) => {
  const { deps, host, root, containers, sandboxId, verbs } = await setup();
  cleanUpAfter(t, containers, root);
  const id = await verbs.createContainer(sandboxId, ctr('slow-flush'), pod);
  await verbs.startContainer(id);
  host.onStopSignal.set(id, 'ignore');
  // The first stop would wait an hour for the exit; the second, with 1 s, ends both at about 1 s.
  const first = verbs.stopContainer(id, 3600);
  while (!host.signals.some((s) => s.startsWith(`${id}:`))) await new Promise((r) => setTimeout(r, 10));
  await verbs.stopContainer(id, 1);
  await first;
  assert.equal(deps.store.container(id).exitCode, 137);
});
