/**
 * computePodActions, the pure core of the pod sync (the kubelet's computePodActions): given the pod,
 * its observed sandboxes and containers, what a dead sandbox carried over, the failed liveness probes
 * and the last phase, what the sync does — table-driven, no runtime.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerHash } from '../../../src/agent/cri-config.js';
import { computePodActions, computeTeardown, type CarriedOver, type ObservedSandbox, type PodActions, type PodActionsInput, type RuntimeContainer } from '../../../src/agent/sync/index.js';
import { decodePods, type Pod } from '../../../src/api/index.js';

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never', opts: { init?: string[]; apps?: string[] } = {}): Pod {
  const list = (names: string[]) => names.map((n) => `    - { name: ${n}, image: registry.test/${n}:1, resources: { limits: { memory: 64Mi } } }`).join('\n');
  const yaml = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, uid: uid-web }
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 5
${opts.init?.length ? `  initContainers:\n${list(opts.init)}\n` : ''}  containers:
${list(opts.apps ?? ['app'])}
`;
  return decodePods(yaml, 'test').pods[0]!;
}

type State = RuntimeContainer['state'];
/** An observed container of p named name (its hash matches the spec unless given). */
function seen(p: Pod, name: string, state: State, o: Partial<RuntimeContainer> = {}): [string, { current: RuntimeContainer }] {
  const spec = [...p.spec.initContainers, ...p.spec.containers].find((c) => c.name === name)!;
  const current: RuntimeContainer = {
    id: `${name}-id`,
    state,
    exitCode: 0,
    reason: '',
    message: '',
    startedAt: '1000000000',
    finishedAt: state === 'exited' ? '2000000000' : '0',
    restartCount: 0,
    image: spec.image,
    imageRef: spec.image,
    hash: containerHash(spec),
    ...o,
  };
  return [name, { current }];
}

const READY: ObservedSandbox = { id: 'sb1', ready: true, attempt: 0 };
const DEAD: ObservedSandbox = { id: 'sb1', ready: false, attempt: 0 };

function input(p: Pod, sandboxes: ObservedSandbox[], containers: Array<[string, { current: RuntimeContainer }]> = [], more: Partial<PodActionsInput> = {}): PodActionsInput {
  return { pod: p, sandboxes, containers: new Map(containers), carried: undefined, livenessFailed: new Set(), phase: undefined, waiting: new Map(), ...more };
}

/** The steps in a short readable form: "start app#0", "restart app", "kill app (LivenessFailed)". */
function steps(a: PodActions): string[] {
  return a.steps.map((s) => {
    switch (s.action) {
      case 'start':
        return `start ${s.kind} ${s.container.name}#${s.restartCount}`;
      case 'restart':
        return `restart ${s.kind} ${s.container.name}`;
      case 'kill':
        return `kill ${s.container.name} (${s.reason})`;
      case 'fail-pod':
        return `fail-pod ${s.reason}`;
      default:
        return `${s.action} ${s.container.name}`;
    }
  });
}

