/**
 * The unit test run (`npm run test:unit`; native-scripts/check.sh): every test/unit file under
 * `node --test`. Most files run in a process of their own, as `node --test dist/test/unit/` runs
 * them. The light files listed in SHARED run several to a process, each file a suite of its own
 * (its file-level hooks stay its own): a process and its module loading cost ~0.1-0.3 s of CPU,
 * more than the tests of most of these files, and the check lane is CPU-bound on 2 cores.
 *
 * A file may be listed when its tests are quick (no real timers worth a process of their own, as
 * the tests in one process run one after another) and it changes nothing process-wide that another
 * file relies on: no process.env/cwd/umask, no global mocks. useTestKeys() (server-helpers.ts calls
 * it) swaps the RSA key source of the whole process: fine for every file but one that checks real
 * key generation (auth-pki.test.ts, not listed); the pool holds 48 keys per process, the listed
 * files use ~20 per process. A new file not listed runs alone; a listed file that no longer exists
 * fails the run.
 * Arguments are passed to `node --test` (e.g. --test-reporter=spec, --test-name-pattern=...).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test files (relative to test/unit) that share processes. */
const SHARED = [
  'agent/admission-admit.test.ts',
  'agent/cgroup-driver-choice.test.ts',
  'agent/cri-config.test.ts',
  'agent/disk-dead-containers.test.ts',
  'agent/disk-eviction.test.ts',
  'agent/disk-image-gc.test.ts',
  'agent/disk-log-rotation.test.ts',
  'agent/dns-pod-config.test.ts',
  'agent/dns-service-view.test.ts',
  'agent/eviction-manager.test.ts',
  'agent/eviction-threshold.test.ts',
  'agent/http-server.test.ts',
  'agent/node-identity.test.ts',
  'agent/pod-actions.test.ts',
  'agent/pod-eviction-cleanup.test.ts',
  'agent/pod-logs.test.ts',
  'agent/pod-stream-paths.test.ts',
  'agent/pod-manager-events.test.ts',
  'agent/pod-manager-readd.test.ts',
  'agent/pod-security-admission.test.ts',
  'agent/pod-status.test.ts',
  'agent/pod-termination.test.ts',
  'agent/pod-worker.test.ts',
  'agent/probe-worker.test.ts',
  'agent/proxy-compile.test.ts',
  'agent/proxy-conntrack.test.ts',
  'agent/proxy-nft-runner.test.ts',
  'agent/qos-cgroup-manager.test.ts',
  'agent/qos-resource-config.test.ts',
  'agent/qos-systemd.test.ts',
  'agent/routes.test.ts',
  'agent/run-as-non-root.test.ts',
  'agent/sandbox-change.test.ts',
  'agent/scheduler-link-resync-marker.test.ts',
  'agent/scheduler-link-services.test.ts',
  'agent/scheduler-link-termination.test.ts',
  'agent/services-cache.test.ts',
  'agent/termination-deadline.test.ts',
  'agent/volumes-paths.test.ts',
  'agent/volumes-persistent.test.ts',
  'api/json-duplicates.test.ts',
  'api/kinds.test.ts',
  'api/label-selector.test.ts',
  'api/managed-fields.test.ts',
  'api/messages.test.ts',
  'api/pod-decode.test.ts',
  'api/pod-resources.test.ts',
  'api/pod-security.test.ts',
  'api/quantity.test.ts',
  'api/schema.test.ts',
  'api/service-decode.test.ts',
  'api/strategic-merge.test.ts',
  'api/workload-decode.test.ts',
  'cgroups/cgroup-metrics.test.ts',
  'cgroups/cgroups.test.ts',
  'cgroups/systemd-names.test.ts',
  'cli/cli-watch.test.ts',
  'cli/client-config-contexts.test.ts',
  'cli/client-config.test.ts',
  'cli/daemon-heap.test.ts',
  'cli/delete-grace.test.ts',
  'cli/kinds.test.ts',
  'cli/kubeconfig.test.ts',
  'cli/manifests.test.ts',
  'cli/printers.test.ts',
  'cli/progress.test.ts',
  'cli/pull-progress.test.ts',
  'cli/readiness.test.ts',
  'cli/services.test.ts',
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
  'runtime/cgroup-ownership.test.ts',
  'runtime/config.test.ts',
  'runtime/container-stats.test.ts',
  'runtime/container-status.test.ts',
  'runtime/exec-sync-output.test.ts',
  'runtime/image-volumes.test.ts',
  'runtime/metrics.test.ts',
  'runtime/process-liveness.test.ts',
  'runtime/sandbox-cgroup-driver.test.ts',
  'runtime/sandbox-files.test.ts',
  'runtime/sandbox-health.test.ts',
  'runtime/sandbox-rollback.test.ts',
  'scheduler/auth-tokens.test.ts',
  'scheduler/controller-isolation.test.ts',
  'scheduler/controllers-daemonset.test.ts',
  'scheduler/controllers-deployment.test.ts',
  'scheduler/controllers-job.test.ts',
  'scheduler/controllers-node-loss.test.ts',
  'scheduler/controllers-sliced.test.ts',
  'scheduler/create-deletion-fields.test.ts',
  'scheduler/graceful-deletion-server.test.ts',
  'scheduler/init-token-ttl.test.ts',
  'scheduler/log-options.test.ts',
  'scheduler/pod-cidr.test.ts',
  'scheduler/pod-deletion.test.ts',
  'scheduler/pod-ip.test.ts',
  'scheduler/pod-proxy-server.test.ts',
  'scheduler/pod-proxy.test.ts',
  'scheduler/pod-stream-server.test.ts',
  'scheduler/prebound-assign.test.ts',
  'scheduler/rbac-authorizer.test.ts',
  'scheduler/rbac-findings.test.ts',
  'scheduler/renewal-retry.test.ts',
  'scheduler/scheduler-restart.test.ts',
  'scheduler/scheduling-cache.test.ts',
  'scheduler/server-api-discovery.test.ts',
  'scheduler/server-api-chunks.test.ts',
  'scheduler/server-api-patch.test.ts',
  'scheduler/server-api-streams.test.ts',
  'scheduler/server-api-writes.test.ts',
  'scheduler/server-api-limits.test.ts',
  'scheduler/server-api.test.ts',
  'scheduler/server-internal-volumes.test.ts',
  'scheduler/server-nodes.test.ts',
  'scheduler/server-openapi.test.ts',
  'scheduler/server-pod-security.test.ts',
  'scheduler/state-private.test.ts',
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
  'streaming/server.test.ts',
  'streaming/spdy-frames.test.ts',
  'streaming/spdy-headers.test.ts',
  'streaming/spdy-session.test.ts',
  'streaming/token-cache.test.ts',
];

