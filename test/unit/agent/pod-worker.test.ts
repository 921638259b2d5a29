/**
 * PodWorker and PodManager over an in-memory CRI (fake-cri.ts; no root): what a user sees of a pod —
 * its status, its events and what was made in the runtime — through init containers, restarts with
 * back-off, liveness kills, spec changes, a dead sandbox, image pulls, admission and deletion.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodManager } from '../../../src/agent/pod-manager.js';
import { PodWorker, type ProbeStarter, type WorkerContext } from '../../../src/agent/pod-worker.js';
import { decodePods, type Pod, type PodStatus } from '../../../src/api/index.js';
import { Backoff } from '../../../src/lib/backoff.js';
import { silentLogger } from '../../../src/lib/index.js';
import { FakeCri } from './fake-cri.js';

const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-podworker-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

let uids = 0;
function pod(spec: string, name = 'web'): Pod {
  const yaml = `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, uid: uid-${++uids} }
spec:
  terminationGracePeriodSeconds: 3
${spec}`;
  return decodePods(yaml, 'test').pods[0]!;
}

interface Harness {
  cri: FakeCri;
  ctx: WorkerContext;
  events: string[];
  done: string[];
  /** Resolves with the first published status that satisfies what (checked on every publish). */
  status(what: (s: PodStatus) => boolean, label: string): Promise<PodStatus>;
  probe?: (type: 'liveness' | 'readiness' | 'startup', ok: boolean, output: string) => void;
}

/** A worker context over a fake CRI; restarts wait for nothing unless backoff is given. */
function harness(backoff = new Backoff({ initialMs: 0, maxMs: 0, resetMs: 600_000 })): Harness {
  const cri = new FakeCri();
  cri.images.add('registry.test/app:1');
  const events: string[] = [];
  const done: string[] = [];
  let last: PodStatus | undefined;
  const waiters: Array<() => void> = [];
  const h: Harness = {
    cri,
    events,
    done,
    ctx: undefined as unknown as WorkerContext,
    async status(what, label) {
      for (let i = 0; i < 400; i++) {
        if (last && what(last)) return last;
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 25).unref();
        });
      }
      assert.fail(`${label}: last status ${JSON.stringify(last)}\ncalls: ${cri.calls.join(', ')}\nevents: ${events.join(' | ')}`);
    },
  };
  const startProbes: ProbeStarter = (_pod, _c, _target, onResult) => {
    h.probe = onResult;
    return () => undefined;
  };
  h.ctx = {
    cri: { runtime: cri.runtime, image: cri.image },
    nodeName: 'node-a',
    hostIP: '10.0.0.1',
    logRoot: LOG_ROOT,
    cgroups: { ensurePod: async () => '/kubepods/test', removePod: async (uid: string) => done.push(`cgroup ${uid}`), containerResources: () => ({}) },
    volumes: { prepare: async () => ({}), cleanup: async (uid: string) => done.push(`volumes ${uid}`), prepareSubPath: async () => '' },
    events: { record: (_p: Pod, type: string, reason: string, message: string) => events.push(`${type} ${reason}: ${message}`) },
    backoff,
    startProbes,
    runHandler: async () => undefined,
    removeContainerLogs: async () => undefined,
    logger: silentLogger,
    onStatus: (_p: Pod, s: PodStatus) => {
      last = s;
      for (const w of waiters.splice(0)) w();
    },
  } as unknown as WorkerContext;
  return h;
}

const app = (restartPolicy = 'Always', extra = '') => `  restartPolicy: ${restartPolicy}
  containers:
    - name: app
      image: registry.test/app:1
${extra}`;

const running = (s: PodStatus) => s.phase === 'Running' && s.containerStatuses[0]?.state.running !== undefined;

/** Deletes the pod and waits until its worker is done. */
async function remove(w: PodWorker): Promise<void> {
  w.delete();
  await w.done;
}


