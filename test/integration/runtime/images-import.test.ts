/** `corelet images import`: an OCI archive loaded on an air-gapped node runs without any registry. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { RuntimeHarness, BUSYBOX, CORELET } from '../../helpers/runtime-harness.js';

let h: RuntimeHarness;
before(async () => {
  h = await RuntimeHarness.start();
});
after(async () => {
  await h?.stop();
});

test('an archive imported through the running runtime is listed and runs', async () => {
  const archive = join(h.dir, 'offline.tar');
  await execa('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${BUSYBOX}`, `oci-archive:${archive}:offline/busybox:v1`]);
  const out = await execa(process.execPath, [CORELET, 'images', 'import', archive, '--socket', h.socket, '--root', h.root]);
  assert.match(out.stdout, /imported docker\.io\/offline\/busybox:v1 sha256:[0-9a-f]{64}/);
  const images = await h.crictlJson(['images']);
  assert.ok(images.images.some((i: { repoTags: string[] }) => i.repoTags.includes('docker.io/offline/busybox:v1')), JSON.stringify(images));
  const { pod, containers } = await h.runPodWith('offline', [{ name: 'c', command: ['sleep', '60'], extra: { image: { image: 'offline/busybox:v1' } } }]);
  assert.equal((await h.crictl(['exec', '-s', containers[0]!, 'echo', 'from-archive'])).stdout.trim(), 'from-archive');
  await h.crictl(['rmp', '-f', pod]);

  // with the runtime down, the import writes the store directly; the restarted runtime has it
  await h.kill9();
  await execa('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${BUSYBOX}`, `oci-archive:${archive}.2:offline/second:v2`]);
  const direct = await execa(process.execPath, [CORELET, 'images', 'import', `${archive}.2`, '--socket', h.socket, '--root', h.root]);
  assert.match(direct.stdout, /imported .*docker\.io\/offline\/second:v2 sha256:/);
  await h.startDaemon();
  const tags = (await h.crictlJson(['images'])).images.flatMap((i: { repoTags: string[] }) => i.repoTags);
  assert.ok(tags.includes('docker.io/offline/second:v2') && tags.includes('docker.io/offline/busybox:v1'), tags.join(' '));
});

test('a file that is not an image archive is refused with a clear error', async () => {
  const bogus = join(h.dir, 'bogus.tar');
  await execa('tar', ['-cf', bogus, '-C', h.dir, 'runtime.yaml']);
  const r = await execa(process.execPath, [CORELET, 'images', 'import', bogus, '--socket', h.socket], { reject: false });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /corelet: .*is neither an OCI image layout nor a docker-save archive/);
});

test('with a runtime holding the root, an import that cannot reach its socket is refused: the store gets no second writer', async () => {
  const archive = join(h.dir, 'unreached.tar');
  await execa('tar', ['-cf', archive, '-C', h.dir, 'runtime.yaml']);
  const r = await execa(process.execPath, [CORELET, 'images', 'import', archive, '--socket', join(h.dir, 'no-such.sock'), '--root', h.root], { reject: false });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /corelet: .* is in use by another corelet runtime \(pid \d+\)/);
});
