/**
 * `corelet images pull`: what a user sees while an image comes from the local registry (plain lines,
 * as in a pipe or a CI log), through the running runtime's admin stream and, with no runtime, into
 * the same store directly.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX, CORELET } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start({ prefix: 'pl-it-', bridge: `plit${process.pid % 10000}`, subnet: `10.85.${process.pid % 250}.0/24` });
});
after(async () => {
  await h?.stop();
});

const PROGRESS = /^(?<image>\S+): (?<done>\d+\.\d) MiB of (?<total>\d+\.\d) MiB, layers (?<fetched>\d+)\/(?<layers>\d+) fetched, (?<applied>\d+)\/\d+ applied(, (-|\d+\.\d MiB\/s))?$/;

/** Checks the lines a pull printed and returns the layer count it reported. */
function assertPullOutput(stdout: string, image: string): number {
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], `${image}: resolving`, stdout);
  const progress = lines.slice(1, -1).map((l) => {
    const m = PROGRESS.exec(l);
    assert.ok(m, `not a progress line: ${JSON.stringify(l)}\n${stdout}`);
    assert.equal(m.groups!.image, image);
    return m.groups!;
  });
  assert.ok(progress.length >= 2, `a line when fetching starts and one per layer at least:\n${stdout}`);
  const layers = Number(progress[0]!.layers);
  assert.ok(layers >= 1);
  // counts only grow, and the last progress line has every layer fetched and every byte in
  for (let i = 1; i < progress.length; i++) {
    for (const k of ['done', 'fetched', 'applied'] as const) assert.ok(Number(progress[i]![k]) >= Number(progress[i - 1]![k]), stdout);
  }
  const last = progress.at(-1)!;
  assert.equal(Number(last.fetched), layers, stdout);
  assert.equal(last.done, last.total, stdout);
  assert.match(lines.at(-1)!, new RegExp(`^pulled ${image.replace(/[.]/g, '\\.')} sha256:[0-9a-f]{64}: ${last.total} MiB in ${layers} layers?, \\d+\\.\\d s, \\d+\\.\\d MiB/s$`), stdout);
  return layers;
}

test('through the running runtime: progress lines, then the image is in the runtime', async () => {
  const out = await execa(process.execPath, [CORELET, 'images', 'pull', BUSYBOX, '--socket', h.socket, '--root', h.root, '--interval', '0']);
  assertPullOutput(out.stdout, BUSYBOX);
  const images = await h.crictlJson(['images']);
  assert.ok(images.images.some((i: { repoTags: string[] }) => i.repoTags.includes(BUSYBOX)), JSON.stringify(images));
});

test('an image the registry does not have: a clear error, exit status 1', async () => {
  const r = await execa(process.execPath, [CORELET, 'images', 'pull', '127.0.0.1:5000/pl-bench/no-such-image:v0', '--socket', h.socket], { reject: false });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /corelet: .*pl-bench\/no-such-image.*(not found|NotFound|unknown)/i);
});

test('with no runtime running: the same lines, pulled into the store under the runtime root', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pl-it-offline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const out = await execa(process.execPath, [CORELET, 'images', 'pull', BUSYBOX, '--socket', join(dir, 'none.sock'), '--root', root, '--interval', '0']);
  assertPullOutput(out.stdout, BUSYBOX);
  // pulling again: the image is there, nothing is fetched, the summary still names it
  const again = await execa(process.execPath, [CORELET, 'images', 'pull', BUSYBOX, '--socket', join(dir, 'none.sock'), '--root', root]);
  assert.match(again.stdout.trim().split('\n').at(-1)!, /^pulled 127\.0\.0\.1:5000\/e2e-test-images\/busybox:1\.29-2 sha256:[0-9a-f]{64}: /);
});
