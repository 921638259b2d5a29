/**
 * CLI start-up: wall time from spawn to exit of `corelet --version` and `corelet get pods` (with no
 * cluster configured: it loads the get command's modules, reads the client config and exits), next
 * to `node -e 0` (Node itself) and, with --baseline DIST, another build's same commands.
 *
 *   node dist/bench/startup.js [--runs 2] [--iterations 20] [--baseline /work/main/dist]
 *
 * Prints the CPU model, the load before and after, and per run and command the median, p90 and min
 * in ms of wall time, the median CPU time (user + system, by GNU time), and how many modules the
 * command loads (ESM and CommonJS, counted by a loader hook).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '2' }, iterations: { type: 'string', default: '20' }, baseline: { type: 'string' } },
});
const runs = Number(values.runs);
const iterations = Number(values.iterations);
const dist = resolve(import.meta.dirname, '..');
const home = mkdtempSync(join(tmpdir(), 'st-startup-'));
// No cluster configured, no inherited corelet settings: every run does the same work.
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };

interface Case {
  name: string;
  argv: string[];
}
const cases: Case[] = [{ name: 'node -e 0', argv: ['-e', '0'] }];
const builds: [string, string][] = [['this build', dist], ...(values.baseline ? ([['baseline', resolve(values.baseline)]] as [string, string][]) : [])];
for (const [label, d] of builds) {
  const main = join(d, 'src', 'cli', 'main.js');
  cases.push({ name: `${label}: corelet --version`, argv: [main, '--version'] }, { name: `${label}: corelet get pods`, argv: [main, 'get', 'pods'] });
}

// CPU time (user + system) too, by GNU time where installed: on a loaded host wall time is mostly
// waiting for a core, CPU time is what the command costs.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function timeOnce(argv: string[]): { wall: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', 'cpu %U %S', process.execPath, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    : spawnSync(process.execPath, argv, { env, stdio: 'ignore' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(typeof r.stderr === 'string' ? r.stderr : '');
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN };
}

/** Modules a command loads: a require hook (CommonJS) and a load hook (ESM) append each one to a file. */
function moduleCount(argv: string[]): number {
  const list = join(home, 'modules.txt');
  writeFileSync(list, '');
  const hooks = join(home, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, c, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, c); }\n`);
  const reg = join(home, 'reg.mjs');
  writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + hooks)});\n`);
  const cjs = join(home, 'cjs.cjs');
  writeFileSync(
    cjs,
    `const M = require('module'); const o = M._load; const fs = require('fs');\nM._load = function (r, p, m) { let f; try { f = M._resolveFilename(r, p, m); } catch { f = r; } fs.appendFileSync(${JSON.stringify(list)}, f + '\\n'); return o.apply(this, arguments); };\n`,
  );
  spawnSync(process.execPath, ['--require', cjs, '--import', reg, ...argv], { env, stdio: 'ignore' });
  const lines = readFileSync(list, 'utf8').split('\n').filter((l) => l && !l.startsWith('node:') && l.includes('/') && !l.includes(home));
  return new Set(lines.map((l) => l.replace(/^file:\/\//, ''))).size;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`CPU: ${cpus()[0]?.model} x${cpus().length}; node ${process.version}; ${iterations} iterations per command and run`);
console.log(`load before: ${load()}`);
const counts = new Map(cases.map((c) => [c.name, moduleCount(c.argv)]));
for (let run = 1; run <= runs; run++) {
  console.log(`\nrun ${run} (load ${load()})`);
  console.log('| command | wall median ms | wall p90 ms | wall min ms | CPU median ms (user+sys) | modules loaded |');
  console.log('|---|---|---|---|---|---|');
  for (const c of cases) timeOnce(c.argv); // warm the page cache
  const times = new Map<string, { wall: number; cpu: number }[]>(cases.map((c) => [c.name, []]));
  // Interleaved, so a burst of load from elsewhere hits every command alike.
  for (let i = 0; i < iterations; i++) for (const c of cases) times.get(c.name)!.push(timeOnce(c.argv));
  for (const c of cases) {
    const wall = times.get(c.name)!.map((t) => t.wall);
    const cpu = times.get(c.name)!.map((t) => t.cpu);
    console.log(`| ${c.name} | ${pct(wall, 50).toFixed(0)} | ${pct(wall, 90).toFixed(0)} | ${Math.min(...wall).toFixed(0)} | ${pct(cpu, 50).toFixed(0)} | ${counts.get(c.name)} |`);
  }
}
console.log(`\nload after: ${load()}`);
rmSync(home, { recursive: true, force: true });
