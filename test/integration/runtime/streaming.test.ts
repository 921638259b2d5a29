/**
 * What a crictl user does interactively, against the real runtime, over crictl's default SPDY
 * transport and over WebSocket: exec -i, exec -it with a terminal that follows resizes, exit codes,
 * attach, port-forward to an HTTP server in the pod, events and statsp.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
let pod: string;
let shell: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  h = await RuntimeHarness.start();
  await h.crictl(['pull', BUSYBOX]);
  const started = await h.runPodWith('stream', [
    { name: 'shell', command: ['sleep', '3600'] },
    { name: 'web', command: ['sh', '-c', 'mkdir -p /www && echo served-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www'] },
  ]);
  pod = started.pod;
  shell = started.containers[0]!;
});
after(async () => {
  await h?.stop();
});

const crictlArgs = () => ['--runtime-endpoint', `unix://${h.socket}`];

test('exec, streamed and sync (ExecSync), gives the process pipes: /dev/stdin, /dev/stdout and /dev/stderr open as in containerd', async () => {
  const script = 'cat /dev/stdin > /dev/stdout; echo to-stderr > /dev/stderr';
  const streamed = await h.crictl(['exec', '-i', shell, 'sh', '-c', script], { input: 'to-stdout\n' });
  assert.equal(streamed.stdout.trim(), 'to-stdout');
  assert.match(streamed.stderr, /^to-stderr$/m);
  // crictl --sync prints the reply's stdout, then its stderr, both on its own stdout.
  const sync = await h.crictl(['exec', '--sync', shell, 'sh', '-c', 'echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr']);
  assert.deepEqual(sync.stdout.split('\n').filter((l) => l !== ''), ['to-stdout', 'to-stderr']);
});

for (const transport of ['spdy', 'websocket']) {
  test(`exec -i streams stdin and exit codes propagate (${transport})`, async () => {
    const r = await h.crictl(['exec', '-i', '-r', transport, shell, 'sh', '-c', 'tr a-z A-Z'], { input: 'hello stdin\n' });
    assert.equal(r.stdout.trim(), 'HELLO STDIN');
    const failed = await h.crictl(['exec', '-r', transport, shell, 'sh', '-c', 'echo partial; exit 3'], { reject: false });
    assert.equal(failed.stdout.trim(), 'partial');
    assert.notEqual(failed.exitCode, 0);
    assert.match(failed.stderr, /exit code 3/);
  });

  test(`exec -it gives a terminal whose size follows the client's (${transport})`, async (t) => {
    const session = `corelet-it-${process.pid}-${transport}`;
    t.after(() => execa('tmux', ['kill-session', '-t', session], { reject: false }));
    await execa('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '40', ['crictl', ...crictlArgs(), 'exec', '-it', '-r', transport, shell, 'sh'].join(' ')]);
    const screen = async () => (await execa('tmux', ['capture-pane', '-p', '-t', session])).stdout;
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 50; i++) {
        const s = await screen();
        if (re.test(s)) return s;
        await sleep(100);
      }
      throw new Error(`screen never matched ${re}:\n${await screen()}`);
    };
    await waitFor(/^\/ #/m); // busybox sh prompt (tmux drops trailing blanks)
    await execa('tmux', ['send-keys', '-t', session, 'stty size; tty', 'Enter']);
    await waitFor(/^40 100$/m);
    await execa('tmux', ['resize-window', '-t', session, '-x', '120', '-y', '30']);
    await sleep(300);
    await execa('tmux', ['send-keys', '-t', session, 'clear; stty size', 'Enter']);
    await waitFor(/^30 120$/m);
    await execa('tmux', ['send-keys', '-t', session, 'exit', 'Enter']);
  });

  test(`port-forward reaches an HTTP server in the pod (${transport})`, async (t) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const fwd = execa('crictl', [...crictlArgs(), 'port-forward', '-r', transport, pod, `${port}:8080`], { reject: false });
    t.after(() => fwd.kill('SIGINT'));
    let body = '';
    for (let i = 0; i < 50 && body !== 'served-from-pod'; i++) {
      body = (await execa('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/index.html`], { reject: false })).stdout.trim();
      if (body !== 'served-from-pod') await sleep(100);
    }
    assert.equal(body, 'served-from-pod');
    // a second request through the same forward
    assert.equal((await execa('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/index.html`])).stdout.trim(), 'served-from-pod');
  });

  test(`attach reaches the container's stdio (${transport})`, async () => {
    const cfg = await h.containerConfig('reader', ['sh', '-c', 'read line; echo got:$line'], { stdin: true, stdin_once: true });
    const podCfg = await h.podConfig(`attach-${transport}`);
    const p = (await h.crictl(['runp', podCfg])).stdout.trim();
    const c = (await h.crictl(['create', p, cfg, podCfg])).stdout.trim();
    await h.crictl(['start', c]);
    const attached = execa('crictl', [...crictlArgs(), 'attach', '-i', '-r', transport, c], { reject: false, stdin: 'pipe' });
    await sleep(500);
    attached.stdin!.write('hello attach\n');
    const r = await attached;
    assert.match(r.stdout, /got:hello attach/);
    for (let i = 0; i < 30; i++) {
      if ((await h.crictlJson(['inspect', c])).status.state === 'CONTAINER_EXITED') break;
      await sleep(100);
    }
    assert.equal((await h.crictlJson(['inspect', c])).status.exitCode, 0);
    await h.crictl(['rmp', '-f', p]);
  });
}

test('events report container and sandbox lifecycle changes', async (t) => {
  const events = execa('crictl', [...crictlArgs(), 'events', '-o', 'json'], { reject: false });
  t.after(() => events.kill('SIGINT'));
  await sleep(300);
  const { pod: p, containers } = await h.runPodWith('events', [{ name: 'short', command: ['true'] }]);
  await sleep(500);
  await h.crictl(['rmp', '-f', p]);
  await sleep(500);
  events.kill('SIGINT');
  const out = (await events).stdout;
  const seen = [...out.matchAll(/"containerId":\s*"([0-9a-f]+)",\s*"containerEventType":\s*"(\w+)"/g)].map((m) => `${m[1] === p ? 'pod' : m[1] === containers[0] ? 'ctr' : 'other'}:${m[2]}`);
  for (const e of ['pod:CONTAINER_CREATED_EVENT', 'pod:CONTAINER_STARTED_EVENT', 'ctr:CONTAINER_CREATED_EVENT', 'ctr:CONTAINER_STARTED_EVENT', 'ctr:CONTAINER_STOPPED_EVENT', 'ctr:CONTAINER_DELETED_EVENT', 'pod:CONTAINER_STOPPED_EVENT', 'pod:CONTAINER_DELETED_EVENT']) {
    assert.ok(seen.includes(e), `saw ${e} among ${seen.join(' ')}`);
  }
});

test('statsp reports the pod cgroup and its network', async () => {
  await h.crictl(['exec', '-s', shell, 'sh', '-c', 'wget -q -O /dev/null http://127.0.0.1:8080/index.html']);
  const out = await h.crictlJson(['statsp', '--id', pod]);
  const s = out.stats[0];
  assert.equal(s.attributes.id, pod);
  assert.ok(Number(s.linux.memory.workingSetBytes.value) > 0, 'pod memory');
  assert.ok(Number(s.linux.cpu.usageCoreNanoSeconds.value) > 0, 'pod cpu');
  assert.equal(s.linux.network.defaultInterface.name, 'eth0');
  assert.ok(Number(s.linux.process.processCount.value) >= 3, 'pause, sleep and httpd counted');
  assert.equal(s.linux.containers.length, 2);
});
