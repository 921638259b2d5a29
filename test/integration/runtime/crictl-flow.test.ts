/**
 * A user's crictl session against a real corelet runtime: every verb of the runtime issue, with real
 * runc, conmon, CNI and the local registry; then nothing may be left on the host.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createCriClient } from '../../../src/cri/index.js';
import { RuntimeHarness, BUSYBOX, hostLeftovers, cgroupExists } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start();
});
after(async () => {
  await h?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('version and info describe a ready corelet runtime', async () => {
  const v = await h.crictl(['version']);
  assert.match(v.stdout, /RuntimeName:\s+corelet/);
  assert.match(v.stdout, /RuntimeApiVersion:\s+v1/);
  const info = await h.crictlJson(['info']);
  const conds = Object.fromEntries(info.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]));
  assert.deepEqual(conds, { RuntimeReady: true, NetworkReady: true });
});

test('pull, images, inspecti, then a pod lifecycle with every crictl verb', async () => {
  await h.crictl(['pull', BUSYBOX]);
  const images = await h.crictlJson(['images']);
  const img = images.images.find((i: { repoTags: string[] }) => i.repoTags.includes(BUSYBOX));
  assert.ok(img, `pulled image listed: ${JSON.stringify(images)}`);
  assert.ok(Number(img.size) > 100_000, 'image size reported');
  assert.match(img.repoDigests[0], /^127\.0\.0\.1:5000\/e2e-test-images\/busybox@sha256:[0-9a-f]{64}$/);
  const inspecti = await h.crictlJson(['inspecti', BUSYBOX]);
  assert.equal(inspecti.status.id, img.id);

  const podCfg = await h.podConfig('flow');
  const pod = (await h.crictl(['runp', podCfg])).stdout.trim();
  assert.match(pod, /^[0-9a-f]{64}$/);
  const podStatus = await h.crictlJson(['inspectp', pod]);
  assert.equal(podStatus.status.state, 'SANDBOX_READY');
  const ip: string = podStatus.status.network.ip;
  const subnetPrefix = h.subnet.split('.').slice(0, 3).join('.') + '.';
  assert.ok(ip.startsWith(subnetPrefix), `pod IP ${ip} is on the bridge subnet ${h.subnet}`);
  // the pod answers on the bridge from the host
  const ping = await execa('ping', ['-c', '1', '-W', '2', ip], { reject: false });
  assert.equal(ping.exitCode, 0, `host reaches pod IP ${ip}: ${ping.stdout}`);

  const pods = await h.crictlJson(['pods']);
  assert.deepEqual(pods.items.map((p: { id: string }) => p.id), [pod]);

  const ctrCfg = await h.containerConfig('talker', ['sh', '-c', 'echo hello-from-corelet; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']);
  const ctr = (await h.crictl(['create', pod, ctrCfg, podCfg])).stdout.trim();
  let inspect = await h.crictlJson(['inspect', ctr]);
  assert.equal(inspect.status.state, 'CONTAINER_CREATED');
  await h.crictl(['start', ctr]);
  inspect = await h.crictlJson(['inspect', ctr]);
  assert.equal(inspect.status.state, 'CONTAINER_RUNNING');
  const ps = await h.crictlJson(['ps']);
  assert.deepEqual(ps.containers.map((c: { id: string }) => c.id), [ctr]);

  // logs: the CRI log file and crictl logs
  await sleep(700);
  const logFile = join(h.dir, 'logs', 'flow', 'talker.log');
  const raw = await readFile(logFile, 'utf8');
  assert.match(raw, /^\d{4}-\d\d-\d\dT\S+ stdout F hello-from-corelet$/m);
  const logs = await h.crictl(['logs', ctr]);
  assert.match(logs.stdout, /hello-from-corelet/);
  // logs -f follows new lines
  const follow = execa('crictl', ['--runtime-endpoint', `unix://${h.socket}`, 'logs', '-f', '--tail', '1', ctr], { reject: false });
  await sleep(1500);
  follow.kill('SIGINT');
  const followed = await follow;
  assert.ok((followed.stdout.match(/tick \d+/g) ?? []).length >= 3, `logs -f streamed new lines: ${followed.stdout}`);

  // exec -s
  // crictl prints the command's stdout, then its stderr, both on its own stdout
  const ex = await h.crictl(['exec', '-s', ctr, 'sh', '-c', 'echo out; echo err >&2']);
  assert.match(ex.stdout, /^out\n\nerr\n/);
  const cri = createCriClient(`unix://${h.socket}`);
  try {
    const sync = await cri.runtime.ExecSync({ container_id: ctr, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'], timeout: 10 });
    assert.deepEqual([sync.stdout.toString(), sync.stderr.toString(), sync.exit_code], ['out\n', 'err\n', 4]);
  } finally {
    cri.close();
  }
  // crictl turns a non-zero exit into its own failure, quoting the code and the command's stderr
  const failed = await h.crictl(['exec', '-s', ctr, 'sh', '-c', 'echo oops >&2; exit 3'], { reject: false });
  assert.equal(failed.exitCode, 1);
  assert.match(failed.stderr, /exited with 3: oops/);
  const timedOut = await h.crictl(['exec', '-s', '--timeout', '1', ctr, 'sleep', '10'], { reject: false });
  assert.notEqual(timedOut.exitCode, 0);
  assert.match(timedOut.stderr, /DeadlineExceeded|timed out|deadline/i);
  const host = await h.crictl(['exec', '-s', ctr, 'hostname']);
  assert.equal(host.stdout.trim(), 'flow');

  // stats
  const stats = await h.crictlJson(['stats', '--id', ctr]);
  assert.equal(stats.stats.length, 1);
  assert.ok(Number(stats.stats[0].memory.workingSetBytes.value) > 0, 'memory working set reported');
  assert.ok(Number(stats.stats[0].cpu.usageCoreNanoSeconds.value) > 0, 'cpu usage reported');

  // update: the new limit lands in the container's cgroup
  await h.crictl(['update', '--memory', '67108864', '--cpu-quota', '20000', '--cpu-period', '100000', ctr]);
  const cgPath = inspect.info.cgroupsPath as string;
  assert.equal((await readFile(`/sys/fs/cgroup/memory${cgPath}/memory.limit_in_bytes`, 'utf8')).trim(), '67108864');
  assert.equal((await readFile(`/sys/fs/cgroup/cpu${cgPath}/cpu.cfs_quota_us`, 'utf8')).trim(), '20000');

  // stop: sh ignores nothing here, SIGTERM ends it
  await h.crictl(['stop', '--timeout', '5', ctr]);
  inspect = await h.crictlJson(['inspect', ctr]);
  assert.equal(inspect.status.state, 'CONTAINER_EXITED');
  assert.equal(inspect.status.exitCode, 143);
  assert.equal(inspect.status.reason, 'Error');
  assert.ok(Date.parse(inspect.status.finishedAt) > Date.parse(inspect.status.startedAt), "finishedAt after startedAt");

  await h.crictl(['rm', ctr]);
  assert.equal((await h.crictlJson(['ps', '-a'])).containers.length, 0);
  await h.crictl(['stopp', pod]);
  assert.equal((await h.crictlJson(['inspectp', pod])).status.state, 'SANDBOX_NOTREADY');
  await h.crictl(['rmp', pod]);
  assert.equal((await h.crictlJson(['pods'])).items.length, 0);

  const left = await hostLeftovers(h, [pod]);
  assert.deepEqual(left, { mounts: [], netns: [], processes: [], ipam: [], state: [] });
  assert.equal(await cgroupExists(`${h.cgroupParent}/${pod}`), false, 'pod cgroup removed');

  await h.crictl(['rmi', BUSYBOX]);
  const after = await h.crictlJson(['images']);
  assert.equal(after.images.length, 0);
});

test('a container that exits on its own reports Completed and its exit code', async () => {
  await h.crictl(['pull', BUSYBOX]);
  const { pod, containers } = await h.runPodWith('exiter', [
    { name: 'ok', command: ['sh', '-c', 'echo done'] },
    { name: 'fails', command: ['sh', '-c', 'exit 7'] },
  ]);
  for (let i = 0; i < 50; i++) {
    const states = await Promise.all(containers.map((c) => h.crictlJson(['inspect', c])));
    if (states.every((s) => s.status.state === 'CONTAINER_EXITED')) break;
    await sleep(100);
  }
  const [ok, fails] = await Promise.all(containers.map((c) => h.crictlJson(['inspect', c])));
  assert.equal(ok.status.state, 'CONTAINER_EXITED');
  assert.equal(ok.status.exitCode, 0);
  assert.equal(ok.status.reason, 'Completed');
  assert.equal(fails.status.exitCode, 7);
  assert.equal(fails.status.reason, 'Error');
  assert.ok(Date.parse(ok.status.startedAt) > 0 && Date.parse(ok.status.finishedAt) >= Date.parse(ok.status.startedAt));
  await h.crictl(['rmp', '-f', pod]);
});

test('bad requests get clear errors and change nothing', async () => {
  const missing = await h.crictl(['inspect', 'does-not-exist'], { reject: false });
  assert.notEqual(missing.exitCode, 0);
  assert.match(missing.stderr, /not found/i);
  const noImage = await h.crictl(['pull', 'Invalid Reference!!'], { reject: false });
  assert.notEqual(noImage.exitCode, 0);
  assert.match(noImage.stderr, /invalid|reference/i);
  const podCfg = await h.podConfig('bad');
  const pod = (await h.crictl(['runp', podCfg])).stdout.trim();
  const dup = await h.crictl(['runp', podCfg], { reject: false });
  assert.notEqual(dup.exitCode, 0);
  assert.match(dup.stderr, /reserved|already/i);
  const ctrCfg = await h.containerConfig('noimg', ['true'], { image: { image: '127.0.0.1:5000/nope/never-pulled:1' } });
  const noimg = await h.crictl(['create', pod, ctrCfg, podCfg], { reject: false });
  assert.notEqual(noimg.exitCode, 0);
  assert.match(noimg.stderr, /not present|not found/i);
  assert.equal((await h.crictlJson(['pods', '--name', 'bad'])).items.length, 1);
  await h.crictl(['rmp', '-f', pod]);
});
