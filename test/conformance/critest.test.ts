/**
 * The CRI validation suite (critest, kubernetes-sigs/cri-tools) against a freshly started corelet
 * runtime, offline: the shared conformance kit serves stand-ins of critest's images on
 * 127.0.0.1:5000 and corelet mirrors registry.k8s.io, gcr.io and k8s.gcr.io to it. critest v1.37.0
 * (native-scripts/install-critest.sh: /opt/cri-tools/v1.37.0/bin) runs once with crictl's default
 * (SPDY) streaming and once over WebSocket; critest v1.36.0 (the shared kit's, on PATH) once with
 * SPDY, as a v1.36 kubelet's client still talks to the v1.37 runtime (the transports do not depend
 * on the CRI version). Each run prints its wall time.
 * CORELET_CRITEST_SUBNET / CORELET_CRITEST_BRIDGE give the runtime's pod network (several runs side by side).
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
    subnet: process.env.CORELET_CRITEST_SUBNET || undefined,
    bridge: process.env.CORELET_CRITEST_BRIDGE || undefined,
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

/** critest v1.37.0 as install-critest.sh puts it (CORELET_CRITEST_137 names another binary). */
const CRITEST_137 = process.env.CORELET_CRITEST_137 ?? '/opt/cri-tools/v1.37.0/bin/critest';
/** critest v1.36.0: the shared kit's install-cri-tools.sh puts it on PATH. */
const CRITEST_136 = process.env.CORELET_CRITEST_136 ?? 'critest';

async function runCritest(critest: string, name: string, extra: string[]): Promise<void> {
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
  const version = (await execa(critest, ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  const started = Date.now();
  const r = await execa(critest, args, { cwd: work, env: { TMPDIR: work }, reject: false, all: true, timeout: 15 * 60_000 });
  const seconds = Math.round((Date.now() - started) / 1000);
  const logFile = join(tmpdir(), `corelet-critest-${name}.log`);
  await writeFile(logFile, r.all ?? '');
  const summary = /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(r.all ?? '');
  const failures = (r.all ?? '').split('\n').filter((l) => /^\s*\[FAIL\]/.test(l)).map((l) => l.trim());
  console.log(`${version} (${name}, ${seconds} s, full output in ${logFile}): ${summary ? `${summary[3]} passed, ${summary[4]} failed, ${summary[6]} skipped of ${summary[2]} specs` : 'no summary'}`);
  for (const s of skips) console.log(`  skipped on purpose: ${s.pattern} (${s.reason})`);
  assert.ok(summary, `critest printed its totals:\n${(r.all ?? '').slice(-3000)}`);
  assert.deepEqual(failures, [], 'no critest spec fails');
  assert.equal(r.exitCode, 0);
  assert.ok(Number(summary[3]) >= 90, 'the suite really ran');
}

const WEBSOCKET = ['-websocket-exec', '-websocket-attach', '-websocket-portforward'];

test('critest v1.37.0 passes with the default streaming transport', async () => {
  await runCritest(CRITEST_137, 'v1.37-spdy', []);
});

test('critest v1.37.0 passes with WebSocket exec, attach and port-forward', async () => {
  await runCritest(CRITEST_137, 'v1.37-websocket', WEBSOCKET);
});

test('critest v1.36.0 (a v1.36 client) still passes', async () => {
  await runCritest(CRITEST_136, 'v1.36-spdy', []);
});
