/**
 * One worker per pod: one sync in flight, the newest desired state wins. A sync brings the runtime
 * in line with the pod: sandbox, init containers in order, app containers with restarts and
 * backoff, probes; a deleted (or evicted) pod is torn down: preStop, stop with the grace period,
 * sandbox stop and removal.
 */
import type { Container, Pod, PodStatus } from '../api/index.js';
import { podQosClass } from '../api/index.js';
import type { CriClient } from '../cri/client.js';
import type { ContainerStatus__Output as CriContainerStatus, PodSandboxConfig } from '../cri/types.js';
import type { Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import { LABELS, containerConfig, sandboxConfig } from './cri-config.js';
import { podStatus, type ObservedContainer, type PodObservation } from './pod-status.js';
import type { EventRecorder } from './events.js';
import type { VolumeManager } from './volumes.js';
import { imageUserOf, runAsNonRootProblem } from './run-as-non-root.js';
import { computePodActions, computeTeardown, listPodSandboxes, observeSandbox, observedSandbox, type CarriedOver, type SandboxObservation } from './sync/index.js';
import type { LinuxContainerResources } from '../cri/types.js';
import { setLongTimeout, type LongTimeout } from '../lib/long-timer.js';
import { markPodLogDirectory } from './disk/index.js';
import { TerminationDeadline, stopWithinDeadline } from './termination-deadline.js';
import { ProberManager, type ProbeStarter } from './probes/index.js';
import { ImagePuller } from './images/index.js';

/** What the worker needs from the QoS cgroup code. */
export interface PodCgroups {
  ensurePod(pod: Pod): Promise<string>;
  removePod(uid: string): Promise<unknown>;
  containerResources(pod: Pod, c: Container): LinuxContainerResources;
}

export type { ProbeStarter } from './probes/index.js';

/** Runs a lifecycle handler (preStop): exec in the container, or an HTTP/TCP action at the pod. */
export type HandlerRunner = (pod: Pod, container: Container, containerId: string, podIP: string, timeoutSeconds: number) => Promise<void>;

export interface WorkerContext {
  cri: CriClient;
  nodeName: string;
  hostIP: string;
  logRoot: string;
  cgroups: PodCgroups;
  volumes: VolumeManager;
  events: EventRecorder;
  backoff: Backoff;
  startProbes: ProbeStarter;
  runHandler: HandlerRunner;
  logger: Logger;
  onStatus: (pod: Pod, status: PodStatus) => void;
  onRestart?: () => void;
  /** Observes each sync's duration (metrics). */
  onSync?: (seconds: number) => void;
  /** Removes a deleted pod's log folder (disk/pod-dirs.ts), after its sandboxes are gone. */
  removePodLogs?: (pod: Pod) => Promise<void>;
  /** Removes a dead container's log files before the container is removed (disk/container-log-manager.ts). */
  removeContainerLogs?: (containerId: string) => Promise<void>;
}

const RESYNC_MS = 10_000;

type Key = string;

export class PodWorker {
  private desired: Pod;
  private deleting = false;
  /** When a deleted pod must be gone (termination-deadline.ts); undefined: the spec's grace period. */
  private deadline: TerminationDeadline | undefined;
  private failed: { reason: string; message: string } | undefined;
  private status: PodStatus | undefined;
  private wake: (() => void) | undefined;
  private dirty = true;
  private timer: LongTimeout | undefined;
  private timerAt = Infinity;
  private readonly waiting = new Map<string, { reason: string; message?: string }>();
  private readonly prober: ProberManager;
  private readonly puller: ImagePuller;
  private readonly startTime = new Date().toISOString();
  /** What a dead sandbox left for its successor (restart counts, containers not to start), and which one. */
  private carried: CarriedOver | undefined;
  /** Resolves once a deleted pod is gone from the runtime. */
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly ctx: WorkerContext,
    pod: Pod,
    /** Admission refused the pod: it is never synced, only reported Failed (and anything found of it stopped). */
    rejected?: { reason: string; message: string },
    /** The pod is already being deleted (a restarted agent): only terminate it by this deadline. */
    terminating?: { deadlineMs: number; immediate?: boolean },
  ) {
    this.desired = pod;
    this.failed = rejected;
    this.prober = new ProberManager({
      startProbes: (...args) => this.ctx.startProbes(...args),
      recordUnhealthy: (p, message) => this.ctx.events.record(p, 'Warning', 'Unhealthy', message),
      onChange: () => this.trigger(),
    });
    this.puller = new ImagePuller({ cri: ctx.cri, events: ctx.events, backoff: ctx.backoff });
    if (terminating) {
      this.deadline = new TerminationDeadline(terminating.deadlineMs, terminating.immediate);
      this.deleting = true;
    }
    this.done = new Promise((r) => (this.finish = r));
    void this.loop();
  }

  get uid(): string {
    return this.desired.metadata.uid;
  }

  get pod(): Pod {
    return { ...this.desired, status: this.status };
  }

  /** A new desired spec for this pod; applied at the next sync. */
  update(pod: Pod): void {
    this.desired = pod;
    this.trigger();
  }

  /** The pod is gone from its source: tear it down. */
  delete(): void {
    this.deleting = true;
    this.trigger();
  }

  /** Whether the pod is being torn down (deleted or terminating): this worker never runs it again. */
  get isDeleting(): boolean {
    return this.deleting;
  }

  /** The pod must be gone by deadlineMs: set, or shortened (also in flight), never lengthened. */
  terminateBy(deadlineMs: number, immediate = false): void {
    if (!this.deadline) this.deadline = new TerminationDeadline(deadlineMs, immediate);
    else this.deadline.shorten(deadlineMs);
  }

  /** Whether a failed (evicted) pod's sandbox, containers, volumes and logs are all removed. */
  get isCleanedUp(): boolean {
    return this.cleanedUp;
  }

  private cleanedUp = false;

  /** Marks the pod Failed (admission rejection, eviction) and stops its containers. */
  fail(reason: string, message: string): void {
    this.failed = { reason, message };
    this.trigger();
  }

  trigger(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Wakes the worker in ms unless an earlier wake-up is already set. */
  private schedule(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.clear();
    this.timerAt = at;
    this.timer = setLongTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.trigger();
    }, ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.dirty) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      this.dirty = false;
      const started = Date.now();
      try {
        const teardown = computeTeardown({ deleting: this.deleting, failed: this.failed, cleanedUp: this.cleanedUp });
        if (teardown.kind === 'delete') {
          await this.terminate(true);
          this.timer?.clear();
          this.finish();
          return;
        }
        if (teardown.kind === 'stop') await this.terminate(teardown.remove);
        if (teardown.kind === 'sync') await this.sync();
        else this.cleanedUp = teardown.cleanedUp;
      } catch (err) {
        this.ctx.logger.warn({ pod: this.name(), err: err instanceof Error ? err.message : String(err) }, 'pod sync failed; retrying');
        this.schedule(2000);
      }
      this.ctx.onSync?.((Date.now() - started) / 1000);
      this.publish();
      this.schedule(RESYNC_MS);
    }
  }

  private name(): string {
    return `${this.desired.metadata.namespace}/${this.desired.metadata.name}`;
  }

  // ---- observing the runtime (sync/observe.ts)

  private async sandboxes() {
    return listPodSandboxes(this.ctx.cri, this.uid);
  }

  private async observe(sandboxId: string | undefined): Promise<{ obs: PodObservation; raw: CriContainerStatus[]; containers: SandboxObservation['containers'] }> {
    const { sandbox, containers, raw } = await observeSandbox(this.ctx.cri, sandboxId);
    return {
      obs: {
        sandbox,
        containers,
        waiting: this.waiting,
        ready: this.prober.ready,
        started: this.prober.started,
        failed: this.failed,
        hostIP: this.ctx.hostIP,
        startTime: this.startTime,
        qosClass: podQosClass(this.desired),
      },
      raw,
      containers,
    };
  }

  private publish(): void {
    // status is computed in sync/terminate; publish only the latest
    if (this.status) this.ctx.onStatus(this.pod, this.status);
  }

  // ---- the sync: observe → computePodActions (sync/pod-actions.ts) → carry the actions out

  private async sync(): Promise<void> {
    const pod = this.desired;
    const { cri, events } = this.ctx;
    const volumePaths = await this.ctx.volumes.prepare(pod);
    const cgroupParent = await this.ctx.cgroups.ensurePod(pod);
    // observe: the sandboxes, and the containers of the ready one (or of a dead one not seen before)
    const all = await this.sandboxes();
    const ready = all.find((s) => s.state === 'SANDBOX_READY');
    const dead = !ready && all.length > 0 ? all[0]! : undefined;
    const seen = ready ? await this.observe(ready.id) : dead && this.carried?.from !== dead.id ? await this.observe(dead.id) : undefined;
    // decide
    const actions = computePodActions({
      pod,
      sandboxes: all.map(observedSandbox),
      containers: seen?.containers ?? new Map(),
      carried: this.carried,
      livenessFailed: this.prober.failedLiveness,
      phase: this.status?.phase,
      waiting: this.waiting,
    });
    // act
    if (actions.sandboxChanged) {
      this.carried = actions.sandboxChanged;
      events.record(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    }
    for (const k of actions.killSandboxes) await this.removeSandbox(k.id, k.grace === 'spec' ? pod.spec.terminationGracePeriodSeconds : 0, k.remove);
    if (actions.end === 'final') {
      const { obs } = await this.observe(dead?.id);
      this.status = podStatus(pod, obs, this.status);
      return;
    }
    if (actions.end === 'done') return;
    const sbConfig: PodSandboxConfig = sandboxConfig(pod, { attempt: actions.sandbox.attempt, logRoot: this.ctx.logRoot, cgroupParent });
    let sandboxId = actions.sandbox.id;
    let obs = seen?.obs;
    if (actions.sandbox.create || !sandboxId || !obs) {
      // Only when a sandbox is made (never on a plain sync): the kubelet's MkdirAll of the log
      // directory before RunPodSandbox, plus the marker the sweep needs (it removes only marked folders).
      await markPodLogDirectory(this.ctx.logRoot, pod);
      sandboxId = (await cri.runtime.RunPodSandbox({ config: sbConfig, runtime_handler: '' }, { deadlineMs: 4 * 60_000 })).pod_sandbox_id;
      ({ obs } = await this.observe(sandboxId));
    }
    const podIP = obs.sandbox?.ip ?? '';
    const fields = { podIP, hostIP: this.ctx.hostIP, nodeName: this.ctx.nodeName };
    for (const step of actions.steps) {
      const c = step.container;
      switch (step.action) {
        case 'start':
          await this.startContainer(pod, c, step.kind, sandboxId, sbConfig, step.restartCount, fields, volumePaths);
          break;
        case 'restart':
          await this.restartWithBackoff(pod, c, step.kind, step.previous, sandboxId, sbConfig, fields, volumePaths);
          break;
        case 'fail-pod':
          this.failed = { reason: step.reason, message: step.message };
          break;
        case 'kill':
          events.record(pod, 'Normal', 'Killing', step.message);
          await this.stopContainer(pod, c, step.id, podIP);
          this.prober.forgetLiveness(step.id);
          this.trigger();
          break;
        case 'start-created': {
          // a start that never happened (agent died between create and start): start it now
          const id = step.id;
          await cri.runtime.StartContainer({ container_id: id }).catch(() => cri.runtime.RemoveContainer({ container_id: id }));
          this.trigger();
          break;
        }
        case 'report-oom':
          events.record(pod, 'Warning', 'OOMKilled', step.message);
          break;
        case 'settle':
          this.waiting.delete(c.name);
          break;
      }
    }
    ({ obs } = await this.observe(sandboxId));
    this.prober.sync(pod, obs.containers, podIP);
    this.status = podStatus(pod, obs, this.status);
  }

  private async restartWithBackoff(
    pod: Pod,
    c: Container,
    kind: 'init' | 'app',
    cur: ObservedContainer,
    sandboxId: string,
    sbConfig: PodSandboxConfig,
    fields: { podIP: string; hostIP: string; nodeName: string },
    volumePaths: Record<string, string>,
  ): Promise<void> {
    const key: Key = `${pod.metadata.uid}/${c.name}`;
    const toMs = (n: string) => Number(BigInt(n || '0') / 1_000_000n);
    const wait = this.ctx.backoff.next(key, toMs(cur.startedAt), toMs(cur.finishedAt) || Date.now());
    if (wait > 0) {
      const delay = this.ctx.backoff.delay(key);
      const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
      if (this.waiting.get(c.name)?.message !== message) this.ctx.events.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`);
      this.waiting.set(c.name, { reason: 'CrashLoopBackOff', message });
      this.schedule(wait);
      return;
    }
    this.ctx.onRestart?.();
    await this.startContainer(pod, c, kind, sandboxId, sbConfig, cur.restartCount + 1, fields, volumePaths);
  }

  private async ensureImage(pod: Pod, c: Container): Promise<boolean> {
    const pulled = await this.puller.ensure(pod, c);
    if (pulled.ok) return true;
    this.waiting.set(c.name, pulled.waiting);
    if (pulled.retryInMs !== undefined) this.schedule(pulled.retryInMs);
    return false;
  }

  private async startContainer(
    pod: Pod,
    c: Container,
    kind: 'init' | 'app',
    sandboxId: string,
    sbConfig: PodSandboxConfig,
    restartCount: number,
    fields: { podIP: string; hostIP: string; nodeName: string },
    volumePaths: Record<string, string>,
  ): Promise<void> {
    const { cri, events } = this.ctx;
    if (!(await this.ensureImage(pod, c))) return;
    if (c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot) {
      const image = (await cri.image.ImageStatus({ image: { image: c.image } })).image;
      const message = runAsNonRootProblem(pod, c, imageUserOf(image));
      if (message !== undefined) {
        this.waiting.set(c.name, { reason: 'CreateContainerConfigError', message });
        events.record(pod, 'Warning', 'Failed', `Error: ${message}`);
        return;
      }
    }
    const subPathPaths: Record<number, string> = {};
    try {
      for (const [i, vm] of c.volumeMounts.entries()) {
        const volume = volumePaths[vm.name];
        if (vm.subPath && volume !== undefined) subPathPaths[i] = await this.ctx.volumes.prepareSubPath(pod, c, i, vm, volume);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.waiting.set(c.name, { reason: 'CreateContainerConfigError', message });
      events.record(pod, 'Warning', 'Failed', `Error: ${message}`);
      this.schedule(5000);
      return;
    }
    let id: string;
    try {
      const config = containerConfig({ pod, container: c, kind, restartCount, fields, volumePaths, subPathPaths, resources: this.ctx.cgroups.containerResources(pod, c) });
      id = (await cri.runtime.CreateContainer({ pod_sandbox_id: sandboxId, config, sandbox_config: sbConfig })).container_id;
    } catch (err) {
      const msg = (err as { details?: string }).details ?? String(err);
      this.waiting.set(c.name, { reason: 'CreateContainerError', message: msg });
      events.record(pod, 'Warning', 'Failed', `Error: ${msg}`);
      this.schedule(5000);
      return;
    }
    events.record(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await cri.runtime.StartContainer({ container_id: id });
    } catch (err) {
      const msg = (err as { details?: string }).details ?? String(err);
      this.waiting.set(c.name, { reason: 'RunContainerError', message: msg });
      events.record(pod, 'Warning', 'Failed', `Error: ${msg}`);
      return;
    }
    this.waiting.delete(c.name);
    events.record(pod, 'Normal', 'Started', `Started container ${c.name}`);
    await this.pruneDead(sandboxId, c.name, id);
  }

  /** Keeps only the newest dead instance of a container (for lastState and `logs --previous`). */
  private async pruneDead(sandboxId: string, name: string, keepId: string): Promise<void> {
    const { cri } = this.ctx;
    const list = await cri.runtime.ListContainers({ filter: { pod_sandbox_id: sandboxId, label_selector: { [LABELS.containerName]: name } } });
    const dead = list.containers.filter((c) => c.id !== keepId && c.state === 'CONTAINER_EXITED').sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)));
    for (const c of dead.slice(1)) {
      await this.ctx.removeContainerLogs?.(c.id).catch((err) => this.ctx.logger.warn({ container: c.id, err: String(err) }, 'cannot remove the log of a dead container'));
      await cri.runtime.RemoveContainer({ container_id: c.id });
    }
  }

  private async stopContainer(pod: Pod, c: Container | undefined, id: string, podIP: string): Promise<void> {
    const preStop = c?.lifecycle?.preStop
      ? (timeout: number) =>
          this.ctx.runHandler(pod, c, id, podIP, timeout).catch((err) =>
            this.ctx.events.record(pod, 'Warning', 'FailedPreStopHook', `PreStop hook of ${c.name} failed: ${err instanceof Error ? err.message : String(err)}`),
          )
      : undefined;
    const stop = (timeout: number) => this.ctx.cri.runtime.StopContainer({ container_id: id, timeout }, { deadlineMs: (timeout + 30) * 1000 }).then(() => undefined);
    // A deleted pod stops by its deletion's deadline (shortened by a second delete); otherwise by the spec's grace.
    if (this.deleting && this.deadline) return stopWithinDeadline(this.deadline, preStop, stop);
    const grace = pod.spec.terminationGracePeriodSeconds;
    await preStop?.(grace);
    await stop(grace);
  }

  // ---- teardown

  /** Stops every container (preStop, grace period) and the sandbox; with remove, removes them all. */
  private async terminate(remove: boolean): Promise<void> {
    const pod = this.desired;
    this.prober.stopAll();
    const all = await this.sandboxes();
    const grace = remove && this.deadline ? (this.deadline.immediate ? 0 : 1) : pod.spec.terminationGracePeriodSeconds;
    for (const s of all) await this.removeSandbox(s.id, grace, remove);
    if (remove) {
      await this.ctx.volumes.cleanup(pod.metadata.uid);
      await this.ctx.removePodLogs?.(pod);
      await this.ctx.cgroups.removePod(pod.metadata.uid);
      this.ctx.backoff.forgetPrefix(`${pod.metadata.uid}/`);
    }
    const { obs } = await this.observe(undefined);
    this.status = podStatus(pod, { ...obs, containers: this.lastContainers ?? obs.containers }, this.status);
  }

  private lastContainers: PodObservation['containers'] | undefined;

  private async removeSandbox(id: string, grace: number, remove = true): Promise<void> {
    const { cri } = this.ctx;
    const pod = this.desired;
    const { obs, raw } = await this.observe(id);
    this.lastContainers = obs.containers;
    const podIP = obs.sandbox?.ip ?? '';
    await Promise.all(
      raw
        .filter((s) => s.state === 'CONTAINER_RUNNING' || s.state === 'CONTAINER_CREATED')
        .map(async (s) => {
          const name = s.labels[LABELS.containerName] ?? '';
          const spec = [...pod.spec.containers, ...pod.spec.initContainers].find((c) => c.name === name);
          if (s.state === 'CONTAINER_RUNNING') this.ctx.events.record(pod, 'Normal', 'Killing', `Stopping container ${name}`);
          if (grace > 0) await this.stopContainer(pod, spec, s.id, podIP);
        }),
    );
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: id });
    if (remove) await cri.runtime.RemovePodSandbox({ pod_sandbox_id: id });
  }
}
