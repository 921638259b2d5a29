import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { applyLayer } from '../../../src/runtime/image/index.js';
import { isKind, silentLogger, type Logger } from '../../../src/lib/index.js';
import { chunked, makeTar, makeTgz, sha256, tarEntry, type TarSpec } from './fixtures.js';

interface Sandbox {
  base: string;
  root: string;
  outside: string;
}

/** A rootfs to unpack into and, beside it, an "outside" folder no layer may touch. */
async function sandbox(t: { after: (fn: () => Promise<void>) => void }): Promise<Sandbox> {
  const base = await mkdtemp(join(tmpdir(), 'corelet-layer-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside, { mode: 0o755 });
  await writeFile(join(outside, 'secret'), 'original');
  return { base, root, outside };
}

async function apply(root: string, tar: Buffer, opts: { logger?: Logger; diffId?: string } = {}) {
  return applyLayer(root, chunked(tar, 333), { logger: opts.logger ?? silentLogger, preserveOwner: false, what: 'test-layer', diffId: opts.diffId });
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** The outside folder must be exactly as the sandbox made it. */
async function assertOutsideUntouched(s: Sandbox): Promise<void> {
  assert.deepEqual(await readdir(s.outside), ['secret']);
  assert.equal(await readFile(join(s.outside, 'secret'), 'utf8'), 'original');
  const st = await stat(join(s.outside, 'secret'));
  assert.equal(st.nlink, 1, 'no hard link to the outside file');
  assert.equal((await stat(s.outside)).mode & 0o7777, 0o755);
  assert.deepEqual((await readdir(s.base)).sort(), ['outside', 'root']);
}

const isInvalid = (re: RegExp) => (err: unknown) => isKind(err, 'InvalidArgument') && re.test((err as Error).message);

test('applies files, directories, links with exact modes, and mtimes', async (t) => {
  const s = await sandbox(t);
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const tar = makeTgz([
    { path: './', type: 'dir', mode: 0o755 },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'bin/', type: 'dir', mode: 0o755 },
    { path: 'bin/su', data: 'suid', mode: 0o4755 },
    { path: 'bin/busybox', data: big, mode: 0o755 },
    { path: 'bin/sh', type: 'link', linkpath: 'bin/busybox' },
    { path: 'etc/shadow', data: 'x', mode: 0o600, mtime: 1600000000 },
    { path: 'lib', type: 'symlink', linkpath: 'usr/lib' },
    ...Array.from({ length: 300 }, (_, i): TarSpec => ({ path: `many/f${i}`, data: `n${i}` })),
  ]);
  const res = await applyLayer(s.root, chunked(tar, 4096), { logger: silentLogger, preserveOwner: false, what: 'l' });
  assert.equal(res.skipped, 0);
  assert.equal((await stat(join(s.root, 'tmp'))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(s.root, 'bin/su'))).mode & 0o7777, 0o4755);
  assert.equal((await stat(join(s.root, 'etc/shadow'))).mode & 0o7777, 0o600);
  assert.equal((await stat(join(s.root, 'etc/shadow'))).mtimeMs, 1600000000 * 1000);
  assert.equal((await stat(join(s.root, 'etc'))).mode & 0o7777, 0o755, 'implicit parents are 0755');
  assert.ok(big.equals(await readFile(join(s.root, 'bin/busybox'))));
  assert.equal((await stat(join(s.root, 'bin/sh'))).ino, (await stat(join(s.root, 'bin/busybox'))).ino);
  assert.equal(await readlink(join(s.root, 'lib')), 'usr/lib');
  assert.equal((await readdir(join(s.root, 'many'))).length, 300);
  assert.equal(await readFile(join(s.root, 'many/f299'), 'utf8'), 'n299');
});

test('".." above the root fails the layer and writes nothing outside', async (t) => {
  for (const path of ['../escape', 'a/../../escape', './../escape', 'a/b/../../../escape']) {
    const s = await sandbox(t);
    await assert.rejects(apply(s.root, makeTar([{ path, data: 'pwned' }])), isInvalid(/points outside the root/), path);
    await assertOutsideUntouched(s);
  }
});

test('absolute names are taken relative to the root', async (t) => {
  const s = await sandbox(t);
  await apply(s.root, makeTar([{ path: '/abs/file', data: 'inside' }]));
  assert.equal(await readFile(join(s.root, 'abs/file'), 'utf8'), 'inside');
  await assertOutsideUntouched(s);
});

test('symlinks in a path are resolved inside the root, never followed out of it', async (t) => {
  const s = await sandbox(t);
  await apply(
    s.root,
    makeTar([
      { path: 'abs', type: 'symlink', linkpath: s.outside },
      { path: 'abs/pwned', data: 'x' },
      { path: 'abs/newdir/', type: 'dir', mode: 0o777 },
      { path: 'rel', type: 'symlink', linkpath: '../../../../../../../..' },
      { path: 'rel/pwned2', data: 'y' },
      { path: 'chain1', type: 'symlink', linkpath: 'chain2' },
      { path: 'chain2', type: 'symlink', linkpath: '/../../..' + s.base },
      { path: 'chain1/outside/pwned3', data: 'z' },
    ]),
  );
  await assertOutsideUntouched(s);
  // Where they went instead: the same paths, inside the rootfs.
  assert.equal(await readFile(join(s.root, s.outside, 'pwned'), 'utf8'), 'x');
  assert.ok((await stat(join(s.root, s.outside, 'newdir'))).isDirectory());
  assert.equal(await readFile(join(s.root, 'pwned2'), 'utf8'), 'y');
  assert.equal(await readFile(join(s.root, s.outside, 'pwned3'), 'utf8'), 'z');
});

test('an entry replaces a symlink at its own path instead of writing through it', async (t) => {
  const s = await sandbox(t);
  await apply(
    s.root,
    makeTar([
      { path: 'f', type: 'symlink', linkpath: join(s.outside, 'secret') },
      { path: 'f', data: 'new', mode: 0o666 },
      { path: 'd', type: 'symlink', linkpath: s.outside },
      { path: 'd/', type: 'dir', mode: 0o700 },
      { path: 'l', type: 'symlink', linkpath: join(s.outside, 'secret') },
      { path: 'l', type: 'symlink', linkpath: 'elsewhere' },
    ]),
  );
  await assertOutsideUntouched(s);
  assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'new');
  assert.ok((await lstat(join(s.root, 'd'))).isDirectory());
  assert.equal((await lstat(join(s.root, 'd'))).mode & 0o7777, 0o700);
  assert.equal(await readlink(join(s.root, 'l')), 'elsewhere');
});