describe('computePodActions: app containers by restart policy', () => {
  const cases: Array<{ name: string; policy: 'Always' | 'OnFailure' | 'Never'; state: State; exitCode?: number; want: string[] }> = [
    { name: 'a missing container is started', policy: 'Always', state: 'unknown', want: ['start app app#0'] },
    { name: 'Always: a running container is left alone', policy: 'Always', state: 'running', want: [] },
    { name: 'Always: exit 0 restarts', policy: 'Always', state: 'exited', exitCode: 0, want: ['restart app app'] },
    { name: 'Always: exit 1 restarts', policy: 'Always', state: 'exited', exitCode: 1, want: ['restart app app'] },
    { name: 'OnFailure: exit 1 restarts', policy: 'OnFailure', state: 'exited', exitCode: 1, want: ['restart app app'] },
    { name: 'OnFailure: exit 0 stays exited', policy: 'OnFailure', state: 'exited', exitCode: 0, want: ['settle app'] },
    { name: 'Never: exit 1 stays exited', policy: 'Never', state: 'exited', exitCode: 1, want: ['settle app'] },
    { name: 'Never: exit 0 stays exited', policy: 'Never', state: 'exited', exitCode: 0, want: ['settle app'] },
    { name: 'a created container never started is started', policy: 'Never', state: 'created', want: ['start-created app'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = pod(c.policy);
      const containers = c.state === 'unknown' ? [] : [seen(p, 'app', c.state, { exitCode: c.exitCode ?? 0 })];
      const a = computePodActions(input(p, [READY], containers));
      assert.deepEqual(steps(a), c.want);
      assert.deepEqual(a.killSandboxes, []);
      assert.deepEqual(a.sandbox, { id: 'sb1', create: false, attempt: 0 });
      assert.equal(a.end, undefined);
    });
  }

  it('a restart carries the exited instance (its restart count and times, for the back-off)', () => {
    const p = pod('Always');
    const a = computePodActions(input(p, [READY], [seen(p, 'app', 'exited', { exitCode: 2, restartCount: 3 })]));
    const step = a.steps[0]!;
    assert.equal(step.action, 'restart');
    assert.equal(step.action === 'restart' && step.previous.restartCount, 3);
  });

  it('an OOM kill is reported before the restart, but not again while in CrashLoopBackOff', () => {
    const p = pod('Always');
    const oom = [seen(p, 'app', 'exited', { exitCode: 137, reason: 'OOMKilled' })];
    const a = computePodActions(input(p, [READY], oom));
    assert.deepEqual(steps(a), ['report-oom app', 'restart app app']);
    assert.equal(a.steps[0]!.action === 'report-oom' && a.steps[0]!.message, 'Container app was OOM-killed (memory limit 64Mi)');
    const looping = computePodActions(input(p, [READY], oom, { waiting: new Map([['app', { reason: 'CrashLoopBackOff' }]]) }));
    assert.deepEqual(steps(looping), ['restart app app']);
  });

  it('containers are handled in spec order, each on its own', () => {
    const p = pod('OnFailure', { apps: ['a', 'b', 'c', 'd'] });
    const a = computePodActions(input(p, [READY], [seen(p, 'a', 'running'), seen(p, 'b', 'exited', { exitCode: 1 }), seen(p, 'd', 'exited')]));
    assert.deepEqual(steps(a), ['restart app b', 'start app c#0', 'settle d']);
  });
});

describe('computePodActions: spec changes and liveness', () => {
  it('a running container whose spec hash changed is killed (then restarted by a later sync)', () => {
    const p = pod('Always');
    const a = computePodActions(input(p, [READY], [seen(p, 'app', 'running', { hash: 'old' })]));
    assert.deepEqual(steps(a), ['kill app (SpecChanged)']);
    assert.equal(a.steps[0]!.action === 'kill' && a.steps[0]!.message, 'Container definition changed, will be restarted');
  });

  it('an exited container whose spec changed is restarted even under Never', () => {
    const p = pod('Never');
    assert.deepEqual(steps(computePodActions(input(p, [READY], [seen(p, 'app', 'exited', { hash: 'old' })]))), ['restart app app']);
  });

  it('a running container whose liveness (or startup) probe failed is killed', () => {
    const p = pod('Always');
    const a = computePodActions(input(p, [READY], [seen(p, 'app', 'running')], { livenessFailed: new Set(['app-id']) }));
    assert.deepEqual(steps(a), ['kill app (LivenessFailed)']);
    assert.equal(a.steps[0]!.action === 'kill' && a.steps[0]!.message, 'Container app failed liveness probe, will be restarted');
    assert.equal(a.steps[0]!.action === 'kill' && a.steps[0]!.id, 'app-id');
  });

  it("another instance's failed liveness does not kill the running one", () => {
    const p = pod('Always');
    assert.deepEqual(steps(computePodActions(input(p, [READY], [seen(p, 'app', 'running')], { livenessFailed: new Set(['old-id']) }))), []);
  });
});

