/**
 * Disk: a pod that logs fast keeps its log folder within --container-log-max-size ×
 * --container-log-max-files (rotated through ReopenContainerLog, older files gzipped) while its log
 * stays readable; a deleted pod's logs and volumes go with it, also when it was deleted while the
 * agent was down (swept at start).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeHarness } from '../../helpers/runtime-harness.js';
import type { AgentHarness, PodView } from '../../helpers/agent-harness.js';
import { StandaloneAgent } from '../../helpers/standalone-agent.js';
import { busyboxPod } from '../../helpers/pod-manifest.js';

let runtime: RuntimeHarness;
let agent: AgentHarness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MI = 1024 * 1024;

// ~1 MB bursts of 1000-byte lines, 10 a second at most: ~10 MB/s, however fast the host is.
const WRITER = 'l=$(head -c 1000 /dev/zero | tr "\\0" y); while true; do i=0; while [ $i -lt 1000 ]; do echo $l; i=$((i+1)); done; sleep 0.1; done';

const pod = (name: string, command: string, volumes = false) =>
  busyboxPod(name, ['sh', '-c', command], volumes ? '    volumeMounts: [{name: scratch, mountPath: /scratch}]\n  volumes: [{name: scratch, emptyDir: {}}]\n' : '');

const fixture = new StandaloneAgent([
  '--container-log-max-size', '1Mi',
  '--container-log-max-files', '3',
  '--container-log-monitor-interval', '200ms',
]);
before(async () => {
  await fixture.start();
  ({ runtime, agent } = fixture);
});
after(() => fixture.stop());

const running = (p: PodView) => p.status?.phase === 'Running' && p.status.containerStatuses[0]?.state.running !== undefined;
const logFolder = (p: PodView) => join(agent.logDir, `${p.metadata.namespace}_${p.metadata.name}_${p.metadata.uid}`);

/** Every file under dir with its size. */
async function files(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const st = await stat(path).catch(() => undefined);
    if (st) out.push({ path, size: st.size });
  }
  return out;
}

