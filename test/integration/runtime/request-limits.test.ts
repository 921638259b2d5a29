/**
 * Values from CRI requests that once broke the runtime: a StopContainer timeout above 2^31-1 ms
 * (Node's setTimeout fired it at once, so the container was SIGKILLed without its SIGTERM grace)
 * and ExecSync output above 16 MiB (the reply exceeded gRPC's 16 MiB message limit and failed;
 * the CRI says to cap it and carry on).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => (h = await RuntimeHarness.start({ pull: [BUSYBOX] })));
after(() => h?.stop());

const MIB = 1024 * 1024;

test('crictl stop --timeout 2147484 sends SIGTERM and waits: the container exits on its own, not SIGKILLed', async () => {
  // The trap answers SIGTERM by exiting 0 after a moment; a SIGKILL would show 137.
  const a = await h.runPodWith('longstop', [
    { name: 'graceful', command: ['sh', '-c', "trap 'echo got TERM; sleep 2; exit 0' TERM; echo ready; while true; do sleep 1; done"] },
  ]);
  const ctr = a.containers[0]!;
  for (;;) {
    if ((await h.crictl(['logs', ctr])).stdout.includes('ready')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = await h.crictl(['stop', '--timeout', '2147484', ctr], { reject: false });
  assert.equal(stop.exitCode, 0, stop.stderr);
  const st = await h.crictlJson(['inspect', ctr]);
  assert.equal(st.status.state, 'CONTAINER_EXITED');
  assert.equal(st.status.exitCode, 0, `exit ${st.status.exitCode} (${st.status.reason}): killed instead of stopped`);
  assert.match((await h.crictl(['logs', ctr])).stdout, /got TERM/);
  await h.crictl(['rmp', '-f', a.pod]);
});

test('ExecSync of 20 MiB of output succeeds, capped at 16 MiB, the command carrying on', async () => {
  const a = await h.runPodWith('bigexec', [{ name: 'c', command: ['sleep', '3600'] }]);
  const ctr = a.containers[0]!;
  const r = await execa('crictl', ['--runtime-endpoint', `unix://${h.socket}`, '--timeout', '60s', 'exec', '-s', ctr, 'sh', '-c', 'yes | head -c 20971520; echo done >&2'], {
    reject: false,
    encoding: 'buffer',
    maxBuffer: 64 * MIB,
  });
  assert.equal(r.exitCode, 0, Buffer.from(r.stderr).toString().slice(0, 2000));
  // crictl prints the reply's stdout, then its stderr, on its stdout.
  const printed = Buffer.from(r.stdout);
  assert.equal(printed.subarray(-5).toString(), 'done\n');
  const out = printed.subarray(0, printed.length - 5);
  // The whole reply (stdout, stderr, framing) must fit in a 16 MiB gRPC message.
  assert.ok(out.length <= 16 * MIB, `stdout ${out.length} bytes`);
  assert.ok(out.length >= 16 * MIB - 64 * 1024, `stdout ${out.length} bytes: capped too early`);
  assert.equal(out.subarray(0, 6).toString(), 'y\ny\ny\n');
  // and a small exec right after still works
  assert.equal((await h.crictl(['exec', '-s', ctr, 'echo', 'alive'])).stdout.trim(), 'alive');
  await h.crictl(['rmp', '-f', a.pod]);
});
