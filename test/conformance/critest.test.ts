/**
 * The CRI validation suite (critest v1.36.0, kubernetes-sigs/cri-tools) against a freshly started
 * corelet runtime, offline: the shared conformance kit serves stand-ins of critest's images on
 * 127.0.0.1:5000 and corelet mirrors registry.k8s.io, gcr.io and k8s.gcr.io to it. Run once with
 * crictl's default (SPDY) streaming and once over WebSocket.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { RuntimeHarness, REPO } from '../helpers/runtime-harness.js';

const MIRRORS = ['registry.k8s.io', 'gcr.io', 'k8s.gcr.io'];

let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start({
    registries: `mirrors:\n${MIRRORS.map((m) => `  ${m}:\n    endpoint: ["http://127.0.0.1:5000"]\n`).join('')}`,
  });
});
after(async () => {
  await h?.stop();
});

async function skipList(): Promise<{ pattern: string; reason: string }[]> {
  const text = await readFile(join(REPO, 'test', 'conformance', 'skip-list.txt'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [pattern, reason] = l.split(' | ');
      assert.ok(pattern && reason && /^(needs the internet|this host has no )/.test(reason), `skip entry needs an accepted reason: ${l}`);
      return { pattern: pattern.trim(), reason: reason.trim() };
    });
}

async function runCritest(name: string, extra: string[]): Promise<void> {
  const skips = await skipList();
  const work = join(h.dir, `critest-${name}`);
  await mkdir(work, { recursive: true });
  const args = [
    '--runtime-endpoint', `unix://${h.socket}`,
    '--image-endpoint', `unix://${h.socket}`,
    '--ginkgo.no-color',
    '--ginkgo.skip', skips.map((s) => `(${s.pattern})`).join('|'),
    ...extra,
  ];
  const r = await execa('critest', args, { cwd: work, env: { TMPDIR: work }, reject: false, all: true, timeout: 15 * 60_000 });
  const logFile = join(tmpdir(), `corelet-critest-${name}.log`);
  await writeFile(logFile, r.all ?? '');
  const summary = /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(r.all ?? '');
  const failures = (r.all ?? '').split('\n').filter((l) => /^\s*\[FAIL\]/.test(l)).map((l) => l.trim());
  console.log(`critest (${name}, full output in ${logFile}): ${summary ? `${summary[3]} passed, ${summary[4]} failed, ${summary[6]} skipped of ${summary[2]} specs` : 'no summary'}`);
  for (const s of skips) console.log(`  skipped on purpose: ${s.pattern} (${s.reason})`);
  assert.ok(summary, `critest printed its totals:\n${(r.all ?? '').slice(-3000)}`);
  assert.deepEqual(failures, [], 'no critest spec fails');
  assert.equal(r.exitCode, 0);
  assert.ok(Number(summary[3]) >= 90, 'the suite really ran');
}

test('critest passes with the default streaming transport', async () => {
  await runCritest('spdy', []);
});

test('critest passes with WebSocket exec, attach and port-forward', async () => {
  await runCritest('websocket', ['-websocket-exec', '-websocket-attach', '-websocket-portforward']);
});
