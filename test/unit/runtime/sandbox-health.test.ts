import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recoverSandboxes } from '../../../src/runtime/sandbox/sandbox-recover.js';
import { fakePodConfig, fakeRuntime } from './fakes.js';

const container = { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox' }, command: ['sleep'], args: [], mounts: [], envs: [], labels: {}, annotations: {}, log_path: '' } as never;

test('RunPodSandbox pins IPC and UTS; containers join the pins; stop and remove unpin', async (t) => {
  const { deps, root, pinned, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  const id = await verbs.runPodSandbox(fakePodConfig('web'), '');
  const rec = deps.store.sandbox(id);
  assert.deepEqual(rec.nsPins, { ipc: join(root, 'run', 'ns', id, 'ipc'), uts: join(root, 'run', 'ns', id, 'uts') });
  assert.equal(rec.pauseStartTime, '1');
  const cid = await verbs.createContainer(id, container, null);
  const spec = JSON.parse(await import('node:fs/promises').then((f) => f.readFile(join(deps.store.dir('containers', cid), 'config.json'), 'utf8')));
  const paths = Object.fromEntries(spec.linux.namespaces.map((n: { type: string; path?: string }) => [n.type, n.path]));
  assert.equal(paths.ipc, rec.nsPins!.ipc);
  assert.equal(paths.uts, rec.nsPins!.uts);
  await verbs.stopPodSandbox(id);
  assert.equal(pinned.size, 0, 'unpinned at stop');
  await verbs.removePodSandbox(id);
  assert.deepEqual(deps.store.listSandboxes(), []);
});

test('a pause pid that now names another process (recycled) makes the sandbox NOTREADY and refuses CreateContainer', async (t) => {
  const { deps, root, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  const id = await verbs.runPodSandbox(fakePodConfig('web'), '');
  deps.namespaces.startTime = async () => '99';
  await assert.rejects(verbs.createContainer(id, container, null), /sandbox .* is not ready/);
  assert.equal(deps.store.sandbox(id).state, 'notready');
});

test('an exit file of the pause makes the sandbox NOTREADY; remove still tears the network down', async (t) => {
  const { deps, host, root, sandboxes, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  const id = await verbs.runPodSandbox(fakePodConfig('web'), '');
  await mkdir(join(root, 'run', 'exits'), { recursive: true });
  await writeFile(join(root, 'run', 'exits', id), '137');
  await sandboxes.refreshPause(id);
  assert.equal(deps.store.sandbox(id).state, 'notready');
  assert.equal(host.ips.size, 1, 'the network stays until StopPodSandbox');
  await verbs.removePodSandbox(id);
  assert.equal(host.ips.size, 0);
  assert.equal(host.netns.size, 0);
});

test('at start, pins of sandboxes that no longer exist are removed', async (t) => {
  const { deps, root, pinned, sandboxes, verbs } = await fakeRuntime();
  t.after(() => rm(root, { recursive: true, force: true }));
  pinned.set(join(root, 'run', 'ns', 'gone'), ['ipc']);
  const id = await verbs.runPodSandbox(fakePodConfig('web'), '');
  await recoverSandboxes({ ...deps, sandboxes });
  assert.deepEqual([...pinned.keys()], [join(root, 'run', 'ns', id)]);
});
