/**
 * The unit test run (`npm run test:unit`; native-scripts/check.sh): every test/unit file under
 * `node --test`. Most files run in a process of their own, as `node --test dist/test/unit/` runs
 * them. The light files listed in SHARED run several to a process, each file a suite of its own
 * (its file-level hooks stay its own): a process and its module loading cost ~0.1-0.3 s of CPU,
 * more than the tests of most of these files, and the check lane is CPU-bound on 2 cores.
 *
 * A file may be listed when its tests are quick (no real timers worth a process of their own, as
 * the tests in one process run one after another), and it changes nothing process-wide: no
 * useTestKeys() (each process's key pool is for one file), no process.env/cwd/umask, no global
 * mocks. A new file not listed runs alone; a listed file that no longer exists fails the run.
 * Arguments are passed to `node --test` (e.g. --test-reporter=spec, --test-name-pattern=...).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test files (relative to test/unit) that share processes. */
const SHARED = [
  'agent/admission-admit.test.ts',
  'agent/cri-config.test.ts',
  'agent/disk-dead-containers.test.ts',
  'agent/disk-eviction.test.ts',
  'agent/disk-image-gc.test.ts',
  'agent/disk-log-rotation.test.ts',
  'agent/eviction-manager.test.ts',
  'agent/eviction-threshold.test.ts',
  'agent/pod-eviction-cleanup.test.ts',
  'agent/pod-logs.test.ts',
  'agent/pod-status.test.ts',
  'agent/routes.test.ts',
  'agent/sandbox-change.test.ts',
  'agent/scheduler-link-termination.test.ts',
  'agent/termination-deadline.test.ts',
  'agent/volumes-paths.test.ts',
  'agent/volumes-persistent.test.ts',
  'api/kinds.test.ts',
  'api/label-selector.test.ts',
  'api/messages.test.ts',
  'api/pod-decode.test.ts',
  'api/pod-resources.test.ts',
  'api/pod-security.test.ts',
  'api/quantity.test.ts',
  'api/workload-decode.test.ts',
  'cgroups/cgroups.test.ts',
  'cli/cli-watch.test.ts',
  'cli/client-config-contexts.test.ts',
  'cli/client-config.test.ts',
  'cli/delete-grace.test.ts',
  'cli/kinds.test.ts',
  'cli/manifests.test.ts',
  'cli/printers.test.ts',
  'cli/progress.test.ts',
  'cli/readiness.test.ts',
  'cli/table.test.ts',
  'cri/grpc-deadline.test.ts',
  'cri/grpc-errors.test.ts',
  'cri/server.test.ts',
  'image/endpoints-auth.test.ts',
  'image/manifest.test.ts',
  'image/reference.test.ts',
  'image/registries-config.test.ts',
  'lib/backoff.test.ts',
  'lib/long-timer.test.ts',
  'lib/node-paths.test.ts',
  'lib/periodic.test.ts',
  'lib/root-lock.test.ts',
  'lib/safe-join.test.ts',
  'network/cni-config.test.ts',
  'network/cni-protocol.test.ts',
  'network/netns.test.ts',
  'network/pod-cidr.test.ts',
  'oci/conmon.test.ts',
  'oci/exit-file.test.ts',
  'oci/runtime-errors.test.ts',
  'runtime/bridge-address.test.ts',
  'runtime/config.test.ts',
  'runtime/container-stats.test.ts',
  'runtime/exec-sync-output.test.ts',
  'runtime/process-liveness.test.ts',
  'runtime/sandbox-files.test.ts',
  'runtime/sandbox-health.test.ts',
  'runtime/sandbox-rollback.test.ts',
  'scheduler/auth-tokens.test.ts',
  'scheduler/controllers-job.test.ts',
  'scheduler/create-deletion-fields.test.ts',
  'scheduler/pod-cidr.test.ts',
  'scheduler/pod-deletion.test.ts',
  'scheduler/pod-proxy.test.ts',
  'scheduler/rbac-authorizer.test.ts',
  'scheduler/scheduling-cache.test.ts',
  'scheduler/server-internal-volumes.test.ts',
  'scheduler/store-bind.test.ts',
  'scheduler/store-crud.test.ts',
  'scheduler/store-events.test.ts',
  'scheduler/store-indexes.test.ts',
  'scheduler/store-validation.test.ts',
  'scheduler/store-watch.test.ts',
  'scheduler/uid-generation.test.ts',
  'soak/soak-plan.test.ts',
  'spec/capabilities.test.ts',
  'spec/container-spec.test.ts',
  'spec/mounts.test.ts',
  'spec/namespaces.test.ts',
  'spec/process.test.ts',
  'spec/resources.test.ts',
  'spec/sandbox-spec.test.ts',
  'spec/seccomp.test.ts',
  'spec/security.test.ts',
  'spec/signals.test.ts',
  'spec/user.test.ts',
  'store/state-store.test.ts',
  'streaming/spdy-frames.test.ts',
  'streaming/spdy-headers.test.ts',
  'streaming/spdy-session.test.ts',
  'streaming/token-cache.test.ts',
];

/** How many processes the shared files are spread over; also node --test's concurrency. */
const PROCESSES = 4;

const UNIT = fileURLToPath(new URL('./unit/', import.meta.url));
const SHARED_DIR = fileURLToPath(new URL('./unit-shared/', import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => relative(UNIT, join(e.parentPath, e.name)))
    .sort();
}

const all = testFiles(UNIT);
const shared = SHARED.map((f) => f.replace(/\.ts$/, '.js'));
const missing = shared.filter((f) => !all.includes(f));
if (missing.length > 0) {
  console.error(`run-unit: listed in test/run-unit.ts but not a built unit test file: ${missing.join(', ')}`);
  process.exit(1);
}
rmSync(SHARED_DIR, { recursive: true, force: true });
mkdirSync(SHARED_DIR, { recursive: true });
const bundles: string[] = [];
for (let i = 0; i < PROCESSES; i++) {
  const files = shared.filter((_, j) => j % PROCESSES === i);
  const file = join(SHARED_DIR, `shared-${i + 1}.test.js`);
  writeFileSync(
    file,
    [
      '// Generated by test/run-unit.ts: these unit test files in one process, each file a suite.',
      "import { describe } from 'node:test';",
      `for (const file of ${JSON.stringify(files)}) describe(file, async () => {`,
      '  await import(new URL(`../unit/${file}`, import.meta.url).href);',
      '});',
      '',
    ].join('\n'),
  );
  bundles.push(file);
}
const alone = all.filter((f) => !shared.includes(f)).map((f) => join(UNIT, f));
const child = spawn(process.execPath, ['--test', `--test-concurrency=${PROCESSES}`, ...process.argv.slice(2), ...bundles, ...alone], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