test('a fast-logging pod: its log is rotated (at most 3 files, older ones gzipped), the folder stays small, crictl logs still reads it', async () => {
  await agent.apply('fast.yaml', pod('fast', WRITER));
  const p = await agent.waitFor('fast', running, 60_000);
  const dir = logFolder(p);
  const containerId = p.status!.containerStatuses[0]!.containerID!.replace(/^[a-z]+:\/\//, '');
  // Watch the folder until the log has been rotated a few times (~10 MB written at most per second).
  let largest = 0;
  const rotatedNames = new Set<string>();
  for (let i = 0; i < 200 && rotatedNames.size < 4; i++) {
    const now = await files(dir);
    const total = now.reduce((n, f) => n + f.size, 0);
    largest = Math.max(largest, total);
    for (const f of now) if (/\.log\.\d{8}-\d{6}(\.gz)?$/.test(f.path)) rotatedNames.add(f.path.replace(/\.gz$/, ''));
    // Files of one container: the current log and at most max-files − 1 rotated ones.
    const perContainer = now.filter((f) => f.path.includes('/c/'));
    assert.ok(perContainer.length <= 3 + 1, `at most 3 log files (+ a compression in flight): ${JSON.stringify(perContainer)}`);
    await sleep(250);
  }
  assert.ok(rotatedNames.size >= 4, `the log was rotated several times (saw ${[...rotatedNames].join(', ')}); agent log:\n${(await agent.log()).split('\n').filter((l) => /rotat/i.test(l)).slice(-10).join('\n')}`);
  // 3 files of 1 MiB, plus what the writer (≤ ~10 MB/s) adds between two checks of a loaded host.
  assert.ok(largest <= 3 * MI + 24 * MI, `log folder at most ~27 MiB, saw ${largest} bytes`);
  // Compression runs in the background: an older file may be mid-gzip (.gz.tmp) at any one instant.
  let names: string[] = [];
  for (let i = 0; i < 40; i++) {
    names = (await files(dir)).map((f) => f.path).sort();
    if (names.some((n) => n.endsWith('.gz'))) break;
    await sleep(250);
  }
  assert.ok(names.some((n) => n.endsWith('.gz')), `older rotated logs are gzipped: ${names.join(', ')}`);
  // The current log is still the container's log: crictl reads it (right after a rotation the new
  // file may still be empty, or not there yet between the rename and ReopenContainerLog, as with
  // the kubelet's rotation: ask again).
  let out = '';
  for (let i = 0; i < 40 && !/^y{1000}$/m.test(out); i++) {
    out = (await runtime.crictl(['logs', '--tail', '2', containerId], { reject: false })).stdout;
    if (!/^y{1000}$/m.test(out)) await sleep(50);
  }
  assert.match(out, /^y{1000}$/m);
});

test('a crash-looping container keeps the logs of its current and previous instances only', async () => {
  await agent.apply('crash.yaml', pod('crash', 'echo run; exit 1'));
  const p = await agent.waitFor('crash', (x) => (x.status?.containerStatuses[0]?.restartCount ?? 0) >= 2, 120_000);
  const dir = join(logFolder(p), 'c');
  // The third instance started: the first one (0.log) was removed with its container.
  let names: string[] = [];
  for (let i = 0; i < 40; i++) {
    names = (await readdir(dir)).sort();
    if (!names.includes('0.log')) break;
    await sleep(250);
  }
  assert.ok(!names.includes('0.log'), `0.log removed with its container: ${names.join(', ')}`);
  assert.ok(names.includes('1.log'), `the previous instance's log stays (logs --previous): ${names.join(', ')}`);
  await agent.remove('crash.yaml');
});

test('a deleted pod\'s log folder and emptyDir volumes are removed with it', async () => {
  await agent.apply('gone.yaml', pod('gone', 'echo hello; echo data > /scratch/f; sleep 3600', true));
  const p = await agent.waitFor('gone', running, 60_000);
  const dir = logFolder(p);
  const volumes = join(agent.root, 'pods', p.metadata.uid);
  for (let i = 0; i < 40 && !existsSync(join(volumes, 'volumes', 'scratch', 'f')); i++) await sleep(250);
  assert.ok(existsSync(dir), 'the pod has a log folder');
  assert.ok(existsSync(join(volumes, 'volumes', 'scratch', 'f')), 'the pod wrote to its emptyDir');
  await agent.remove('gone.yaml');
  for (let i = 0; i < 120 && (await agent.pod('gone')); i++) await sleep(250);
  assert.equal(await agent.pod('gone'), undefined, 'the pod is gone');
  assert.equal(existsSync(dir), false, `${dir} is removed`);
  assert.equal(existsSync(volumes), false, `${volumes} is removed`);
});

test('a pod deleted while the agent was down: the restarted agent removes its containers, logs and volumes; unknown folders it marked too, never another program\'s', async () => {
  await agent.apply('offline.yaml', pod('offline', 'echo hello; echo data > /scratch/f; sleep 3600', true));
  const p = await agent.waitFor('offline', running, 60_000);
  const dir = logFolder(p);
  const volumes = join(agent.root, 'pods', p.metadata.uid);
  await agent.kill9();
  await agent.remove('offline.yaml');
  // Leftovers of a pod nobody knows (an older agent's crash): no sandbox in the runtime.
  const strayLogs = join(agent.logDir, 'default_stray_0b1e0c8a-0000-4000-8000-000000000001');
  const strayVolumes = join(agent.root, 'pods', '0b1e0c8a-0000-4000-8000-000000000001', 'volumes', 'v');
  await mkdir(join(strayLogs, 'c'), { recursive: true });
  await writeFile(join(strayLogs, 'c', '0.log'), 'x\n');
  await writeFile(join(strayLogs, '.corelet'), ''); // made by an agent: marked
  // Another kubelet's (or k3s's, containerd's) pod logs in the same folder: not ours, they stay.
  const foreignLogs = join(agent.logDir, 'kube-system_coredns_0b1e0c8a-0000-4000-8000-000000000002');
  await mkdir(join(foreignLogs, 'coredns'), { recursive: true });
  await writeFile(join(foreignLogs, 'coredns', '0.log'), 'theirs\n');
  await mkdir(strayVolumes, { recursive: true });
  await writeFile(join(strayVolumes, 'f'), 'x\n');
  await agent.startDaemon();
  for (let i = 0; i < 120 && (existsSync(dir) || existsSync(volumes) || existsSync(strayLogs) || existsSync(join(agent.root, 'pods', '0b1e0c8a-0000-4000-8000-000000000001'))); i++) await sleep(250);
  const sandboxes = await runtime.crictlJson<{ items: { metadata: { name: string } }[] }>(['pods']);
  assert.equal(sandboxes.items.filter((s) => s.metadata.name === 'offline').length, 0, 'the sandbox is removed');
  assert.equal(existsSync(dir), false, `${dir} is removed`);
  assert.equal(existsSync(volumes), false, `${volumes} is removed`);
  assert.equal(existsSync(strayLogs), false, `${strayLogs} is removed`);
  assert.equal(existsSync(join(agent.root, 'pods', '0b1e0c8a-0000-4000-8000-000000000001')), false, 'the stray pod folder is removed');
  assert.equal(existsSync(join(foreignLogs, 'coredns', '0.log')), true, 'another program\'s pod logs stay');
  await rm(foreignLogs, { recursive: true, force: true });
});
