import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Stand-ins for runc and conmon: small Node scripts in a temp folder that behave like the real
 * command lines closely enough for the adapters' logic (argument shapes, exit codes, stderr
 * messages, the sync pipe), without root, containers or host state.
 */

/** A fake runc: knows the containers whose state-<id>.json exists in its folder. */
const FAKE_RUNC = `#!/usr/bin/env node
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dir = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let stdin = '';
const fail = (msg, code = 1) => { process.stderr.write('time="2026-01-01T00:00:00Z" level=error msg="' + msg.replace(/"/g, '\\\\"') + '"\\n'); process.exit(code); };
async function main() {
  if (argv.includes('-')) { for await (const c of process.stdin) stdin += c; }
  // update --resources FILE: the file's content, recorded as stdin (the file is gone afterwards).
  else if (argv.includes('--resources')) stdin = readFileSync(argv[argv.indexOf('--resources') + 1], 'utf8');
  appendFileSync(join(dir, 'calls.jsonl'), JSON.stringify({ argv, stdin }) + '\\n');
  if (argv[0] !== '--root') fail('no --root');
  // global flags after --root ROOT (--systemd-cgroup), as runc's own parser takes them
  const cmd = argv.slice(2).find((a) => !a.startsWith('--'));
  const id = argv[argv.length - 1];
  const known = (i) => existsSync(join(dir, 'state-' + i + '.json'));
  switch (cmd) {
    case 'state':
      if (!known(id)) fail('container does not exist');
      process.stdout.write(readFileSync(join(dir, 'state-' + id + '.json')));
      return;
    case 'start':
    case 'update':
    case 'delete':
      if (!known(id)) fail('container does not exist');
      return;
    case 'kill': {
      const kid = argv[argv.length - 2];
      if (!known(kid)) fail('container does not exist');
      if (JSON.parse(readFileSync(join(dir, 'state-' + kid + '.json'), 'utf8')).status === 'stopped') fail('container not running');
      return;
    }
    case 'exec': {
      if (!known(id)) fail('exec failed: container does not exist', 255);
      const proc = JSON.parse(readFileSync(argv[argv.indexOf('--process') + 1], 'utf8'));
      writeFileSync(join(dir, 'last-process.json'), JSON.stringify(proc));
      const child = spawn(proc.args[0], proc.args.slice(1), { stdio: 'inherit' });
      child.on('error', () => fail('exec failed: unable to start container process: exec: "' + proc.args[0] + '": executable file not found in $PATH', 255));
      child.on('spawn', () => writeFileSync(argv[argv.indexOf('--pid-file') + 1], String(child.pid)));
      child.on('exit', (code, sig) => process.exit(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
      return;
    }
    default:
      fail('unknown command ' + cmd);
  }
}
main();
`;

/** A fake conmon: reports over fd 3 like conmon; a file named "fail" in the bundle makes create fail. */
const FAKE_CONMON = `#!/usr/bin/env node
import { existsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
const argv = process.argv.slice(2);
const opt = (name) => argv[argv.indexOf(name) + 1];
const bundle = opt('-b');
writeFileSync(join(bundle, 'conmon-call.json'), JSON.stringify({ argv, env: { _OCI_SYNCPIPE: process.env._OCI_SYNCPIPE }, cwd: process.cwd() }));
if (existsSync(join(bundle, 'silent'))) { process.stderr.write('conmon: something broke early\\n'); process.exit(1); }
writeFileSync(opt('-P'), String(process.pid));
if (existsSync(join(bundle, 'fail'))) {
  const msg = 'time="2026-01-01T00:00:00Z" level=error msg="runc create failed: unable to start container process: exec: \\\\"nope\\\\": executable file not found in $PATH"\\n';
  writeSync(3, JSON.stringify({ data: -1, message: msg }) + '\\n');
  process.exit(1);
}
writeFileSync(opt('-p'), '4242');
writeSync(3, '{"data": 4242}\\n');
`;

/** A temp folder holding fake runc and conmon binaries, removed by cleanup(). */
export interface Fakes {
  dir: string;
  runc: string;
  conmon: string;
  /** Makes the fake runc know a container in the given state. */
  addContainer(id: string, status: string, extra?: Record<string, unknown>): Promise<void>;
  /** The argv and stdin of every fake runc call so far. */
  calls(): Promise<{ argv: string[]; stdin: string }[]>;
  cleanup(): Promise<void>;
}

export async function makeFakes(): Promise<Fakes> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-fakes-'));
  const runc = join(dir, 'runc.mjs');
  const conmon = join(dir, 'conmon.mjs');
  await writeFile(runc, FAKE_RUNC);
  await writeFile(conmon, FAKE_CONMON);
  await chmod(runc, 0o755);
  await chmod(conmon, 0o755);
  return {
    dir,
    runc,
    conmon,
    async addContainer(id, status, extra = {}) {
      await writeFile(join(dir, `state-${id}.json`), JSON.stringify({ ociVersion: '1.0.2', id, pid: 1234, status, bundle: join(dir, 'bundle'), ...extra }));
    },
    async calls() {
      try {
        const text = await readFile(join(dir, 'calls.jsonl'), 'utf8');
        return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { argv: string[]; stdin: string });
      } catch {
        return [];
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
