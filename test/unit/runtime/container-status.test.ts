import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerConfig__Output } from '../../../src/cri/index.js';
import { containerStatusRpc } from '../../../src/runtime/container/container-status.js';
import { cleanUpAfter, fakeContainerConfig, fakePodConfig, fakeRuntime } from './fakes.js';

test('the record keeps env values (bytes since CRI v1.37) as text: verbose ContainerStatus shows them so, also once reloaded', async (t) => {
  const { deps, root, containers, verbs } = await fakeRuntime();
  cleanUpAfter(t, containers, root);
  await containers.start();
  const pod = fakePodConfig('p');
  const sandboxId = await verbs.runPodSandbox(pod, '');
  const config: ContainerConfig__Output = { ...fakeContainerConfig('c'), envs: [{ key: 'GREETING', value: Buffer.from('grüße') }] };
  const id = await verbs.createContainer(sandboxId, config, pod);
  const status = containerStatusRpc({ store: deps.store, containers, images: deps.images });
  const envsOf = async () => {
    const r = await status({ container_id: id, verbose: true } as never);
    return (JSON.parse(r.info!.info!) as { config: { envs: unknown } }).config.envs;
  };
  assert.deepEqual(await envsOf(), [{ key: 'GREETING', value: 'grüße' }]);
  await deps.store.load();
  assert.deepEqual(await envsOf(), [{ key: 'GREETING', value: 'grüße' }], 'a reloaded record agrees');
});
