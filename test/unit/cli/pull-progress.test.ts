import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPullPrinter } from '../../../src/cli/pull-progress.js';
import { throttleProgress, type PullProgressMessage } from '../../../src/runtime/image-pull.js';

const MiB = 1024 * 1024;
const IMAGE = '127.0.0.1:5000/pl-bench/big:v1';

function output(isTTY: boolean): { write(s: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

function msg(phase: PullProgressMessage['phase'], fetchedMiB: number, fetched: number, applied: number): PullProgressMessage {
  return {
    image: IMAGE,
    phase,
    layers_total: 5,
    layers_fetched: fetched,
    layers_applied: applied,
    bytes_total: 100 * MiB,
    bytes_fetched: fetchedMiB * MiB,
    image_id: phase === 'done' ? `sha256:${'a'.repeat(64)}` : '',
  };
}

test('without a terminal: a line at each layer fetched or applied, and one per interval while bytes flow', () => {
  let now = 0;
  const out = output(false);
  const p = createPullPrinter(out, { intervalMs: 1000, now: () => now });
  p.update({ ...msg('resolving', 0, 0, 0), layers_total: 0, bytes_total: 0 });
  now = 100;
  p.update(msg('fetching', 0, 0, 0));
  now = 600;
  p.update(msg('fetching', 10, 0, 0)); // bytes only, within the interval: not printed
  now = 1100;
  p.update(msg('fetching', 20, 0, 0)); // bytes only, an interval after the last line
  now = 1300;
  p.update(msg('fetching', 25, 1, 0)); // a layer fetched
  now = 2100;
  p.update(msg('fetching', 100, 5, 4));
  now = 2300;
  p.update(msg('fetching', 100, 5, 5));
  now = 2500;
  p.finish(msg('done', 100, 5, 5));
  assert.deepEqual(out.text.split('\n'), [
    `${IMAGE}: resolving`,
    `${IMAGE}: 0.0 MiB of 100.0 MiB, layers 0/5 fetched, 0/5 applied, -`,
    `${IMAGE}: 20.0 MiB of 100.0 MiB, layers 0/5 fetched, 0/5 applied, 20.0 MiB/s`,
    `${IMAGE}: 25.0 MiB of 100.0 MiB, layers 1/5 fetched, 0/5 applied, 20.8 MiB/s`,
    `${IMAGE}: 100.0 MiB of 100.0 MiB, layers 5/5 fetched, 4/5 applied`,
    `${IMAGE}: 100.0 MiB of 100.0 MiB, layers 5/5 fetched, 5/5 applied`,
    `pulled ${IMAGE} sha256:${'a'.repeat(64)}: 100.0 MiB in 5 layers, 2.5 s, 41.7 MiB/s`,
    '',
  ]);
});

test('on a terminal: one live line rewritten in place, cleared before the summary', () => {
  let now = 0;
  const out = output(true);
  const p = createPullPrinter(out, { now: () => now });
  p.update(msg('fetching', 0, 0, 0));
  now = 500;
  p.update(msg('fetching', 50, 2, 1));
  now = 1000;
  p.finish(msg('done', 100, 5, 5));
  assert.equal(
    out.text,
    `\r\x1b[2K${IMAGE}: 0.0 MiB of 100.0 MiB, layers 0/5 fetched, 0/5 applied, -` +
      `\r\x1b[2K${IMAGE}: 50.0 MiB of 100.0 MiB, layers 2/5 fetched, 1/5 applied, 100.0 MiB/s` +
      '\r\x1b[2K' +
      `pulled ${IMAGE} sha256:${'a'.repeat(64)}: 100.0 MiB in 5 layers, 1.0 s, 100.0 MiB/s\n`,
  );
});

test('a failed pull ends the live line so the error starts on its own', () => {
  const out = output(true);
  const p = createPullPrinter(out, { now: () => 0 });
  p.update(msg('fetching', 0, 0, 0));
  p.abandon();
  assert.ok(out.text.endsWith('\n'));
});

test('the runtime passes layer and phase changes at once, byte-only changes at most every interval', () => {
  let now = 0;
  const sent: PullProgressMessage[] = [];
  const relay = throttleProgress((m) => sent.push(m), 100, () => now);
  const p = { image: IMAGE, phase: 'fetching' as const, layersTotal: 2, layersFetched: 0, layersApplied: 0, bytesTotal: 2000, bytesFetched: 0 };
  relay(p);
  relay({ ...p, bytesFetched: 10 }); // 0 ms later: dropped
  now = 50;
  relay({ ...p, bytesFetched: 500 }); // dropped
  now = 120;
  relay({ ...p, bytesFetched: 900 }); // an interval later: sent
  now = 130;
  relay({ ...p, bytesFetched: 1000, layersFetched: 1 }); // a layer: sent at once
  relay({ ...p, bytesFetched: 2000, layersFetched: 2, phase: 'done' }, 'sha256:x');
  assert.deepEqual(
    sent.map((m) => [m.bytes_fetched, m.layers_fetched, m.phase, m.image_id]),
    [
      [0, 0, 'fetching', ''],
      [900, 0, 'fetching', ''],
      [1000, 1, 'fetching', ''],
      [2000, 2, 'done', 'sha256:x'],
    ],
  );
});
