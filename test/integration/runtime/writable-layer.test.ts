/**
 * ContainerStats' writable layer: what a container wrote to its own filesystem (the overlay's upper
 * folder), as `crictl stats` shows it in DISK and the agent's disk eviction ranks pods by.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

test('a container that wrote 8 MB to its root filesystem has a writable layer of at least 8 MB', async () => {
  const { containers } = await h.runPodWith('wl', [{ name: 'w', command: ['sh', '-c', 'head -c 8000000 /dev/zero > /big; touch /done; sleep 3600'] }]);
  const id = containers[0]!;
  for (let i = 0; i < 80; i++) {
    if ((await h.crictl(['exec', id, 'ls', '/done'], { reject: false })).exitCode === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  let used = 0;
  // Usage is walked at most every few seconds per container: ask until the write shows.
  for (let i = 0; i < 60 && used < 8_000_000; i++) {
    const stats = await h.crictlJson<{ stats: { writableLayer: { usedBytes: { value: string } } }[] }>(['stats', '--id', id]);
    used = Number(stats.stats[0]?.writableLayer.usedBytes.value ?? 0);
    if (used < 8_000_000) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(used >= 8_000_000, `writable layer ${used} bytes`);
});
