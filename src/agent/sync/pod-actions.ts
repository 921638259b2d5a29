/**
 * What a pod's sync must do, decided from what was observed: the kubelet's computePodActions
 * (kuberuntime_manager.go), a PURE function — no CRI, no clock, no state of its own. The worker
 * observes the runtime (observe.ts), asks this, and carries the answer out in order.
 *
 * The decisions, as the kubelet's:
 * - Sandbox: the ready sandbox is kept and any other one removed. With none ready, the newest
 *   (dead) one and the rest are killed and a new one is made at attempt + 1 — unless the pod is
 *   done: restartPolicy Never once a container ran, OnFailure with every app container succeeded
 *   (the dead sandbox is then only stopped, and its containers give the pod's final status), or
 *   a pod already Succeeded/Failed that does not restart (nothing more runs). Containers that ran in
 *   a dead sandbox carry their restart count + 1 into the new one (sandbox-change.ts).
 * - Init containers, in order: the first not yet succeeded is started (or restarted after its
 *   back-off; with restartPolicy Never its failure fails the pod); no app container starts before
 *   every init container succeeded.
 * - App containers, in spec order: a missing one is started (except those a dead sandbox's
 *   OnFailure pod saw succeed); a running one is killed when its spec hash changed or its liveness
 *   (or startup) probe failed; a created one never started is started; an exited one is restarted
 *   after its back-off by the restart policy (Always; OnFailure on a non-zero exit) or when its spec
 *   changed, and otherwise left as it is.
 * Back-off itself (whether a restart may happen now) is the executor's: as in the kubelet, the
 * decision says "restart", the start path checks the back-off.
 */
import type { Container, Pod } from '../../api/index.js';
import { containerHash } from '../cri-config.js';
import type { ObservedContainer } from '../pod-status.js';
import { sandboxChangeActions, type SandboxChangeActions } from '../sandbox-change.js';

/** One of the pod's sandboxes as the runtime lists it. */
export interface ObservedSandbox {
  id: string;
  ready: boolean;
  attempt: number;
}

/** A container as observed, with the spec hash it was created from (its annotation). */
export interface RuntimeContainer extends ObservedContainer {
  hash: string | undefined;
}

/** The containers of one sandbox by name: the newest instance, and the one before it. */
export type ObservedContainers = ReadonlyMap<string, { current: RuntimeContainer; previous?: ObservedContainer }>;

/** What a dead sandbox left for its successor, and which sandbox it was. */
export type CarriedOver = SandboxChangeActions & { from: string };

export interface PodActionsInput {
  pod: Pod;
  /** The pod's sandboxes, newest first. */
  sandboxes: readonly ObservedSandbox[];
  /** The containers of the ready sandbox; with none ready, of the newest (dead) one. */
  containers: ObservedContainers;
  /** What an earlier sync carried over from a dead sandbox. */
  carried: CarriedOver | undefined;
  /** Container ids whose liveness (or startup) probe failed. */
  livenessFailed: ReadonlySet<string>;
  /** The phase last reported for the pod (undefined before the first status). */
  phase: string | undefined;
  /** Why each container waits now (an OOM kill is reported once, not again in CrashLoopBackOff). */
  waiting: ReadonlyMap<string, { reason: string }>;
}

/** A sandbox to stop: with the spec's grace period for its containers or none; removed or only stopped. */
export interface SandboxKill {
  id: string;
  grace: 'spec' | 'none';
  remove: boolean;
}

export type ContainerStep =
  /** Create and start a container that has no instance in this sandbox. */
  | { action: 'start'; kind: 'init' | 'app'; container: Container; restartCount: number }
  /** Start a new instance of an exited container once its back-off allows (restart count + 1). */
  | { action: 'restart'; kind: 'init' | 'app'; container: Container; previous: ObservedContainer }
  /** A created container that was never started (the agent died in between): start it. */
  | { action: 'start-created'; container: Container; id: string }
  /** Kill a running container (it restarts by the restart policy at a later sync). */
  | { action: 'kill'; container: Container; id: string; reason: 'SpecChanged' | 'LivenessFailed'; message: string }
  /** An init container failed and the pod never restarts: the pod fails. */
  | { action: 'fail-pod'; container: Container; reason: string; message: string }
  /** The container was OOM-killed: report it (before its restart). */
  | { action: 'report-oom'; container: Container; message: string }
  /** An exited container that stays exited: it no longer waits for anything. */
  | { action: 'settle'; container: Container };

export interface PodActions {
  /** The newest sandbox died and was not seen before: record SandboxChanged and keep this. */
  sandboxChanged?: CarriedOver;
  /** Sandboxes to stop before anything else, in order. */
  killSandboxes: SandboxKill[];
  /**
   * The pod gets no sandbox: 'final' — its dead sandbox holds the final state (the status is
   * taken from it); 'done' — it finished earlier and nothing more runs (the status stays).
   */
  end?: 'final' | 'done';
  /** The sandbox the containers run in: the ready one, or a new one (create). */
  sandbox: { id: string | undefined; create: boolean; attempt: number };
  /** What to do with the containers, in order. */
  steps: ContainerStep[];
}

const NO_CONTAINERS: ObservedContainers = new Map();

