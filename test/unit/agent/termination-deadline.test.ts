/**
 * Graceful deletion's deadline on the agent, through the real PodManager/PodWorker with a fake CRI:
 * a restarted agent told about a Terminating pod stops it within the time left (preStop included)
 * instead of removing it as an orphan with 10 s; a second, shorter delete shortens a termination in
 * flight (the preStop hook is abandoned, StopContainer asked again with the shorter timeout).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PodManager } from '../../../src/agent/pod-manager.js';
import type { WorkerContext } from '../../../src/agent/pod-worker.js';
import { LABELS } from '../../../src/agent/cri-config.js';
import { terminationDeadlineMs, TerminationDeadline, stopWithinDeadline } from '../../../src/agent/termination-deadline.js';
import { decodePods, type Pod } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';

function dbPod(): Pod {
  const yaml = `apiVersion: v1
kind: Pod
metadata: { name: db, namespace: team, uid: uid-db }
spec:
  terminationGracePeriodSeconds: 300
  containers:
    - name: db
      image: registry.test/db:1
      lifecycle: { preStop: { exec: { command: [flush] } } }
`;
  return decodePods(yaml, 'test').pods[0]!;
}

/** A runtime with one running sandbox and container of uid-db (left by the agent before). */
function fakeCri(opts: { stop?: (timeout: number) => Promise<void> } = {}) {
  const calls: string[] = [];
  let alive = true;
  const runtime = {
    ListPodSandbox: async () => ({ items: alive ? [{ id: 'sb1', state: 'SANDBOX_READY', created_at: '1', labels: { [LABELS.podUid]: 'uid-db', [LABELS.managedBy]: 'corelet-agent' }, metadata: { name: 'db' } }] : [] }),
    PodSandboxStatus: async () => ({ status: { state: 'SANDBOX_READY', network: { ip: '10.1.0.5' }, created_at: '1' } }),
    ListContainers: async () => ({ containers: alive ? [{ id: 'c1', pod_sandbox_id: 'sb1', state: 'CONTAINER_RUNNING', labels: { [LABELS.podUid]: 'uid-db' } }] : [] }),
    ContainerStatus: async () => ({ status: { id: 'c1', state: 'CONTAINER_RUNNING', labels: { [LABELS.containerName]: 'db' }, annotations: {}, created_at: '1', started_at: '1', finished_at: '0', exit_code: 0, image: { image: 'registry.test/db:1' }, image_ref: '' } }),
    StopContainer: async (req: { timeout: number }) => {
      calls.push(`StopContainer ${req.timeout}`);
      await opts.stop?.(req.timeout);
    },
    RemoveContainer: async () => void calls.push('RemoveContainer'),
    StopPodSandbox: async () => void calls.push('StopPodSandbox'),
    RemovePodSandbox: async () => {
      calls.push('RemovePodSandbox');
      alive = false;
    },
    RunPodSandbox: async () => {
      calls.push('RunPodSandbox');
      return { pod_sandbox_id: 'new' };
    },
  };
  return { cri: { runtime, image: {} }, calls };
}

function context(cri: unknown, runHandler: (timeout: number) => Promise<void>): WorkerContext {
  return {
    cri,
    nodeName: 'n1',
    hostIP: '10.0.0.1',
    logRoot: '/nonexistent/logs',
    cgroups: { ensurePod: async () => '/kubepods/test', removePod: async () => undefined, containerResources: () => ({}) },
    volumes: { prepare: async () => ({}), cleanup: async () => undefined },
    events: { record: () => undefined },
    backoff: { next: () => 0, delay: () => 0, forgetPrefix: () => undefined },
    startProbes: () => () => undefined,
    runHandler: (_p: Pod, _c: unknown, _id: string, _ip: string, timeout: number) => runHandler(timeout),
    logger: silentLogger,
    onStatus: () => undefined,
  } as unknown as WorkerContext;
}