/**
 * Files started first, longest first (their tests wait on real timers: certificate expiry, grace
 * periods, rate limits, SIGKILL after a stop timeout; or take seconds of CPU), so that they overlap
 * the others instead of ending the run. node --test starts files in the sorted order of their
 * paths, so each is started through a one-line file in dist/test/unit-first/NN-*.test.js that
 * imports it (the same as running it: its own process, its tests at the top level). Only an
 * order: a name missing here or renamed costs time, nothing else.
 */
const FIRST = [
  'scheduler/big-manifest.test.ts',
  'runtime/container-monitor-lost.test.ts',
  'oci/oci-runtime.test.ts',
  'scheduler/placement.test.ts',
  'network/network-manager.test.ts',
  'scheduler/rbac-api.test.ts',
  'scheduler/node-lifecycle.test.ts',
  'scheduler/session-expiry.test.ts',
  'scheduler/node-identity-trust.test.ts',
  'scheduler/auth-pki.test.ts',
  'scheduler/decode-limits.test.ts',
  'lint/boundaries.test.ts',
  'scheduler/expired-node-rejoin.test.ts',
  'scheduler/store-durability.test.ts',
  'image/registry-http.test.ts',
  'agent/routes-pod-cidr.test.ts',
  'scheduler/node-identity-server.test.ts',
  'scheduler/pod-cidr-server.test.ts',
  'agent/scheduler-link-resync.test.ts',
];

/** How many processes the shared files are spread over; also node --test's concurrency. */
const PROCESSES = 4;

const UNIT = fileURLToPath(new URL('./unit/', import.meta.url));
const SHARED_DIR = fileURLToPath(new URL('./unit-shared/', import.meta.url));
const FIRST_DIR = fileURLToPath(new URL('./unit-first/', import.meta.url));

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
// Sorted paths: dist/test/unit-first/ starts before dist/test/unit-shared/, before dist/test/unit/.
const first = FIRST.map((f) => f.replace(/\.ts$/, '.js')).filter((f) => all.includes(f) && !shared.includes(f));
rmSync(FIRST_DIR, { recursive: true, force: true });
mkdirSync(FIRST_DIR, { recursive: true });
const starters = first.map((f, i) => {
  const file = join(FIRST_DIR, `${String(i + 1).padStart(2, '0')}-${f.replaceAll('/', '-')}`);
  writeFileSync(file, `// Generated by test/run-unit.ts: starts this file early.\nimport '../unit/${f}';\n`);
  return file;
});
const alone = all.filter((f) => !shared.includes(f) && !first.includes(f));
const files = [...starters, ...bundles, ...alone.map((f) => join(UNIT, f))];
const child = spawn(process.execPath, ['--test', `--test-concurrency=${PROCESSES}`, ...process.argv.slice(2), ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