describe('computePodActions: init containers', () => {
  const p = (policy: 'Always' | 'OnFailure' | 'Never' = 'Always') => pod(policy, { init: ['i1', 'i2'], apps: ['a', 'b'] });
  const cases: Array<{ name: string; policy?: 'Always' | 'OnFailure' | 'Never'; seen: (q: Pod) => Array<[string, { current: RuntimeContainer }]>; want: string[] }> = [
    { name: 'the first init container starts first, alone', seen: () => [], want: ['start init i1#0'] },
    { name: 'a running init container: nothing else starts', seen: (q) => [seen(q, 'i1', 'running')], want: [] },
    { name: 'a created init container is started, and nothing else', seen: (q) => [seen(q, 'i1', 'created')], want: ['start-created i1'] },
    { name: 'after the first succeeded, the second starts', seen: (q) => [seen(q, 'i1', 'exited')], want: ['start init i2#0'] },
    { name: 'a failed init container restarts (Always)', seen: (q) => [seen(q, 'i1', 'exited', { exitCode: 1 })], want: ['restart init i1'] },
    { name: 'a failed init container restarts (OnFailure)', policy: 'OnFailure', seen: (q) => [seen(q, 'i1', 'exited', { exitCode: 1 })], want: ['restart init i1'] },
    { name: 'a failed init container fails the pod (Never)', policy: 'Never', seen: (q) => [seen(q, 'i1', 'exited'), seen(q, 'i2', 'exited', { exitCode: 3 })], want: ['fail-pod Init:Error'] },
    { name: 'all init containers succeeded: the app containers start', seen: (q) => [seen(q, 'i1', 'exited'), seen(q, 'i2', 'exited')], want: ['start app a#0', 'start app b#0'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const q = p(c.policy);
      assert.deepEqual(steps(computePodActions(input(q, [READY], c.seen(q)))), c.want);
    });
  }

  it("Never: the failure names the init container and its exit code", () => {
    const q = p('Never');
    const a = computePodActions(input(q, [READY], [seen(q, 'i1', 'exited', { exitCode: 3 })]));
    assert.equal(a.steps[0]!.action === 'fail-pod' && a.steps[0]!.message, 'init container i1 failed with exit code 3');
  });
});