export function computePodActions(input: PodActionsInput): PodActions {
  const { pod, sandboxes } = input;
  const ready = sandboxes.find((s) => s.ready);
  const dead = !ready && sandboxes.length > 0 ? sandboxes[0]! : undefined;
  const attempt = sandboxes.length > 0 ? Math.max(...sandboxes.map((s) => s.attempt)) + (ready ? 0 : 1) : 0;
  const actions: PodActions = { killSandboxes: [], sandbox: { id: ready?.id, create: !ready, attempt }, steps: [] };

  let carried = input.carried;
  if (dead && carried?.from !== dead.id) {
    carried = { ...sandboxChangeActions(pod, input.containers), from: dead.id };
    actions.sandboxChanged = carried;
  }
  if (dead && carried && !carried.createSandbox) {
    // Never (or OnFailure with every container succeeded): the pod ends with what it has.
    actions.killSandboxes = sandboxes.map((s) => ({ id: s.id, grace: s.id === dead.id ? 'spec' : 'none', remove: s.id !== dead.id }));
    actions.end = 'final';
    actions.sandbox.create = false;
    return actions;
  }
  // A sandbox that died (or an older one) goes; a new one replaces it.
  for (const s of sandboxes) if (s.id !== ready?.id) actions.killSandboxes.push({ id: s.id, grace: s.id === dead?.id ? 'spec' : 'none', remove: true });
  if (!ready && (input.phase === 'Succeeded' || input.phase === 'Failed') && pod.spec.restartPolicy !== 'Always') {
    actions.end = 'done';
    actions.sandbox.create = false;
    return actions;
  }
  // Restart counts from a dead sandbox apply to the first instances in its successor.
  const carriedRestarts = (name: string) => (carried && carried.from !== ready?.id ? (carried.restartCounts.get(name) ?? 0) : 0);
  const containers = ready ? input.containers : NO_CONTAINERS;
  const steps = actions.steps;

  for (const c of pod.spec.initContainers) {
    const cur = containers.get(c.name)?.current;
    if (!cur) {
      steps.push({ action: 'start', kind: 'init', container: c, restartCount: carriedRestarts(c.name) });
      return actions;
    }
    if (cur.state === 'running') return actions;
    // Created but never started (the agent or the runtime died between the two): start it now, as
    // the kubelet does; nothing after it starts until it has run.
    if (cur.state === 'created') {
      steps.push({ action: 'start-created', container: c, id: cur.id });
      return actions;
    }
    if (cur.exitCode === 0) continue;
    if (pod.spec.restartPolicy === 'Never') {
      steps.push({ action: 'fail-pod', container: c, reason: 'Init:Error', message: `init container ${c.name} failed with exit code ${cur.exitCode}` });
    } else steps.push({ action: 'restart', kind: 'init', container: c, previous: cur });
    return actions;
  }

  for (const c of pod.spec.containers) {
    const cur = containers.get(c.name)?.current;
    if (!cur) {
      if (carried && carried.from !== ready?.id && carried.skip.has(c.name)) continue;
      steps.push({ action: 'start', kind: 'app', container: c, restartCount: carriedRestarts(c.name) });
      continue;
    }
    const hashChanged = cur.hash !== containerHash(c);
    if (cur.state === 'running') {
      if (input.livenessFailed.has(cur.id) || hashChanged) {
        steps.push(
          hashChanged
            ? { action: 'kill', container: c, id: cur.id, reason: 'SpecChanged', message: 'Container definition changed, will be restarted' }
            : { action: 'kill', container: c, id: cur.id, reason: 'LivenessFailed', message: `Container ${c.name} failed liveness probe, will be restarted` },
        );
      }
      continue;
    }
    if (cur.state === 'created') {
      steps.push({ action: 'start-created', container: c, id: cur.id });
      continue;
    }
    // exited (or unknown)
    if (cur.reason === 'OOMKilled' && input.waiting.get(c.name)?.reason !== 'CrashLoopBackOff') {
      steps.push({ action: 'report-oom', container: c, message: `Container ${c.name} was OOM-killed (memory limit ${c.resources.limits.memory ?? 'none'})` });
    }
    const restart = pod.spec.restartPolicy === 'Always' || (pod.spec.restartPolicy === 'OnFailure' && cur.exitCode !== 0);
    if (restart || hashChanged) steps.push({ action: 'restart', kind: 'app', container: c, previous: cur });
    else steps.push({ action: 'settle', container: c });
  }
  return actions;
}

/** What the worker does this round, before any sync: tear the pod down, stop it, or sync it. */
export type Teardown =
  /** Deleted: stop and remove everything, then the worker ends. */
  | { kind: 'delete' }
  /** Failed (rejected or evicted): stop what runs; an evicted pod's content is removed too (once). */
  | { kind: 'stop'; remove: boolean; cleanedUp: boolean }
  /** Failed and already cleaned up: nothing to do. */
  | { kind: 'none'; cleanedUp: boolean }
  | { kind: 'sync' };

/**
 * An evicted pod keeps its Failed status but not its content: sandbox, containers, emptyDir volumes
 * and logs go (the kubelet's GC of evicted pods), so eviction frees space. A pod refused at admission
 * made nothing: only a look for leftovers, stopped not removed.
 */
export function computeTeardown(state: { deleting: boolean; failed: { reason: string } | undefined; cleanedUp: boolean }): Teardown {
  if (state.deleting) return { kind: 'delete' };
  if (!state.failed) return { kind: 'sync' };
  const evicted = state.failed.reason === 'Evicted';
  return state.cleanedUp ? { kind: 'none', cleanedUp: evicted } : { kind: 'stop', remove: evicted, cleanedUp: evicted };
}
