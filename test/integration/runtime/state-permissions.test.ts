/**
 * The CVE-2021-41103 class: runtime state must not be readable or reachable by local users. Records
 * (env values) are 0600 under a 0700 --root and --state, a setuid binary written inside a container
 * cannot be run from its host path by `nobody`, and a --root left 0755 by an older install (with
 * 0644 records) is fixed at start. Non-root containers keep working.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start();
  await h.crictl(['pull', BUSYBOX]);
  // The harness folder is a 0700 mkdtemp: open it as /var/lib is, so only corelet's modes protect.
  await chmod(h.dir, 0o755);
});
after(async () => {
  await h?.stop();
});

const mode = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8);
const asNobody = (args: string[]) => execa('runuser', ['-u', 'nobody', '--', ...args], { reject: false, timeout: 30_000 });

test('records are 0600 under 0700 folders, and nobody can neither read them nor run a setuid binary from a container rootfs', async () => {
  const run = await h.runPodWith('perm', [
    { name: 'root', command: ['sh', '-c', 'cp /bin/busybox /suid && chmod 4755 /suid && touch /ready && sleep 3600'], extra: { envs: [{ key: 'SECRET', value: 'hunter2' }] } },
    { name: 'nonroot', command: ['sleep', '3600'], extra: { linux: { security_context: { run_as_user: { value: 65534 } } } } },
  ]);
  const [ctr, nonroot] = run.containers as [string, string];

  const read = await asNobody(['cat', join(h.root, 'containers', ctr, 'config.json')]);
  assert.notEqual(read.exitCode, 0);
  assert.match(read.stderr, /Permission denied/);
  assert.doesNotMatch(read.stdout, /hunter2/);

  for (let i = 0; i < 100 && (await h.crictl(['exec', '-s', ctr, 'test', '-e', '/ready'], { reject: false })).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const suid = join(h.root, 'containers', ctr, 'rootfs', 'suid');
  // root sees it: the attack's binary is there ...
  assert.equal(await mode(suid), '4755');
  // ... but a local user cannot reach it
  const ran = await asNobody([suid, 'id', '-u']);
  assert.notEqual(ran.exitCode, 0);
  assert.notEqual(ran.stdout.trim(), '0');
  assert.match(ran.stderr, /Permission denied/);

  // the modes that make it so
  const state = join(h.root, 'run');
  assert.equal(await mode(h.root), '700');
  assert.equal(await mode(state), '700');
  const record = join(h.root, 'containers', ctr, 'container.json');
  assert.equal(await mode(record), '600');
  assert.equal(await mode(join(h.root, 'containers', ctr, 'config.json')), '600');
  assert.equal(await mode(join(h.root, 'sandboxes', run.pod, 'sandbox.json')), '600');

  // a non-root container still runs and execs with the private folders
  assert.equal((await h.crictlJson(['inspect', nonroot])).status.state, 'CONTAINER_RUNNING');
  assert.equal((await h.crictl(['exec', '-s', nonroot, 'id', '-u'])).stdout.trim(), '65534');
});

test('an install with a 0755 root, state and 0644 records is made private at start', async () => {
  await h.kill9();
  const state = join(h.root, 'run');
  await chmod(h.root, 0o755);
  await chmod(state, 0o755);
  const loose: string[] = [];
  for (const kind of ['containers', 'sandboxes']) {
    for (const id of await readdir(join(h.root, kind))) {
      for (const f of [kind === 'containers' ? 'container.json' : 'sandbox.json', 'config.json']) {
        const p = join(h.root, kind, id, f);
        await chmod(p, 0o644);
        loose.push(p);
      }
    }
  }
  assert.ok(loose.length >= 4);
  await h.startDaemon();
  assert.equal(await mode(h.root), '700');
  assert.equal(await mode(state), '700');
  for (const p of loose) assert.equal(await mode(p), '600', p);
});