describe('computePodActions: sandboxes', () => {
  it('no sandbox yet: one is created at attempt 0, and the containers start in it', () => {
    const p = pod('Always', { init: ['i1'] });
    const a = computePodActions(input(p, []));
    assert.deepEqual(a.sandbox, { id: undefined, create: true, attempt: 0 });
    assert.deepEqual(a.killSandboxes, []);
    assert.equal(a.sandboxChanged, undefined);
    assert.deepEqual(steps(a), ['start init i1#0']);
  });

  it('the sandbox died (Always): SandboxChanged, it is killed with the grace period, a new one at attempt + 1 runs the containers with their counts + 1', () => {
    const p = pod('Always', { apps: ['a', 'b'] });
    const a = computePodActions(input(p, [{ id: 'sb2', ready: false, attempt: 1 }, { id: 'sb1', ready: false, attempt: 0 }], [seen(p, 'a', 'exited', { restartCount: 2 })]));
    assert.equal(a.sandboxChanged?.from, 'sb2');
    assert.equal(a.sandboxChanged?.createSandbox, true);
    assert.deepEqual(a.killSandboxes, [
      { id: 'sb2', grace: 'spec', remove: true },
      { id: 'sb1', grace: 'none', remove: true },
    ]);
    assert.deepEqual(a.sandbox, { id: undefined, create: true, attempt: 2 });
    assert.deepEqual(steps(a), ['start app a#3', 'start app b#0']);
  });

  it('a dead sandbox already seen is not announced again; its carry-over still applies', () => {
    const p = pod('Always');
    const carried: CarriedOver = { from: 'sb1', createSandbox: true, skip: new Set(), restartCounts: new Map([['app', 4]]) };
    const a = computePodActions(input(p, [DEAD], [], { carried }));
    assert.equal(a.sandboxChanged, undefined);
    assert.deepEqual(steps(a), ['start app app#4']);
  });

  it('the sandbox died (Never, a container ran): no new sandbox; the dead one is stopped, not removed, and holds the final state', () => {
    const p = pod('Never');
    const a = computePodActions(input(p, [DEAD, { id: 'sb0', ready: false, attempt: 0 }], [seen(p, 'app', 'running')]));
    assert.equal(a.sandboxChanged?.createSandbox, false);
    assert.equal(a.end, 'final');
    assert.equal(a.sandbox.create, false);
    assert.deepEqual(a.killSandboxes, [
      { id: 'sb1', grace: 'spec', remove: false },
      { id: 'sb0', grace: 'none', remove: true },
    ]);
    assert.deepEqual(a.steps, []);
  });

  it('the sandbox died (OnFailure): the succeeded containers are not started again; all succeeded: the pod is final', () => {
    const p = pod('OnFailure', { apps: ['a', 'b'] });
    const some = computePodActions(input(p, [DEAD], [seen(p, 'a', 'exited'), seen(p, 'b', 'running')]));
    assert.deepEqual(steps(some), ['start app b#1']);
    assert.equal(some.sandbox.create, true);
    const all = computePodActions(input(p, [DEAD], [seen(p, 'a', 'exited'), seen(p, 'b', 'exited')]));
    assert.equal(all.end, 'final');
  });

  it('a finished pod that does not restart gets no new sandbox; Always does', () => {
    for (const phase of ['Succeeded', 'Failed']) {
      for (const policy of ['OnFailure', 'Never'] as const) {
        const a = computePodActions(input(pod(policy), [], [], { phase }));
        assert.equal(a.end, 'done', `${policy} ${phase}`);
        assert.equal(a.sandbox.create, false);
        assert.deepEqual(a.steps, []);
      }
    }
    assert.equal(computePodActions(input(pod('Always'), [], [], { phase: 'Succeeded' })).sandbox.create, true);
  });

  it('a ready sandbox is kept and older ones removed at once', () => {
    const p = pod('Always');
    const a = computePodActions(input(p, [{ id: 'sb2', ready: true, attempt: 1 }, DEAD], [seen(p, 'app', 'running')]));
    assert.deepEqual(a.sandbox, { id: 'sb2', create: false, attempt: 1 });
    assert.deepEqual(a.killSandboxes, [{ id: 'sb1', grace: 'none', remove: true }]);
    assert.equal(a.sandboxChanged, undefined);
    assert.deepEqual(steps(a), []);
  });

  it('computes, never mutates its input', () => {
    const p = pod('Always');
    const containers = new Map([seen(p, 'app', 'exited', { exitCode: 1 })]);
    const frozen = structuredClone({ p, c: [...containers] });
    computePodActions(input(p, [DEAD], [...containers]));
    assert.deepEqual({ p, c: [...containers] }, frozen);
  });
});

describe('computeTeardown: deletion and failure', () => {
  const cases: Array<{ name: string; state: Parameters<typeof computeTeardown>[0]; want: ReturnType<typeof computeTeardown> }> = [
    { name: 'a live pod syncs', state: { deleting: false, failed: undefined, cleanedUp: false }, want: { kind: 'sync' } },
    { name: 'a deleted pod is torn down and removed', state: { deleting: true, failed: undefined, cleanedUp: false }, want: { kind: 'delete' } },
    { name: 'deletion wins over failure', state: { deleting: true, failed: { reason: 'Evicted' }, cleanedUp: true }, want: { kind: 'delete' } },
    { name: 'an evicted pod is stopped and its content removed', state: { deleting: false, failed: { reason: 'Evicted' }, cleanedUp: false }, want: { kind: 'stop', remove: true, cleanedUp: true } },
    { name: 'an evicted pod already cleaned up: nothing', state: { deleting: false, failed: { reason: 'Evicted' }, cleanedUp: true }, want: { kind: 'none', cleanedUp: true } },
    { name: 'a pod refused at admission: leftovers stopped, not removed', state: { deleting: false, failed: { reason: 'OutOfmemory' }, cleanedUp: false }, want: { kind: 'stop', remove: false, cleanedUp: false } },
    { name: 'an init failure (Never): containers stopped, not removed', state: { deleting: false, failed: { reason: 'Init:Error' }, cleanedUp: false }, want: { kind: 'stop', remove: false, cleanedUp: false } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(computeTeardown(c.state), c.want));
});
