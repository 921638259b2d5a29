/**
 * Pure computation of a pod's status from what the runtime reports and what the pod worker knows,
 * following the kubelet's rules for phase, conditions and container states.
 */
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '../api/index.js';

/** One container as the runtime reports it (the newest instance of a name, plus the one before). */
export interface ObservedContainer {
  id: string;
  state: 'created' | 'running' | 'exited' | 'unknown';
  exitCode: number;
  reason: string;
  message: string;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  image: string;
  imageRef: string;
}

export interface PodObservation {
  sandbox?: { id: string; ready: boolean; ip: string; createdAt: string };
  /** Newest and previous instance per container name. */
  containers: Map<string, { current: ObservedContainer; previous?: ObservedContainer }>;
  /** Why a container is not running, set by the worker (ContainerCreating, CrashLoopBackOff, ErrImagePull...). */
  waiting: Map<string, { reason: string; message?: string }>;
  /** Readiness probe results (containers without a readiness probe are ready when running). */
  ready: Map<string, boolean>;
  /** Startup probe succeeded (or none). */
  started: Map<string, boolean>;
  /** Set when the pod was rejected or evicted: it is Failed with this reason. */
  failed?: { reason: string; message: string };
  hostIP: string;
  startTime?: string;
  qosClass: PodStatus['qosClass'];
}

const iso = (nanos: string) => (nanos && nanos !== '0' ? new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString() : undefined);

function stateOf(o: ObservedContainer | undefined): ContainerState {
  if (!o) return {};
  if (o.state === 'running') return { running: { startedAt: iso(o.startedAt) ?? new Date().toISOString() } };
  if (o.state === 'exited') {
    return {
      terminated: {
        exitCode: o.exitCode,
        reason: o.reason || (o.exitCode === 0 ? 'Completed' : 'Error'),
        message: o.message || undefined,
        startedAt: iso(o.startedAt),
        finishedAt: iso(o.finishedAt),
        containerID: `cri://${o.id}`,
      },
    };
  }
  return { waiting: { reason: 'ContainerCreating' } };
}

function containerStatus(c: Container, obs: PodObservation, kind: 'init' | 'app'): ContainerStatus {
  const seen = obs.containers.get(c.name);
  const current = seen?.current;
  const waiting = obs.waiting.get(c.name);
  let state = stateOf(current);
  let lastState: ContainerState = {};
  if (waiting && (!current || current.state !== 'running')) {
    // a container waiting to be (re)started shows its last run as lastState
    if (current?.state === 'exited') lastState = state;
    state = { waiting: { reason: waiting.reason, message: waiting.message } };
  } else if (seen?.previous) {
    lastState = stateOf(seen.previous);
  }
  if (!current && !waiting) state = { waiting: { reason: kind === 'init' ? 'PodInitializing' : 'ContainerCreating' } };
  const running = state.running !== undefined;
  const started = running && (obs.started.get(c.name) ?? true);
  return {
    name: c.name,
    state,
    lastState,
    ready: kind === 'app' ? running && started && (obs.ready.get(c.name) ?? true) : state.terminated?.exitCode === 0,
    started: kind === 'app' ? started : undefined,
    restartCount: current?.restartCount ?? 0,
    image: c.image,
    imageID: current?.imageRef ?? '',
    containerID: current ? `cri://${current.id}` : undefined,
  };
}

/** The kubelet's phase rules (a crash-looping container counts as stopped, not waiting). */
export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[], failed: boolean): PodPhase {
  if (failed) return 'Failed';
  const policy = pod.spec.restartPolicy;
  const initFailed = init.some((s) => (s.state.terminated && s.state.terminated.exitCode !== 0) || (s.state.waiting && s.lastState.terminated && s.lastState.terminated.exitCode !== 0));
  if (initFailed && policy === 'Never') return 'Failed';
  if (!init.every((s) => s.state.terminated?.exitCode === 0)) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** The full status of a pod. */
export function podStatus(pod: Pod, obs: PodObservation, previous?: PodStatus): PodStatus {
  const init = pod.spec.initContainers.map((c) => containerStatus(c, obs, 'init'));
  const app = pod.spec.containers.map((c) => containerStatus(c, obs, 'app'));
  const phase = podPhase(pod, init, app, obs.failed !== undefined);
  const initialized = init.every((s) => s.state.terminated?.exitCode === 0);
  const containersReady = phase === 'Running' && app.every((s) => s.ready);
  const now = new Date().toISOString();
  const cond = (type: PodCondition['type'], ok: boolean, reason?: string): PodCondition => {
    const prev = previous?.conditions.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return { type, status, reason: ok ? undefined : reason, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now };
  };
  return {
    phase,
    reason: obs.failed?.reason,
    message: obs.failed?.message,
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', initialized, 'ContainersNotInitialized'),
      cond('ContainersReady', containersReady, 'ContainersNotReady'),
      cond('Ready', containersReady, 'ContainersNotReady'),
    ],
    hostIP: obs.hostIP,
    podIP: obs.sandbox?.ip || undefined,
    podIPs: obs.sandbox?.ip ? [{ ip: obs.sandbox.ip }] : [],
    startTime: obs.startTime,
    initContainerStatuses: init,
    containerStatuses: app,
    qosClass: obs.qosClass,
  };
}
