import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Probe } from '../../../src/api/index.js';
import { ContainerProbes, ProbeWorker, type ProbeDeps, type ProbeResult, type ProbeType } from '../../../src/agent/probes/index.js';
import { FakeClock, settle } from './probe-fake-clock.js';

/**
 * A container whose exec probes answer by command name: exit code from `codes` (default 0). Records
 * when each command ran, on the fake clock.
 */
function fakeContainer(clock: FakeClock) {
  const codes = new Map<string, number>();
  const runs: { cmd: string; at: number }[] = [];
  const deps: ProbeDeps = {
    execSync: async (_id, cmd) => {
      runs.push({ cmd: cmd[0], at: clock.now() });
      const exitCode = codes.get(cmd[0]) ?? 0;
      return { exitCode, stdout: exitCode === 0 ? '' : `${cmd[0]} exit ${exitCode}`, stderr: '' };
    },
  };
  const count = (cmd: string) => runs.filter((r) => r.cmd === cmd).length;
  return { codes, runs, deps, count };
}

function execProbe(cmd: string, over: Partial<Probe> = {}): Probe {
  return { exec: { command: [cmd] }, initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, ...over };
}

function recorder() {
  const events: { type: ProbeType; result: ProbeResult; output: string }[] = [];
  return { events, onResult: (type: ProbeType, result: ProbeResult, output: string) => events.push({ type, result, output }) };
}

const target = { podIP: '10.0.0.2', containerId: 'c1', ports: [] };

test('readiness: not ready at first, ready after successThreshold, unready after failureThreshold', async () => {
  const clock = new FakeClock();
  const c = fakeContainer(clock);
  const r = recorder();
  const w = new ProbeWorker({ type: 'readiness', probe: execProbe('ready', { successThreshold: 2 }), target, deps: c.deps, startedAt: clock.now(), clock, onResult: r.onResult });
  assert.equal(w.result, 'Failure');
  await clock.advance(0);
  assert.equal(c.count('ready'), 1);
  assert.equal(r.events.length, 0, 'one success is below successThreshold 2');
  await clock.advance(10_000);
  assert.deepEqual(r.events, [{ type: 'readiness', result: 'Success', output: '' }]);
  assert.equal(w.result, 'Success');
  await clock.advance(30_000);
  assert.equal(r.events.length, 1, 'unchanged state is not reported again');

  c.codes.set('ready', 1);
  await clock.advance(20_000);
  assert.equal(r.events.length, 1, 'two failures are below failureThreshold 3');
  await clock.advance(10_000);
  assert.deepEqual(r.events[1], { type: 'readiness', result: 'Failure', output: 'ready exit 1' });
  await clock.advance(50_000);
  assert.equal(r.events.length, 2, 'readiness failure is reported once');
  w.stop();
});

test('liveness: alive at first, failure reported at each threshold crossing, recovery reported', async () => {
  const clock = new FakeClock();
  const c = fakeContainer(clock);
  const r = recorder();
  const w = new ProbeWorker({ type: 'liveness', probe: execProbe('alive', { failureThreshold: 2 }), target, deps: c.deps, startedAt: clock.now(), clock, onResult: r.onResult });
  assert.equal(w.result, 'Success');
  await clock.advance(20_000);
  assert.equal(c.count('alive'), 3);
  assert.equal(r.events.length, 0, 'staying alive is not a change');

  c.codes.set('alive', 137);
  await clock.advance(20_000); // failures 1 and 2
  assert.deepEqual(r.events.map((e) => e.result), ['Failure']);
  assert.equal(r.events[0].output, 'alive exit 137');
  await clock.advance(10_000); // failure 3: the count restarted, below threshold
  assert.equal(r.events.length, 1);
  await clock.advance(10_000); // failure 4: crossed again
  assert.deepEqual(r.events.map((e) => e.result), ['Failure', 'Failure']);

  c.codes.set('alive', 0);
  await clock.advance(10_000);
  assert.deepEqual(r.events.map((e) => e.result), ['Failure', 'Failure', 'Success']);
  w.stop();
});