test('a directory later replaced by a symlink does not get its mode applied through the link', async (t) => {
  const s = await sandbox(t);
  await apply(
    s.root,
    makeTar([
      { path: 'x/', type: 'dir', mode: 0o777 },
      { path: 'x', type: 'symlink', linkpath: s.outside },
      { path: 'a/outside/', type: 'dir', mode: 0o777 },
      { path: 'a', type: 'symlink', linkpath: s.base },
    ]),
  );
  await assertOutsideUntouched(s);
  assert.equal((await stat(s.base)).mode & 0o777, 0o700, 'mkdtemp mode kept');
});

test('hard links must point inside the root', async (t) => {
  const s = await sandbox(t);
  await assert.rejects(apply(s.root, makeTar([{ path: 'h', type: 'link', linkpath: '../outside/secret' }])), isInvalid(/points outside the root/));
  await assertOutsideUntouched(s);
  await assert.rejects(
    apply(s.root, makeTar([{ path: 'o', type: 'symlink', linkpath: s.outside }, { path: 'h2', type: 'link', linkpath: 'o/secret' }])),
    isInvalid(/does not exist in the layer/),
  );
  await assert.rejects(
    apply(s.root, makeTar([{ path: 'h3', type: 'link', linkpath: join(s.outside, 'secret') }])),
    isInvalid(/does not exist in the layer/),
  );
  await assert.rejects(apply(s.root, makeTar([{ path: 'dir/', type: 'dir' }, { path: 'h4', type: 'link', linkpath: 'dir' }])), isInvalid(/is a directory/));
  await assertOutsideUntouched(s);
});

test('device nodes and FIFOs are skipped and logged; the rest of the layer applies', async (t) => {
  const s = await sandbox(t);
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const res = await apply(
    s.root,
    makeTar([
      { path: 'dev/', type: 'dir' },
      { path: 'dev/kmem', type: 'char' },
      { path: 'dev/sda', type: 'block' },
      { path: 'dev/kmem2', type: 'link', linkpath: 'dev/kmem' },
      { path: 'dev/fifo', type: 'fifo' },
      { path: 'ok', data: 'fine' },
    ]),
    { logger },
  );
  assert.equal(res.skipped, 4);
  assert.deepEqual(await readdir(join(s.root, 'dev')), []);
  assert.equal(await readFile(join(s.root, 'ok'), 'utf8'), 'fine');
  const logged = lines.map((l) => JSON.parse(l) as { path: string; msg: string });
  assert.deepEqual(logged.map((l) => l.path), ['dev/kmem', 'dev/sda', 'dev/kmem2', 'dev/fifo']);
  assert.match(logged[0]!.msg, /device nodes are not allowed/);
});

