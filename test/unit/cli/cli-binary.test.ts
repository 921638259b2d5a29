/**
 * The real CLI binary (dist/src/cli/main.js), run as a process: what only the binary shows. Its
 * version and help (which lists the daemons' commands, loaded only for help or when named; each
 * loading on its own when named is in cli-commands.test.ts), exit codes as the shell sees them (0, 1 on an error with
 * "corelet: ..." on stderr, commander's usage errors, and exec's command's own code), standard
 * input, and a watch that streams until the process is killed. What the commands do is
 * cli-commands.test.ts and cli-rbac.test.ts, which run the CLI in-process.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Pod } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import type { PodExecOptions, PodLogOptions, PodProxy } from '../../../src/scheduler/server/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { makePki, makeTokens, podYaml, startApiServer } from '../scheduler/server-helpers.js';

const CORELET = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/** Runs the binary (asynchronously: the server answers from this process). */
function corelet(env: Record<string, string>, args: string[], input?: string) {
  return execa(process.execPath, [CORELET, ...args], { env, extendEnv: false, reject: false, input, timeout: 60_000 });
}

/** A temp folder with a CLI config for the server, removed when the test ends. */
function setup(t: TestContext, server: { url: string }, pki: Pki, token: string): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ server: server.url, token, caCert: pki.ca.certPem }));
  return { dir, env: { CORELET_CONFIG: config, HOME: dir } };
}

describe('the corelet CLI binary', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('prints its version and help (listing every daemon command, their modules loaded); a usage error exits 1', async () => {
    const env = { HOME: tmpdir() };
    const [version, help, bogus] = await Promise.all([corelet(env, ['--version']), corelet(env, ['--help']), corelet(env, ['bogus'])]);
    assert.deepEqual([version.exitCode, version.stdout], [0, VERSION]);
    assert.equal(help.exitCode, 0, help.stderr);
    for (const command of ['runtime', 'images', 'agent', 'scheduler', 'up', 'apply', 'get', 'drain', 'token']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), `help lists ${command}`);
    }
    assert.equal(bogus.exitCode, 1);
    assert.match(bogus.stderr, /^error: unknown command 'bogus'/);
  });

  it('reads standard input, exits 0, 1 with "corelet: ..." on an error, and with exec’s command’s code', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const proxy: PodProxy = {
      async logs(_p: Pod, _opts: PodLogOptions, out: Writable) {
        out.write('hello\n');
      },
      async exec(_p: Pod, opts: PodExecOptions) {
        return { stdout: `ran ${opts.command.join(' ')}\n`, stderr: 'err\n', exitCode: 3 };
      },
    };
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: proxy });
    const { dir, env } = setup(t, server, pki, tokens.api);

    const applied = await corelet(env, ['apply', '-f', '-'], podYaml('web'));
    assert.deepEqual([applied.exitCode, applied.stdout, applied.stderr], [0, 'pod/web created', '']);
    store.bindPod('default', 'web', 'n1');
    const [listed, ran, missing, noConfig] = await Promise.all([
      corelet(env, ['get', 'pods', '-o', 'name']),
      corelet(env, ['exec', 'web', '--', 'sh', '-c', 'exit 3']),
      corelet(env, ['get', 'pod', 'ghost']),
      corelet({ HOME: dir }, ['get', 'pods']),
    ]);
    assert.deepEqual([listed.exitCode, listed.stdout], [0, 'pod/web'], listed.stderr);
    assert.deepEqual([ran.exitCode, ran.stdout, ran.stderr], [3, 'ran sh -c exit 3', 'err']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /^corelet: pods "ghost" not found/);
    assert.equal(noConfig.exitCode, 1);
    assert.match(noConfig.stderr, /^corelet: no cluster configured .*run `corelet scheduler init` or pass --server and --token/);
  });

  it('get -w streams the table, then a row per change, until the process is killed', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const { env } = setup(t, server, pki, tokens.api);
    store.create('Pod', { metadata: { name: 'first', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);

    const child = spawn(process.execPath, [CORELET, 'get', 'pods', '-w'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      for (const w of waiters.splice(0)) w();
    });
    const lines = async (n: number) => {
      while (out.split('\n').length <= n) await new Promise<void>((r) => waiters.push(r));
      return out.split('\n').slice(0, n);
    };
    const [header, first] = await lines(2);
    assert.match(header, /^NAME +READY +STATUS +RESTARTS +AGE$/);
    assert.match(first, /^first +0\/1 +Pending/);
    store.create('Pod', { metadata: { name: 'later', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);
    const [, , second] = await lines(3);
    assert.match(second, /^later +0\/1 +Pending/);
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGINT');
    assert.equal(await ended, 'SIGINT');
  });
});
