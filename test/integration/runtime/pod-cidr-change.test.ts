/**
 * UpdateRuntimeConfig with a new pod CIDR after pods ran (the node's podCIDR changed): new pods
 * get addresses from the new range and reach their gateway; pods that kept an old address keep
 * running and keep reaching theirs until they are recreated.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createCriClient } from '../../../src/cri/index.js';
import { RuntimeHarness, BUSYBOX, hostLeftovers } from '../../helpers/runtime-harness.js';

const third = process.pid % 250;
const OLD = `10.194.${third}.0/25`;
const NEW = `10.194.${third}.128/25`;
let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start({ subnet: OLD });
  await h.crictl(['pull', BUSYBOX]);
});
after(async () => {
  await h?.stop();
});

async function podIp(pod: string): Promise<string> {
  return (await h.crictlJson(['inspectp', pod])).status.network.ip as string;
}

async function bridgeAddrs(): Promise<string[]> {
  const r = await execa('ip', ['-4', '-o', 'addr', 'show', 'dev', h.bridge]);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[3]!).filter(Boolean);
}

test('a pod CIDR change: new sandboxes use the new range, old pods keep theirs and their gateway', async () => {
  const old = await h.runPodWith('before', [{ name: 'c', command: ['sleep', '3600'] }]);
  const oldIp = await podIp(old.pod);
  assert.match(oldIp, new RegExp(`^10\\.194\\.${third}\\.`));
  assert.ok(Number(oldIp.split('.')[3]) < 128, `${oldIp} in ${OLD}`);

  const cri = createCriClient(`unix://${h.socket}`);
  try {
    await cri.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: NEW } } });
  } finally {
    cri.close();
  }
  const fresh = await h.runPodWith('after', [{ name: 'c', command: ['sleep', '3600'] }]);
  const newIp = await podIp(fresh.pod);
  assert.ok(Number(newIp.split('.')[3]) > 128, `${newIp} in ${NEW}`);
  assert.deepEqual((await bridgeAddrs()).sort(), [`10.194.${third}.129/25`, `10.194.${third}.1/25`].sort());

  // Both reach their own gateway (the way off the node), and the node reaches both.
  const ping = (ctr: string, ip: string) => h.crictl(['exec', '-s', ctr, 'ping', '-c', '1', '-W', '2', ip], { reject: false });
  assert.equal((await ping(fresh.containers[0]!, `10.194.${third}.129`)).exitCode, 0, 'new pod → new gateway');
  assert.equal((await ping(old.containers[0]!, `10.194.${third}.1`)).exitCode, 0, 'old pod → old gateway');
  for (const ip of [oldIp, newIp]) assert.equal((await execa('ping', ['-c', '1', '-W', '2', ip], { reject: false })).exitCode, 0, `node → ${ip}`);

  // Once the last pod of a range is gone, the next change drops that range's gateway address.
  await h.crictl(['rmp', '-f', old.pod]);
  const cri2 = createCriClient(`unix://${h.socket}`);
  try {
    await cri2.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: `10.194.${third}.64/26` } } });
  } finally {
    cri2.close();
  }
  const back = await h.runPodWith('back', [{ name: 'c', command: ['sleep', '3600'] }]);
  const backIp = Number((await podIp(back.pod)).split('.')[3]);
  assert.ok(backIp > 64 && backIp < 128, `${backIp}`);
  assert.deepEqual((await bridgeAddrs()).sort(), [`10.194.${third}.129/25`, `10.194.${third}.65/26`].sort(), 'the /25 of the removed pod is gone; the range of the running pod stays');
  await h.crictl(['rmp', '-f', fresh.pod, back.pod]);
  assert.deepEqual(await hostLeftovers(h, [old.pod, fresh.pod, back.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});
