/**
 * `npm pack` of the project installs and runs: the tarball holds dist/src, proto/ and the C
 * helpers' sources and build script (no tests, benches or build outputs of this host); installing
 * it builds the helpers for the installing host (postinstall), and the installed `corelet` answers
 * --version and `runtime --help`. The install reaches the npm registry for the dependencies unless
 * npm's cache holds them (--prefer-offline).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from '../../helpers/runtime-harness.js';

test('npm pack of the project installs, builds its C helpers and runs', { timeout: 16 * 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // dist/ is this checkout's build (the tests run from it); prepack would build it again.
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  for (const f of ['package.json', 'proto/api.proto', 'proto/corelet.proto', 'dist/src/cli/main.js', 'native-scripts/build-native.sh', 'native-scripts/pause.c', 'native-scripts/corelet-io.c', 'native-scripts/corelet-nft.c']) {
    assert.ok(files.includes(f), `the tarball holds ${f}`);
  }
  assert.deepEqual(files.filter((f) => /^dist\/(test|bench|bin|pause)\//.test(f)), [], 'no tests, benches or binaries built on this host');

  const app = join(dir, 'app');
  await execa('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'st-pack-app', version: '1.0.0', private: true }));
  // The dependencies' own install scripts are skipped (better-sqlite3 would compile for minutes with
  // no prebuilt binary reachable: CI has no internet); then `npm rebuild corelet` runs only our
  // package's install scripts, the postinstall under test. --version and `runtime --help` load no SQLite.
  await execa('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(dir, info!.filename)], { cwd: app, timeout: 10 * 60_000 });
  await execa('npm', ['rebuild', 'corelet'], { cwd: app, timeout: 5 * 60_000 });

  const pkg = join(app, 'node_modules', 'corelet');
  for (const bin of [join(pkg, 'dist', 'pause', 'rootfs', 'pause'), join(pkg, 'dist', 'bin', 'corelet-io')]) accessSync(bin, constants.X_OK);
  const corelet = join(app, 'node_modules', '.bin', 'corelet');
  const version = await execa(corelet, ['--version']);
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
  const help = await execa(corelet, ['runtime', '--help']);
  assert.match(help.stdout, /^Usage: corelet runtime/m);
  assert.match(help.stdout, /--runtime <name>/);
  assert.ok(existsSync(join(pkg, 'proto', 'api.proto')));
});