test('whiteouts delete from lower layers; opaque directories keep only the current layer', async (t) => {
  const s = await sandbox(t);
  await apply(
    s.root,
    makeTar([
      { path: 'a/x', data: '1' },
      { path: 'a/y', data: '2' },
      { path: 'b/z', data: '3' },
      { path: 'c/keep', data: '4' },
      { path: 'c/sub/deep', data: '5' },
      { path: 'c/sub/deeper/file', data: '6' },
      { path: 'link', type: 'symlink', linkpath: s.outside },
      { path: 'plink', type: 'symlink', linkpath: s.outside },
    ]),
  );
  await apply(
    s.root,
    makeTar([
      { path: '.wh.b', data: '' },
      { path: 'a/.wh.x', data: '' },
      { path: '.wh.link', data: '' },
      { path: 'plink/.wh.secret', data: '' },
      { path: 'a/.wh.not-there', data: '' },
      { path: 'nodir/.wh.x', data: '' },
      { path: 'a/.wh..wh.plnk', data: '' },
    ]),
  );
  assert.deepEqual(await readdir(join(s.root, 'a')), ['y']);
  assert.ok(!(await exists(join(s.root, 'b'))));
  assert.ok(!(await exists(join(s.root, 'link'))));
  assert.ok(!(await exists(join(s.root, 'nodir'))));
  await assertOutsideUntouched(s);

  // The opaque marker comes after some of this layer's entries: those must survive it.
  await apply(
    s.root,
    makeTar([
      { path: 'c/new', data: '7' },
      { path: 'c/sub/fresh', data: '8' },
      { path: 'c/.wh..wh..opq', data: '' },
      { path: 'c/after', data: '9' },
    ]),
  );
  assert.deepEqual((await readdir(join(s.root, 'c'))).sort(), ['after', 'new', 'sub']);
  assert.deepEqual(await readdir(join(s.root, 'c/sub')), ['fresh']);
  // A whiteout in the same layer as its target does not delete it.
  await apply(s.root, makeTar([{ path: 'same', data: 'x' }, { path: '.wh.same', data: '' }]));
  assert.ok(await exists(join(s.root, 'same')));
  await assert.rejects(apply(s.root, makeTar([{ path: 'a/.wh..', data: '' }])), isInvalid(/invalid whiteout/));
});

test('type changes: a file replaces a directory and the other way round', async (t) => {
  const s = await sandbox(t);
  await apply(s.root, makeTar([{ path: 'p/q/r', data: 'deep' }, { path: 'f', data: 'file' }]));
  await apply(s.root, makeTar([{ path: 'p', data: 'now a file' }, { path: 'f/', type: 'dir' }, { path: 'f/inner', data: 'i' }]));
  assert.equal(await readFile(join(s.root, 'p'), 'utf8'), 'now a file');
  assert.equal(await readFile(join(s.root, 'f/inner'), 'utf8'), 'i');
  await assert.rejects(apply(s.root, makeTar([{ path: 'p/child', data: 'x' }])), isInvalid(/is not a directory/));
});

test('a tar whose last entry lacks block padding (as umoci writes them) applies', async (t) => {
  const s = await sandbox(t);
  const full = Buffer.concat([tarEntry({ path: 'a', data: 'hello' }), tarEntry({ path: 'pause', data: 'x'.repeat(1000) })]);
  const cut = full.subarray(0, full.length - (512 - (1000 % 512))); // no padding, no end-of-archive blocks
  const res = await apply(s.root, gzipSync(cut), { diffId: sha256(cut) });
  assert.equal(res.diffId, sha256(cut));
  assert.equal(await readFile(join(s.root, 'pause'), 'utf8'), 'x'.repeat(1000));
});

test('corrupt input fails with InvalidArgument: diff id, gzip, header checksum, truncated data', async (t) => {
  const s = await sandbox(t);
  const tar = makeTar([{ path: 'a', data: 'hello' }]);
  await assert.rejects(apply(s.root, tar, { diffId: sha256('other') }), isInvalid(/uncompressed content is sha256:.*image config says/));
  const gz = gzipSync(tar);
  gz[gz.length - 6] ^= 0xff; // break the CRC
  await assert.rejects(apply(s.root, gz), isInvalid(/gzip|incorrect|check/i));
  const badsum = Buffer.from(tar);
  badsum[0] = 'b'.charCodeAt(0);
  await assert.rejects(apply(s.root, badsum), isInvalid(/invalid tar/));
  const truncated = makeTar([{ path: 'big', data: 'z'.repeat(5000) }]).subarray(0, 2048);
  await assert.rejects(apply(s.root, truncated), isInvalid(/invalid tar.*Truncated/));
  await assert.rejects(apply(s.root, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), isInvalid(/zstd/));
});
