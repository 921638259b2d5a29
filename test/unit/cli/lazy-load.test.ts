/**
 * Start-up: a CLI run loads the modules of the one command it names. `corelet --version` and
 * `corelet get pods` never load a daemon's modules, gRPC or the protos, SQLite, pino or yaml
 * (bench/startup.ts times them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandGroupsFor } from '../../../src/cli/run.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** The files `corelet ARGS` loads (ESM by a load hook, CommonJS by a require hook). */
function loadedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-lazy-'));
  try {
    const list = join(dir, 'loaded.txt');
    writeFileSync(list, '');
    writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, c, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, c); }\n`);
    writeFileSync(join(dir, 'reg.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + join(dir, 'hooks.mjs'))});\n`);
    writeFileSync(
      join(dir, 'cjs.cjs'),
      `const M = require('module'); const o = M._load; const fs = require('fs');\nM._load = function (r, p, m) { try { fs.appendFileSync(${JSON.stringify(list)}, M._resolveFilename(r, p, m) + '\\n'); } catch {} return o.apply(this, arguments); };\n`,
    );
    const r = spawnSync(process.execPath, ['--require', join(dir, 'cjs.cjs'), '--import', join(dir, 'reg.mjs'), MAIN, ...args], { env: { PATH: process.env.PATH, HOME: dir }, encoding: 'utf8' });
    assert.equal(r.error, undefined);
    return readFileSync(list, 'utf8').split('\n').filter((l) => l && !l.includes(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HEAVY = [/\/src\/(runtime|agent|scheduler|cri|streaming)\//, /@grpc/, /better-sqlite3/, /\/pino\//, /\/yaml\//, /node-forge/, /systeminformation/, /prom-client/];

test('corelet --version and corelet get pods load no daemon, gRPC, SQLite, pino or yaml module', () => {
  for (const args of [['--version'], ['get', 'pods']]) {
    const loaded = loadedBy(args);
    assert.ok(loaded.some((f) => f.endsWith('/src/cli/main.js')), `the hooks saw the run of ${args.join(' ')}`);
    const heavy = loaded.filter((f) => HEAVY.some((re) => re.test(f)));
    assert.deepEqual(heavy, [], `corelet ${args.join(' ')} loads only what it needs`);
  }
});

test('a run loads the command it names, all of them for help or an unknown name, none for --version', () => {
  assert.deepEqual(commandGroupsFor(['get', 'pods']).map((g) => g.names), [['get']]);
  assert.deepEqual(commandGroupsFor(['drain', 'n1']).map((g) => g.names), [['cordon', 'uncordon', 'drain']]);
  assert.deepEqual(commandGroupsFor(['--version']), []);
  const all = commandGroupsFor([]).flatMap((g) => g.names);
  assert.ok(all.includes('runtime') && all.includes('get') && all.includes('token'));
  assert.deepEqual(commandGroupsFor(['--help']).flatMap((g) => g.names), all);
  assert.deepEqual(commandGroupsFor(['bogus']).flatMap((g) => g.names), all);
});