it('the deadline is the deletion\'s: deletionTimestamp bounds it (time left after a restart), grace 0 is now', () => {
  const p = dbPod();
  const now = Date.parse('2026-01-01T00:10:00Z');
  p.metadata.deletionTimestamp = '2026-01-01T00:12:00Z';
  p.metadata.deletionGracePeriodSeconds = 300;
  assert.equal(terminationDeadlineMs(p, 300, now), Date.parse('2026-01-01T00:12:00Z'), '120 s left of 300');
  assert.equal(terminationDeadlineMs(p, 5, now), now + 5000, 'a shorter delete now');
  assert.equal(terminationDeadlineMs(dbPod(), undefined, now), now + 300_000, 'no deletionTimestamp: the spec\'s grace from now');
  assert.equal(terminationDeadlineMs(dbPod(), 0, now), now);
});

it('a restarted agent told about a Terminating pod runs preStop and stops it with the time left, not as a 10 s orphan', async () => {
  const { cri, calls } = fakeCri();
  const hooks: number[] = [];
  const pods = new PodManager({ ctx: context(cri, async (timeout) => void hooks.push(timeout)), admit: () => ({ admit: true }), logger: silentLogger });
  const p = dbPod();
  const deadline = Date.now() + 200_000; // deleted 100 s ago with 300 s
  p.metadata.deletionTimestamp = new Date(deadline).toISOString();
  p.metadata.deletionGracePeriodSeconds = 300;
  pods.terminatePod('uid-db', p, deadline);
  await pods.worker('uid-db')!.done;
  assert.equal(hooks.length, 1, 'preStop ran');
  assert.ok(hooks[0]! > 190 && hooks[0]! <= 200, `preStop gets the time left: ${hooks[0]}`);
  const stop = calls.find((c) => c.startsWith('StopContainer'))!;
  const timeout = Number(stop.split(' ')[1]);
  assert.ok(timeout > 190 && timeout <= 200, `StopContainer with the time left, not 10: ${stop}`);
  assert.ok(!calls.includes('RunPodSandbox'), 'a Terminating pod is never started');
  assert.ok(calls.includes('RemovePodSandbox'));
  assert.equal(pods.worker('uid-db'), undefined);
});

it('a second, shorter delete shortens a termination in flight: preStop abandoned, StopContainer asked again with the shorter timeout', async () => {
  let hookStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => (hookStarted = r));
  let releaseFirstStop: () => void = () => undefined;
  const { cri, calls } = fakeCri({
    // The runtime waits the whole timeout for the first (long) stop; the short one kills.
    stop: (timeout) => (timeout > 100 ? new Promise<void>((r) => (releaseFirstStop = r)) : (releaseFirstStop(), Promise.resolve())),
  });
  const pods = new PodManager({ ctx: context(cri, () => (hookStarted(), new Promise<void>(() => undefined))), admit: () => ({ admit: true }), logger: silentLogger });
  pods.terminatePod('uid-db', dbPod(), Date.now() + 3_600_000); // deleted with a one-hour grace
  const worker = pods.worker('uid-db')!;
  await started;
  assert.deepEqual(calls.filter((c) => c.startsWith('StopContainer')), [], 'preStop still running');
  pods.terminatePod('uid-db', dbPod(), Date.now() + 3_600_000 - 1); // a no-op (not shorter)
  pods.terminatePod('uid-db', undefined, Date.now()); // delete --grace-period=0-ish: now
  await worker.done;
  assert.deepEqual(calls.filter((c) => c.startsWith('StopContainer')), ['StopContainer 2'], 'the kill gets the minimum grace, the preStop is not waited for');
});

it('a shortened deadline asks StopContainer again with the shorter timeout while the first stop waits', async () => {
  const d = new TerminationDeadline(Date.now() + 3_600_000);
  const timeouts: number[] = [];
  let release: () => void = () => undefined;
  const stopped = stopWithinDeadline(d, undefined, (timeout) => {
    timeouts.push(timeout);
    return timeout > 100 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  });
  while (timeouts.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(d.shorten(Date.now() + 5000), true);
  await stopped;
  release();
  assert.equal(timeouts.length, 2);
  assert.ok(timeouts[0]! > 3590);
  assert.equal(timeouts[1], 5);
});
