import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { fakePodConfig, fakeRuntime } from './fakes.js';

const podConfig = (name: string) => fakePodConfig(name, { app: name });

for (const step of ['cniAdd', 'monitorCreate', 'ociStart'] as const) {
  test(`a RunPodSandbox failing at ${step} leaves nothing behind and the name can be retried`, async (t) => {
    const { deps, host, root, verbs } = await fakeRuntime();
    t.after(() => rm(root, { recursive: true, force: true }));
    host.fail[step] = true;
    await assert.rejects(verbs.runPodSandbox(podConfig('web'), ''), /running pod sandbox web/);
    assert.deepEqual([...host.netns], [], 'netns removed');
    assert.deepEqual([...host.ips], [], 'IP released');
    assert.deepEqual([...host.mounts], [], '/dev/shm unmounted');
    assert.deepEqual([...host.containers], [], 'pause container deleted');
    assert.deepEqual(deps.store.listSandboxes(), [], 'no record');
    host.fail[step] = false;
    const id = await verbs.runPodSandbox(podConfig('web'), '');
    assert.equal(deps.store.sandbox(id).state, 'ready');
    assert.equal(host.ips.get(id), '10.0.0.' + host.ips.get(id)!.split('.')[3]);
  });
}

test('stop and remove release everything, and are idempotent', async (t) => {
  const { deps, host, root, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  const id = await verbs.runPodSandbox(podConfig('db'), '');
  assert.equal(host.netns.size, 1);
  await verbs.stopPodSandbox(id);
  await verbs.stopPodSandbox(id);
  assert.equal(deps.store.sandbox(id).state, 'notready');
  assert.equal(host.netns.size, 0);
  assert.equal(host.ips.size, 0);
  await verbs.removePodSandbox(id);
  await verbs.removePodSandbox(id);
  await verbs.stopPodSandbox('unknown-id');
  assert.deepEqual(deps.store.listSandboxes(), []);
  assert.deepEqual([...host.mounts], []);
});

test('unknown runtime handlers, missing metadata and metadata over 253 bytes are refused before anything is made', async (t) => {
  const { host, root, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  await assert.rejects(verbs.runPodSandbox(podConfig('x'), 'kata'), /unknown runtime handler "kata"/);
  await assert.rejects(verbs.runPodSandbox({ ...podConfig('x'), metadata: null }, ''), /metadata.name is required/);
  await assert.rejects(verbs.runPodSandbox(null, ''), /config is required/);
  const long = podConfig('x');
  await assert.rejects(verbs.runPodSandbox({ ...long, metadata: { ...long.metadata!, name: 'p'.repeat(1100 * 1024) } }, ''), /config\.metadata\.name is 1126400 bytes long, over 253/);
  await assert.rejects(verbs.runPodSandbox({ ...long, metadata: { ...long.metadata!, uid: 'u'.repeat(254) } }, ''), /config\.metadata\.uid is 254 bytes long/);
  assert.equal(host.netns.size, 0);
});