test('initialDelaySeconds counts from container start; probes then run every periodSeconds', async () => {
  const clock = new FakeClock();
  const c = fakeContainer(clock);
  const startedAt = clock.now() - 20_000; // the container has been up 20 s already
  const w = new ProbeWorker({ type: 'readiness', probe: execProbe('ready', { initialDelaySeconds: 30, periodSeconds: 5 }), target, deps: c.deps, startedAt, clock, onResult: () => {} });
  await clock.advance(9_999);
  assert.equal(c.count('ready'), 0, 'still inside the initial delay');
  await clock.advance(1);
  assert.deepEqual(c.runs.map((r) => r.at - startedAt), [30_000]);
  await clock.advance(15_000);
  assert.deepEqual(c.runs.map((r) => r.at - startedAt), [30_000, 35_000, 40_000, 45_000]);
  w.stop();
});

test('startup probe gates liveness and readiness; readiness runs as soon as startup passes', async () => {
  const clock = new FakeClock();
  const c = fakeContainer(clock);
  const r = recorder();
  c.codes.set('startup', 1);
  const probes = new ContainerProbes({
    container: {
      startupProbe: execProbe('startup', { failureThreshold: 3, periodSeconds: 2 }),
      livenessProbe: execProbe('alive', { periodSeconds: 10 }),
      readinessProbe: execProbe('ready', { periodSeconds: 10 }),
    },
    target,
    deps: c.deps,
    startedAt: clock.now(),
    clock,
    onResult: r.onResult,
  });
  assert.equal(probes.startup?.result, undefined);
  assert.equal(probes.started, false);
  assert.equal(probes.ready, false);

  await clock.advance(30_000);
  assert.equal(c.count('alive'), 0, 'liveness waits for startup');
  assert.equal(c.count('ready'), 0, 'readiness waits for startup');
  assert.ok(c.count('startup') >= 3);
  assert.deepEqual(r.events.filter((e) => e.type === 'startup').map((e) => e.result).slice(0, 1), ['Failure']);

  r.events.length = 0;
  c.codes.set('startup', 0);
  await clock.advance(2_000);
  assert.equal(probes.started, true);
  assert.deepEqual(r.events, [
    { type: 'startup', result: 'Success', output: '' },
    { type: 'readiness', result: 'Success', output: '' },
  ]);
  assert.equal(probes.ready, true);
  assert.equal(c.count('ready'), 1, 'readiness ran right after startup passed, not at its next period');

  const startupRuns = c.count('startup');
  await clock.advance(20_000);
  assert.equal(c.count('startup'), startupRuns, 'startup stops probing once it passed');
  assert.ok(c.count('alive') >= 1, 'liveness runs once started');
  probes.stop();
  assert.equal(clock.pending, 0);
});

test('a container without a startup probe is started at once; no readiness probe means ready', () => {
  const clock = new FakeClock();
  const probes = new ContainerProbes({ container: {}, target, deps: fakeContainer(clock).deps, startedAt: clock.now(), clock, onResult: () => {} });
  assert.equal(probes.started, true);
  assert.equal(probes.ready, true);
  probes.stop();
});

test('stop(): no more runs, and a run in flight reports nothing', async () => {
  const clock = new FakeClock();
  let release: (() => void) | undefined;
  let runs = 0;
  const deps: ProbeDeps = {
    execSync: () => {
      runs++;
      return new Promise((resolve) => (release = () => resolve({ exitCode: 0, stdout: '', stderr: '' })));
    },
  };
  const r = recorder();
  const w = new ProbeWorker({ type: 'readiness', probe: execProbe('ready'), target, deps, startedAt: clock.now(), clock, onResult: r.onResult });
  await clock.advance(0);
  assert.equal(runs, 1);
  w.stop();
  release!();
  await settle();
  await clock.advance(60_000);
  assert.equal(runs, 1);
  assert.deepEqual(r.events, []);
  assert.equal(w.result, 'Failure');
  assert.equal(clock.pending, 0);
});

test('onFailedRun hears every failed run, below the threshold too', async () => {
  const clock = new FakeClock();
  const c = fakeContainer(clock);
  c.codes.set('alive', 1);
  const failed: string[] = [];
  const w = new ProbeWorker({
    type: 'liveness', probe: execProbe('alive', { failureThreshold: 5 }), target, deps: c.deps, startedAt: clock.now(), clock,
    onResult: () => assert.fail('below threshold'), onFailedRun: (_type, output) => failed.push(output),
  });
  await clock.advance(20_000);
  assert.deepEqual(failed, ['alive exit 1', 'alive exit 1', 'alive exit 1']);
  w.stop();
});
