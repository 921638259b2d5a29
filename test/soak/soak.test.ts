/**
 * The soak and fault test (issue 10): a 3-node namespace cluster (cluster.sh up 3) runs the Zeus
 * stack and a churn workload while faults are injected at random (seeded) intervals; invariants are
 * checked all along and at the end, and a report lists the faults, their recoveries and every
 * violation, which must be none. Short form by default (each fault once, CI, ≤ 8 minutes); long
 * form with CORELET_SOAK_MINUTES=120. Settings: test/soak/settings.ts. The cluster uses its own
 * name, network and port (soak, 10.95.0, 16445), so it never meets the e2e tests' cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClusterHarness } from '../helpers/cluster-harness.js';
import { CORELET } from '../helpers/runtime-harness.js';
import { FAULT_KINDS, firstRound, inject, type FaultContext, type FaultKind } from './faults.js';
import { Invariants, mib } from './invariants.js';
import { SoakReport } from './report.js';
import { Prng, durationSeconds, sizeBytes, soakSettings, type SoakSettings } from './settings.js';
import { Churn, soakManifest, zeusManifest } from './workload.js';
import { ImageChurn } from './image-churn.js';
import { ImageInvariants, imageBound } from './image-invariants.js';
import { RegistryRelay } from './registry-relay.js';
import { requireLocalRegistry } from '../helpers/conformance.js';

const settings = soakSettings();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function helpOf(role: string): Promise<string> {
  return String((await execa(process.execPath, [CORELET, role, '--help'], { reject: false })).stdout);
}

/**
 * The daemons' flags for short lifetimes and small logs, each only when this build has it (other
 * branches add --serving-cert-ttl and the log rotation flags); returns the container log bound.
 */
async function daemonFlags(s: SoakSettings, report: SoakReport): Promise<{ scheduler: string[]; agent: string[]; logBound: number }> {
  const schedulerHelp = await helpOf('scheduler');
  const agentHelp = await helpOf('agent');
  // a 10 s eviction timeout, as the cluster tests: a scheduler restart that wrongly judged nodes lost
  // would delete their pods within the outage (the 300 s default would hide it)
  const scheduler = ['--pod-eviction-timeout', '10', '--node-cert-ttl', s.nodeCertTtl];
  if (schedulerHelp.includes('--serving-cert-ttl')) scheduler.push('--serving-cert-ttl', s.servingCertTtl);
  else report.note('the scheduler has no --serving-cert-ttl: its serving certificate keeps its default lifetime');
  const agent: string[] = [];
  let size = 10 * 1024 * 1024;
  let files = 5;
  if (agentHelp.includes('--container-log-max-size')) {
    agent.push('--container-log-max-size', s.logMaxSize);
    size = sizeBytes(s.logMaxSize);
  } else report.note('the agent has no --container-log-max-size: logs are held to the kubelet default, 10Mi');
  if (agentHelp.includes('--container-log-max-files')) {
    agent.push('--container-log-max-files', String(s.logMaxFiles));
    files = s.logMaxFiles;
  } else report.note('the agent has no --container-log-max-files: logs are held to the kubelet default, 5 files');
  // image GC that bites on the nodes' small image stores (CORELET_SOAK_IMAGEFS_MIB)
  if (agentHelp.includes('--image-gc-high-threshold')) agent.push('--image-gc-high-threshold', String(s.imageGcHigh), '--image-gc-low-threshold', String(s.imageGcLow), '--image-minimum-gc-age', s.imageMinAge);
  else report.note('the agent has no --image-gc-high-threshold: images are collected at the kubelet defaults (85/80%)');
  // the rotation runs every few seconds (the kubelet's: 10 s): allow 30 s of writes and one file more
  const logBound = size * (files + 1) + s.logKiBPerSecond * 1024 * 30;
  return { scheduler: [...scheduler, ...split(s.schedulerArgs)], agent: [...agent, ...split(s.agentArgs)], logBound };
}

const split = (s: string) => s.split(' ').filter(Boolean);

/**
 * Bootstrap tokens past their lifetime: the nodes joined with `init`'s 24 h token; it is deleted and
 * replaced in the join file by one that expires within minutes, so every agent restarted after that
 * must get along with its own (rotating) certificate.
 */
