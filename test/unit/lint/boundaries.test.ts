/**
 * The boundary rules themselves (.dependency-cruiser.cjs, `npm run lint:deps`): on a small tree with
 * src/'s top-level folders (each an index.ts and an internal module) and the real config and
 * tsconfig, deliberately added sideways imports (agent → runtime, streaming → cri, scheduler →
 * streaming, host → runtime), an import of another folder's internals and a new cycle make the
 * check fail, naming each new import and its rule and nothing else; the imports the arrows allow
 * pass. That the real tree has no violation is `npm run lint:deps` (the check lane runs it): cruising
 * a copy of all of src/ here cost the unit run ~5 s of CPU for the same answer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function depcruise(cwd: string): Promise<{ code: number; out: string }> {
  // Own cache folder: the config's default (node_modules/.cache) is the repository's, shared through the symlink.
  const args = [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err', '--cache', join(cwd, '.depcache')];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

test('the boundary check fails on a new sideways import, a reach into internals and a new cycle, naming each', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-boundaries-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // src/'s top-level folders, each exporting through index.ts what its internal module has.
  for (const folder of (await readdir(join(ROOT, 'src'), { withFileTypes: true })).filter((d) => d.isDirectory())) {
    await mkdir(join(dir, 'src', folder.name), { recursive: true });
    await writeFile(join(dir, 'src', folder.name, 'internal.ts'), `export const ${folder.name} = 1;\n`);
    await writeFile(join(dir, 'src', folder.name, 'index.ts'), "export * from './internal.js';\n");
  }
  for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json']) await copyFile(join(ROOT, f), join(dir, f));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));

  // What the arrows allow: none of these is reported.
  await writeFile(join(dir, 'src/agent/zz-allowed.ts'), "import '../cri/index.js';\nimport '../host/index.js';\nimport '../join/index.js';\nimport './internal.js';\n");
  await writeFile(join(dir, 'src/runtime/zz-allowed.ts'), "import '../streaming/index.js';\nimport '../cri/index.js';\n");
  await writeFile(join(dir, 'src/scheduler/zz-allowed.ts'), "import '../join/index.js';\nimport '../api/index.js';\nimport '../lib/index.js';\n");
  await writeFile(join(dir, 'src/cli/zz-allowed.ts'), "import '../runtime/index.js';\nimport '../agent/index.js';\nimport '../scheduler/index.js';\nimport '../streaming/index.js';\n");

  // The agent drives any CRI runtime over its socket: importing the runtime is sideways.
  await writeFile(join(dir, 'src/agent/zz-probe-sideways.ts'), "import '../runtime/index.js';\n");
  // The streaming library knows only lib/ (as k8s.io/cri-streaming): importing the CRI is sideways.
  await writeFile(join(dir, 'src/streaming/zz-probe-sideways.ts'), "import '../cri/index.js';\n");
  // ... and only the runtime (and the CLI) import it.
  await writeFile(join(dir, 'src/scheduler/zz-probe-streaming.ts'), "import '../streaming/index.js';\n");
  // The shared host adapters know neither of their users.
  await writeFile(join(dir, 'src/host/zz-probe-upward.ts'), "import '../runtime/index.js';\n");
  // lib/ may be imported by the scheduler, but only through lib/index.ts.
  await writeFile(join(dir, 'src/scheduler/zz-probe-internals.ts'), "import '../lib/internal.js';\n");
  // No import cycles.
  await writeFile(join(dir, 'src/lib/zz-probe-cycle-a.ts'), "import './zz-probe-cycle-b.js';\n");
  await writeFile(join(dir, 'src/lib/zz-probe-cycle-b.ts'), "import './zz-probe-cycle-a.js';\n");

  const { code, out } = await depcruise(dir);
  assert.notEqual(code, 0, out);
  assert.match(out, /error agent-imports-only-cri-host-join-api-lib: src\/agent\/zz-probe-sideways\.ts → src\/runtime\/index\.ts/);
  assert.match(out, /error streaming-imports-only-lib: src\/streaming\/zz-probe-sideways\.ts → src\/cri\/index\.ts/);
  assert.match(out, /error streaming-imported-by-runtime-only: src\/scheduler\/zz-probe-streaming\.ts → src\/streaming\/index\.ts/);
  assert.match(out, /error host-imports-only-lib: src\/host\/zz-probe-upward\.ts → src\/runtime\/index\.ts/);
  assert.match(out, /error through-index: src\/scheduler\/zz-probe-internals\.ts → src\/lib\/internal\.ts/);
  assert.match(out, /error no-circular: src\/lib\/zz-probe-cycle-a\.ts →\s+src\/lib\/zz-probe-cycle-b\.ts →\s+src\/lib\/zz-probe-cycle-a\.ts/);
  // Only these: what the arrows allow passes.
  assert.match(out, /x 6 dependency violations \(6 errors, 0 warnings\)/);
});
