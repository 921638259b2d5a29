/**
 * Containers of one pod share network, IPC and UTS and keep their own mount namespace; containers of
 * different pods share none of them.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeHarness, BUSYBOX, hostLeftovers } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ns(ctr: string, kind: string): Promise<string> {
  return (await h.crictl(['exec', '-s', ctr, 'readlink', `/proc/self/ns/${kind}`])).stdout.trim();
}

test('two containers in a pod share net, ipc and uts; other pods do not', async () => {
  const a = await h.runPodWith('ns-a', [
    { name: 'server', command: ['sh', '-c', 'while true; do echo pong | nc -l -p 7070; done'] },
    { name: 'client', command: ['sleep', '3600'] },
  ]);
  const b = await h.runPodWith('ns-b', [{ name: 'other', command: ['sleep', '3600'] }]);
  const [server, client] = a.containers;
  const other = b.containers[0]!;

  // network: the client reaches the server on localhost
  let reply = '';
  for (let i = 0; i < 30 && reply !== 'pong'; i++) {
    reply = (await h.crictl(['exec', '-s', client!, 'sh', '-c', 'echo ping | nc -w 1 127.0.0.1 7070'], { reject: false })).stdout.trim();
    if (reply !== 'pong') await sleep(100);
  }
  assert.equal(reply, 'pong', 'client reached the server over the pod loopback');
  const fromOtherPod = await h.crictl(['exec', '-s', other, 'sh', '-c', 'echo ping | nc -w 1 127.0.0.1 7070'], { reject: false });
  assert.notEqual(fromOtherPod.stdout.trim(), 'pong', 'another pod does not share the loopback');

  for (const kind of ['net', 'ipc', 'uts']) {
    assert.equal(await ns(server!, kind), await ns(client!, kind), `${kind} shared within the pod`);
    assert.notEqual(await ns(server!, kind), await ns(other, kind), `${kind} not shared across pods`);
  }
  assert.notEqual(await ns(server!, 'mnt'), await ns(client!, 'mnt'), 'each container has its own mount namespace');

  // IPC: a SysV shared memory segment made in one container is visible in the other
  await h.crictl(['exec', '-s', server!, 'sh', '-c', 'echo shared > /dev/shm/marker']);
  assert.equal((await h.crictl(['exec', '-s', client!, 'cat', '/dev/shm/marker'])).stdout.trim(), 'shared');
  const otherShm = await h.crictl(['exec', '-s', other, 'cat', '/dev/shm/marker'], { reject: false });
  assert.notEqual(otherShm.exitCode, 0, 'other pod has its own /dev/shm');

  // UTS: the pod's hostname
  assert.equal((await h.crictl(['exec', '-s', client!, 'hostname'])).stdout.trim(), 'ns-a');
  assert.equal((await h.crictl(['exec', '-s', other, 'hostname'])).stdout.trim(), 'ns-b');

  await h.crictl(['stopp', a.pod, b.pod]);
  await h.crictl(['rmp', a.pod, b.pod]);
  assert.deepEqual(await hostLeftovers(h, [a.pod, b.pod]), { mounts: [], netns: [], processes: [], ipam: [], state: [] });
});