async function shortLivedToken(cluster: ClusterHarness, s: SoakSettings, report: SoakReport): Promise<void> {
  const listed = String((await cluster.corelet(['token', 'list'])).stdout).split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter(Boolean);
  const made = String((await cluster.corelet(['token', 'create', '--ttl', s.tokenTtl, '--description', 'soak: short-lived join token'])).stdout).trim();
  const token = /[a-z0-9]{6}\.[a-z0-9]{16}/.exec(made)?.[0];
  if (!token) throw new Error(`corelet token create printed no token: ${made}`);
  const joinFile = join(cluster.dir, 'join.env');
  await writeFile(joinFile, (await readFile(joinFile, 'utf8')).replace(/^JOIN_TOKEN=.*$/m, `JOIN_TOKEN=${token}`));
  for (const id of listed) await cluster.corelet(['token', 'delete', id]);
  report.note(`bootstrap tokens ${listed.join(', ')} deleted; the join file now holds ${token.split('.')[0]}, which expires in ${s.tokenTtl}`);
  report.measure('bootstrap token expired at (s)', Math.round(report.now() + durationSeconds(s.tokenTtl)));
}

test(`soak (${settings.form} form, seed ${settings.seed}): faults at random, every invariant holds`, { timeout: settings.form === 'short' ? 15 * 60_000 : (settings.minutes + 30) * 60_000 }, async (t) => {
  const report = new SoakReport({ ...settings });
  const rng = new Prng(settings.seed);
  report.note(`seed ${settings.seed} (replay: CORELET_SOAK_SEED=${settings.seed}); ${settings.form} form; cluster ${settings.name} on ${settings.net}.0/24, port ${settings.port}`);
  let cluster: ClusterHarness | undefined;
  let invariants: Invariants | undefined;
  let churn: Churn | undefined;
  let imageChurn: ImageChurn | undefined;
  let images: ImageInvariants | undefined;
  let imagesFinished = false;
  let relay: RegistryRelay | undefined;
  try {
    await requireLocalRegistry();
    const bound = await imageBound(settings);
    report.note(`image store per node: a ${settings.imagefsMiB} MiB tmpfs; bound ${bound.text}`);
    const flags = await daemonFlags(settings, report);
    report.measure('container log bound', mib(flags.logBound));
    report.note(`scheduler flags: ${flags.scheduler.join(' ')}; agent flags: ${flags.agent.join(' ') || '-'}`);
    cluster = await ClusterHarness.up(3, {
      name: settings.name,
      tmpParent: settings.tmpParent,
      env: {
        CORELET_CLUSTER_NET: settings.net,
        CORELET_CLUSTER_PORT: String(settings.port),
        CORELET_CLUSTER_SCHEDULER_ARGS: flags.scheduler.join(' '),
        CORELET_CLUSTER_AGENT_ARGS: flags.agent.join(' '),
        CORELET_CLUSTER_RUNTIME_ARGS: '',
        CORELET_CLUSTER_IMAGEFS_SIZE: `${settings.imagefsMiB}m`,
        // imported from an archive, never pullable again: GC must keep them (CRI-O's pinned_images)
        CORELET_CLUSTER_PINNED_IMAGES: 'corelet.local/zeus/*',
      },
    });
    report.note(`cluster up in ${cluster.dir}`);
    relay = new RegistryRelay(cluster);
    await relay.start();
    images = new ImageInvariants(cluster, report, bound);
    images.start();
    await cluster.loadExampleImages();
    await shortLivedToken(cluster, settings, report);
    const inv = (invariants = new Invariants(cluster, report, settings, flags.logBound));
    await cluster.apply(await zeusManifest());
    await cluster.apply(soakManifest(settings));
    // the image churn starts with the workload: the stores fill while it comes up
    imageChurn = new ImageChurn(cluster, report, new Prng(settings.seed ^ 0x85ebca6b), settings, () => inv.quietSince());
    imageChurn.start();
    if (!(await inv.waitHealthy(240_000))) report.violation('workload-start', `the workload was not Ready within 4 minutes: ${JSON.stringify(inv.last?.workloads)}`);
    report.note('workload Ready: faults begin');
    report.measure('node disk use at the start', await inv.diskUse());
    inv.start();
    // a stream of its own, so the faults and their victims replay the same whatever churn did
    churn = new Churn(cluster, report, new Prng(settings.seed ^ 0x9e3779b9), settings.form === 'short' ? [10_000, 25_000] : [15_000, 60_000], (key) => inv.disturb(key));
    churn.start();
    const churns = [churn, imageChurn];
    const ctx: FaultContext = { cluster, report, rng, settings, invariants: inv, churn: { pause: async () => void (await Promise.all(churns.map((c) => c.pause()))), resume: () => churns.forEach((c) => c.resume()) } };

    const plan: FaultKind[] = firstRound(rng);
    const until = Date.now() + settings.minutes * 60_000;
    for (let i = 0; i < plan.length || (settings.form === 'long' && Date.now() < until); i++) {
      const kind = plan[i] ?? rng.pick(FAULT_KINDS);
      await inject(kind, ctx);
      if (!(await inv.waitHealthy(settings.recoveryMs))) report.note(`not recovered ${settings.recoveryMs / 1000} s after ${kind}; going on`);
      await sleep(rng.int(settings.gapMs[0], settings.gapMs[1]));
    }

    report.note('faults done: churn stops; waiting for the cluster to settle');
    await churn.stop();
    await imageChurn.stop();
    await imageChurn.settle();
    await inv.waitHealthy(settings.recoveryMs);
    // a killed pause shows as a stuck sandbox only 2 minutes later: keep sampling until then
    const lastPause = report.faults.filter((f) => f.kind === 'kill-pause').at(-1)?.end;
    const pauseWindow = lastPause === undefined ? 0 : (lastPause - report.now()) * 1000 + settings.recoveryMs + 35_000;
    if (pauseWindow > 0) await sleep(pauseWindow);
    // one last sample with the recovery windows of the last fault passed or the cluster healthy
    await inv.poll();
    await inv.stop();
    await images.stop();
    await images.finish();
    imagesFinished = true;
    report.measure('node disk use at the end', await inv.diskUse());
    await inv.checkLeaksBeforeDown();
  } catch (err) {
    report.violation('soak-harness', `the test stopped early: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    if (cluster) report.note(`daemon logs:\n${await cluster.logTails(10)}`);
  } finally {
    await churn?.stop().catch(() => undefined);
    await invariants?.stop().catch(() => undefined);
    await imageChurn?.stop().catch(() => undefined);
    await images?.stop().catch(() => undefined);
    // the agents' logs go with the cluster: read them first
    if (images && !imagesFinished) await images.finish().catch(() => undefined);
    await relay?.stop().catch((err: unknown) => report.violation('soak-harness', `stopping the registry relays: ${String(err)}`));
    if (cluster && report.violations.length > 0) {
      // the daemons' logs go with the cluster: keep them for whoever looks into a violation
      const dir = join(settings.tmpParent, `corelet-soak-${settings.seed}-logs`);
      const kept = await execa('sh', ['-c', 'mkdir -p "$1" && cd "$2" && find . -maxdepth 3 -name "*.log" -not -path "./nodes/*/pod-logs/*" -exec cp --parents {} "$1" \\;', 'sh', dir, cluster.dir], { reject: false });
      report.note(`violations: the daemons' logs are kept in ${dir}${kept.exitCode === 0 ? '' : ` (copy failed: ${String(kept.stderr).split('\n')[0]})`}`);
    }
    if (cluster) {
      report.note('cluster.sh down');
      try {
        const left = await cluster.down();
        if (invariants) await invariants.checkLeftovers(left);
        else for (const [k, v] of Object.entries(left)) for (const x of v as string[]) report.violation(`leftover-${k}`, x);
      } catch (err) {
        report.violation('leftover-down', String(err).split('\n').slice(0, 5).join(' '));
      }
    }
    if (invariants) for (const [k, v] of Object.entries(invariants.summary())) report.measure(k, v);
    if (churn) report.measure('churn', { scales: churn.scales, jobs: churn.created.length, failedSteps: churn.failures });
    if (imageChurn) report.measure('image churn', { podsStarted: imageChurn.started, repulledAfterGc: imageChurn.repulls.length, failedSteps: imageChurn.failures, repulls: imageChurn.repulls.slice(0, 6).map((r) => `${r.node} ${r.image.split('/').slice(1).join('/')} ${r.seconds} s`) });
    const files = await report.write(settings.reportPath);
    console.log(report.text());
    console.log(`report: ${files.join(', ')}`);
    t.diagnostic(`soak report: ${files[0]}; ${report.faults.length} faults, ${report.violations.length} violations, wall time ${report.now()} s`);
  }
  assert.equal(report.violations.length, 0, `${report.violations.length} invariant violations (report: ${settings.reportPath}):\n${report.violations.map((v) => `  ${v.at} s ${v.invariant}: ${v.detail}`).join('\n')}`);
});