/** The fake runtime behind a proxy that records the name of every CRI method called. */
function recordingRuntime<T extends object>(target: T): { reads: string[]; runtime: T } {
  const reads: string[] = [];
  const runtime = new Proxy(target, {
    get(t, method, receiver) {
      const fn = Reflect.get(t, method, receiver) as unknown;
      if (typeof fn !== 'function') return fn;
      return (...args: unknown[]) => {
        reads.push(String(method));
        return (fn as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  return { reads, runtime };
}

describe('PodWorker', () => {
  it('init containers run first, in order; then the app container; deletion removes everything', async () => {
    const h = harness();
    const p = pod(`  initContainers:
    - { name: i1, image: registry.test/app:1 }
    - { name: i2, image: registry.test/app:1 }
${app()}`);
    const w = new PodWorker(h.ctx, p);
    await h.status((s) => s.initContainerStatuses[0]?.state.running !== undefined, 'i1 runs');
    assert.equal(h.cri.named('i2').length, 0, 'i2 waits for i1');
    assert.equal(h.cri.named('app').length, 0, 'app waits for the init containers');
    h.cri.exit(h.cri.named('i1')[0]!.id, 0);
    w.trigger();
    await h.status((s) => s.initContainerStatuses[1]?.state.running !== undefined, 'i2 runs');
    h.cri.exit(h.cri.named('i2')[0]!.id, 0);
    w.trigger();
    const s = await h.status(running, 'the app runs');
    assert.equal(s.podIP, '10.1.0.5');
    assert.deepEqual(
      h.cri.calls.filter((c) => c.startsWith('RunPodSandbox') || c.startsWith('CreateContainer')),
      ['RunPodSandbox sb1 attempt=0', 'CreateContainer i1 attempt=0', 'CreateContainer i2 attempt=0', 'CreateContainer app attempt=0'],
    );
    assert.ok(h.events.includes('Normal Started: Started container app'), h.events.join('\n'));

    await remove(w);
    assert.ok(h.events.includes('Normal Killing: Stopping container app'), h.events.join('\n'));
    assert.equal(h.cri.sandboxes.size, 0, 'the sandbox is removed');
    assert.equal(h.cri.containers.size, 0, 'its containers are removed');
    assert.deepEqual(h.done, [`volumes ${p.metadata.uid}`, `cgroup ${p.metadata.uid}`]);
  });

  it('a sync that finds nothing to do looks at the runtime once; an exit seen later still restarts the container', async () => {
    const h = harness();
    const { reads, runtime } = recordingRuntime(h.cri.runtime);
    let published = 0;
    const onStatus = h.ctx.onStatus;
    h.ctx = { ...h.ctx, cri: { ...h.ctx.cri, runtime: runtime as typeof h.ctx.cri.runtime }, onStatus: (p, s) => (published++, onStatus(p, s)) };
    const synced = async (after: number) => {
      for (let i = 0; i < 400 && published <= after; i++) await new Promise((r) => setTimeout(r, 5));
    };
    const w = new PodWorker(h.ctx, pod(app()));
    await h.status(running, 'the app runs');
    assert.deepEqual(reads.filter((m) => m === 'ListContainers'), ['ListContainers', 'ListContainers'], 'a first start prunes no dead instance: the sandbox holds none');
    reads.length = 0;
    let before = published;
    w.trigger();
    await synced(before);
    assert.deepEqual(reads, ['ListPodSandbox', 'PodSandboxStatus', 'ListContainers', 'ContainerStatus']);
    h.cri.exit(h.cri.named('app')[0]!.id, 1);
    before = published;
    w.trigger();
    await synced(before);
    await h.status(running, 'the app runs again');
    assert.ok(h.cri.calls.includes('CreateContainer app attempt=1'), h.cri.calls.join('\n'));
    await remove(w);
  });

  it('a settled pod\'s periodic resync reads nothing from the runtime; a trigger (the relist saw a change) syncs it in full', async () => {
    const h = harness();
    const { reads, runtime } = recordingRuntime(h.cri.runtime);
    let published = 0;
    const onStatus = h.ctx.onStatus;
    h.ctx = { ...h.ctx, cri: { ...h.ctx.cri, runtime: runtime as typeof h.ctx.cri.runtime }, resyncMs: { pending: 10, settled: 10 }, onStatus: (p, s) => (published++, onStatus(p, s)) };
    const publishes = async (n: number) => {
      const target = published + n;
      for (let i = 0; i < 400 && published < target; i++) await new Promise((r) => setTimeout(r, 5));
    };
    const w = new PodWorker(h.ctx, pod(app()));
    await h.status(running, 'the app runs');
    await publishes(2); // the start, then a sync that finds nothing to do: settled
    reads.length = 0;
    await publishes(3);
    assert.deepEqual(reads, [], 'three resyncs of a settled pod read nothing');
    h.cri.exit(h.cri.named('app')[0]!.id, 1);
    w.trigger();
    await h.status((s) => s.containerStatuses[0]?.restartCount === 1 && running(s), 'the app restarts');
    await remove(w);
  });

  it('a failed init container fails a Never pod; its app container never starts', async () => {
    const h = harness();
    const w = new PodWorker(h.ctx, pod(`  initContainers:\n    - { name: i1, image: registry.test/app:1 }\n${app('Never')}`));
    await h.status((s) => s.initContainerStatuses[0]?.state.running !== undefined, 'i1 runs');
    h.cri.exit(h.cri.named('i1')[0]!.id, 2);
    w.trigger();
    const s = await h.status((x) => x.phase === 'Failed', 'the pod fails');
    assert.equal(h.cri.named('app').length, 0);
    assert.equal(s.initContainerStatuses[0]?.state.terminated?.exitCode, 2);
    await remove(w);
  });

  for (const [policy, code, restarts] of [
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 1, true],
    ['OnFailure', 0, false],
    ['Never', 1, false],
  ] as const) {
    it(`restartPolicy ${policy}: an exit ${code} ${restarts ? 'restarts the container (restart count 1, lastState)' : 'ends the pod'}`, async () => {
      const h = harness();
      const w = new PodWorker(h.ctx, pod(app(policy)));
      await h.status(running, 'the app runs');
      h.cri.exit(h.cri.named('app')[0]!.id, code);
      w.trigger();
      if (restarts) {
        const s = await h.status((x) => running(x) && x.containerStatuses[0]!.restartCount === 1, 'restarted');
        assert.equal(s.containerStatuses[0]!.lastState.terminated?.exitCode, code);
        assert.ok(h.cri.calls.includes('CreateContainer app attempt=1'));
      } else {
        const s = await h.status((x) => x.phase === (code === 0 ? 'Succeeded' : 'Failed'), 'the pod ends');
        assert.equal(s.containerStatuses[0]!.restartCount, 0);
        assert.equal(h.cri.named('app').length, 1, 'no new instance');
      }
      await remove(w);
    });
  }

  it('a crashing container waits out its back-off: CrashLoopBackOff and a BackOff event, no new instance', async () => {
    const h = harness(new Backoff({ initialMs: 600_000, maxMs: 600_000, resetMs: 600_000 }, () => 0));
    const w = new PodWorker(h.ctx, pod(app()));
    await h.status(running, 'the app runs');
    h.cri.exit(h.cri.named('app')[0]!.id, 1);
    w.trigger();
    const s = await h.status((x) => x.containerStatuses[0]?.state.waiting?.reason === 'CrashLoopBackOff', 'back-off');
    assert.match(s.containerStatuses[0]!.state.waiting!.message!, /^back-off 600s restarting failed container=app pod=web_default/);
    assert.ok(h.events.some((e) => e.startsWith('Warning BackOff: Back-off restarting failed container app')), h.events.join('\n'));
    assert.equal(h.cri.named('app').length, 1);
    await remove(w);
  });

  it('a failed liveness probe kills the container (Unhealthy, Killing) and it restarts', async () => {
    const h = harness();
    const w = new PodWorker(h.ctx, pod(app('Always', '      livenessProbe: { exec: { command: ["true"] } }\n')));
    await h.status(running, 'the app runs');
    const first = h.cri.named('app')[0]!.id;
    h.probe!('liveness', false, 'boom');
    await h.status((x) => running(x) && x.containerStatuses[0]!.restartCount === 1, 'restarted');
    assert.ok(h.cri.calls.includes(`StopContainer ${first} timeout=3`), h.cri.calls.join('\n'));
    assert.ok(h.events.includes('Warning Unhealthy: Liveness probe failed: boom'));
    assert.ok(h.events.includes('Normal Killing: Container app failed liveness probe, will be restarted'));
    await remove(w);
  });

  it('a changed container spec replaces the running container', async () => {
    const h = harness();
    h.cri.images.add('registry.test/app:2');
    const p = pod(app());
    const w = new PodWorker(h.ctx, p);
    await h.status(running, 'the app runs');
    const next = structuredClone(p);
    next.spec.containers[0]!.image = 'registry.test/app:2';
    w.update(next);
    await h.status((x) => running(x) && x.containerStatuses[0]!.image === 'registry.test/app:2', 'the new spec runs');
    assert.ok(h.events.includes('Normal Killing: Container definition changed, will be restarted'));
    await remove(w);
  });

  it('a dead sandbox (Always) is replaced at attempt 1; the container restarts in it with its count + 1', async () => {
    const h = harness();
    const w = new PodWorker(h.ctx, pod(app()));
    await h.status(running, 'the app runs');
    h.cri.killSandbox('sb1');
    w.trigger();
    const s = await h.status((x) => running(x) && x.containerStatuses[0]!.restartCount === 1, 'runs in a new sandbox');
    assert.ok(h.events.includes('Normal SandboxChanged: Pod sandbox changed, it will be killed and re-created.'));
    assert.ok(h.cri.calls.includes('RunPodSandbox sb3 attempt=1'), h.cri.calls.join('\n'));
    assert.deepEqual([...h.cri.sandboxes.keys()], ['sb3'], 'the dead sandbox is removed');
    assert.equal(s.containerStatuses[0]!.restartCount, 1);
    await remove(w);
  });

  it('a dead sandbox (Never) ends the pod: no new sandbox', async () => {
    const h = harness();
    const w = new PodWorker(h.ctx, pod(app('Never')));
    await h.status(running, 'the app runs');
    h.cri.killSandbox('sb1');
    w.trigger();
    await h.status((x) => x.phase === 'Failed', 'the pod fails');
    assert.equal(h.cri.calls.filter((c) => c.startsWith('RunPodSandbox')).length, 1);
    await remove(w);
  });

  it('an image that cannot be pulled: ErrImagePull and a Failed event; once pullable, the container starts', async () => {
    const h = harness();
    const w = new PodWorker(h.ctx, pod(app().replace('registry.test/app:1', 'registry.test/missing:1')));
    const s = await h.status((x) => x.containerStatuses[0]?.state.waiting?.reason === 'ErrImagePull', 'pull fails');
    assert.equal(s.containerStatuses[0]!.state.waiting!.message, 'registry.test/missing:1: not found');
    assert.ok(h.events.includes('Warning Failed: Failed to pull image "registry.test/missing:1": registry.test/missing:1: not found'));
    h.cri.pullable.add('registry.test/missing:1');
    w.trigger();
    await h.status(running, 'pulled and running');
    assert.ok(h.events.some((e) => e.startsWith('Normal Pulled: Successfully pulled image "registry.test/missing:1"')));
    await remove(w);
  });

  it('an evicted pod is Failed and its sandbox removed, once', async () => {
    const h = harness();
    const p = pod(app());
    const w = new PodWorker(h.ctx, p);
    await h.status(running, 'the app runs');
    w.fail('Evicted', 'The node was low on resource: memory.');
    const s = await h.status((x) => x.phase === 'Failed' && x.reason === 'Evicted', 'evicted');
    assert.equal(s.message, 'The node was low on resource: memory.');
    for (let i = 0; i < 100 && !w.isCleanedUp; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(w.isCleanedUp);
    assert.equal(h.cri.sandboxes.size, 0);
    await remove(w);
  });
});

describe('PodManager', () => {
  it('a pod from a source gets a worker that runs it; removed from the source, it is torn down and forgotten', async () => {
    const h = harness();
    const manager = new PodManager({ ctx: h.ctx, admit: () => ({ admit: true }), logger: silentLogger });
    const p = pod(app());
    manager.setSource('file', [p]);
    await h.status(running, 'the pod runs');
    const w = manager.worker(p.metadata.uid)!;
    assert.deepEqual(manager.pods().map((x) => x.metadata.name), ['web']);
    manager.setSource('file', []);
    await w.done;
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.worker(p.metadata.uid), undefined);
    assert.equal(h.cri.sandboxes.size, 0);
  });

  it('a pod refused at admission is Failed with the reason and never gets a sandbox', async () => {
    const h = harness();
    const manager = new PodManager({ ctx: h.ctx, admit: () => ({ admit: false, reason: 'OutOfmemory', message: 'Node didn\'t have enough resource: memory' }), logger: silentLogger });
    const p = pod(app());
    manager.setSource('file', [p]);
    const s = await h.status((x) => x.phase === 'Failed', 'refused');
    assert.equal(s.reason, 'OutOfmemory');
    assert.equal(h.cri.calls.filter((c) => c.startsWith('RunPodSandbox')).length, 0);
    const w = manager.worker(p.metadata.uid)!;
    manager.setSource('file', []);
    await w.done;
  });
});
