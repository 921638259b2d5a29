/**
 * The kubelet's log rotation: rename the CRI log, call ReopenContainerLog, repeat, while the
 * container keeps writing. Every line must land in exactly one of the files.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { createCriClient } from '../../../src/cri/index.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a rename + ReopenContainerLog loop loses no line', async () => {
  const { pod, containers } = await h.runPodWith('rotate', [
    { name: 'counter', command: ['sh', '-c', 'i=0; while [ $i -lt 1000 ]; do i=$((i+1)); echo line-$i; usleep 1000; done; sleep 3600'] },
  ]);
  const cri = createCriClient(`unix://${h.socket}`);
  const log = join(h.dir, 'logs', 'rotate', 'counter.log');
  const rotated: string[] = [];
  for (let n = 0; n < 8; n++) {
    await sleep(150);
    const to = `${log}.${n}`;
    await rename(log, to);
    rotated.push(to);
    await cri.runtime.ReopenContainerLog({ container_id: containers[0]! });
  }
  cri.close();
  // let the writer finish
  for (let i = 0; i < 50; i++) {
    const text = (await Promise.all([...rotated, log].map((f) => readFile(f, 'utf8').catch(() => '')))).join('');
    if (text.includes('line-1000')) break;
    await sleep(100);
  }
  const all = (await Promise.all([...rotated, log].map((f) => readFile(f, 'utf8')))).join('');
  const numbers = all
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/ stdout F line-(\d+)$/.exec(l)?.[1]));
  assert.deepEqual(numbers, Array.from({ length: 1000 }, (_, i) => i + 1), 'every line once, in order, none lost');
  const used = (await Promise.all(rotated.map((f) => readFile(f, 'utf8')))).filter((t) => t.length > 0).length;
  assert.ok(used >= 4, `lines were spread over the rotated files (${used} of ${rotated.length} used)`);
  await h.crictl(['rmp', '-f', pod]);
});
