/**
 * An installed copy of corelet missing what the runtime needs beside dist/ (proto/, the C helpers)
 * fails at once, naming the missing path, and creates nothing: no root or state folder, no socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..');

/** A copy of the package: package.json, dist/src, and what else is asked for; node_modules linked. */
function copyPackage(dir: string, extra: string[]): void {
  for (const p of ['package.json', join('dist', 'src'), ...extra]) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
}

function runRuntime(dir: string) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(dir, 'dist', 'src', 'cli', 'main.js'), 'runtime', '--socket', join(dir, 'run', 'corelet.sock'), '--root', join(dir, 'root'), '--state', join(dir, 'state')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ...r, ms: Date.now() - started };
}

const made = (dir: string) => ['run', 'root', 'state'].filter((p) => existsSync(join(dir, p)));

test('a copy without proto/ exits non-zero naming the missing path, having created nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyPackage(dir, [join('dist', 'pause'), join('dist', 'bin')]);
  const r = runRuntime(dir);
  assert.notEqual(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(join(dir, 'proto', 'api.proto')), `stderr names the missing file: ${r.stderr}`);
  assert.ok(r.stderr.includes(join(dir, 'proto', 'corelet.proto')), r.stderr);
  assert.deepEqual(made(dir), []);
});

test('a copy without the built C helpers says which and how to build them, having created nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyPackage(dir, ['proto']);
  const r = runRuntime(dir);
  assert.notEqual(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(join(dir, 'dist', 'pause', 'rootfs', 'pause')), r.stderr);
  assert.ok(r.stderr.includes(join(dir, 'dist', 'bin', 'corelet-io')), r.stderr);
  assert.match(r.stderr, /build-native\.sh/);
  assert.deepEqual(made(dir), []);
});
