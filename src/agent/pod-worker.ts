/**
 * One worker per pod: one sync in flight, the newest desired state wins. A sync brings the runtime
 * in line with the pod: sandbox, init containers in order, app containers with restarts and
 * backoff, probes; a deleted (or evicted) pod is torn down: preStop, stop with the grace period,
 * sandbox stop and removal.
 */
import type { Container, Pod, PodStatus } from '../api/index.js';
import { podQosClass } from '../api/index.js';
import type { CriClient } from '../cri/client.js';
import { grpcMessage } from '../cri/index.js';
import type { ContainerStatus__Output as CriContainerStatus, PodSandboxConfig } from '../cri/types.js';
import type { Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import { ANNOTATIONS, LABELS, containerConfig, containerHash, sandboxConfig } from './cri-config.js';
import { podStatus, type ObservedContainer, type PodObservation } from './pod-status.js';
import type { EventRecorder } from './events.js';
import type { VolumeManager } from './volumes.js';
import { imageUserOf, runAsNonRootProblem } from './run-as-non-root.js';
import { sandboxChangeActions, type SandboxChangeActions } from './sandbox-change.js';
import type { LinuxContainerResources } from '../cri/types.js';
import { setLongTimeout, type LongTimeout } from '../lib/long-timer.js';
import { markPodLogDirectory } from './disk/index.js';
import { TerminationDeadline, stopWithinDeadline } from './termination-deadline.js';

/** What the worker needs from the QoS cgroup code. */
export interface PodCgroups {
  ensurePod(pod: Pod): Promise<string>;
  removePod(uid: string): Promise<unknown>;
  containerResources(pod: Pod, c: Container): LinuxContainerResources;
}

/** Runs a pod's probes for one running container; returns a stop function. */
export type ProbeStarter = (
  pod: Pod,
  container: Container,
  target: { containerId: string; podIP: string; startedAtMs: number },
  onResult: (type: 'liveness' | 'readiness' | 'startup', ok: boolean, output: string) => void,
) => () => void;

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
  private readonly ready = new Map<string, boolean>();
  private readonly started = new Map<string, boolean>();
  private readonly livenessFailed = new Set<string>();
  private readonly probes = new Map<string, { stop: () => void; name: string }>();
  private readonly startTime = new Date().toISOString();
  /** What a dead sandbox left for its successor (restart counts, containers not to start), and which one. */
  private carried: (SandboxChangeActions & { from: string }) | undefined;
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
        if (this.deleting) {
          await this.terminate(true);
          this.timer?.clear();
          this.finish();
          return;
        }
        if (this.failed) {
          // An evicted pod keeps its Failed status but not its content: sandbox, containers,
          // emptyDir volumes and logs go (the kubelet's GC of evicted pods), so eviction frees space.
          // (A pod refused at admission made nothing: only a look for leftovers, as before.)
          const evicted = this.failed.reason === 'Evicted';
          if (!this.cleanedUp) await this.terminate(evicted);
          this.cleanedUp = evicted;
        } else await this.sync();
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

  // ---- observing the runtime

  private async sandboxes() {
    const res = await this.ctx.cri.runtime.ListPodSandbox({ filter: { label_selector: { [LABELS.podUid]: this.uid } } });
    return res.items.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)));
  }

  private async observe(sandboxId: string | undefined): Promise<{ obs: PodObservation; raw: CriContainerStatus[] }> {
    const containers = new Map<string, { current: ObservedContainer; previous?: ObservedContainer }>();
    const raw: CriContainerStatus[] = [];
    let sandbox: PodObservation['sandbox'];
    if (sandboxId) {
      const st = await this.ctx.cri.runtime.PodSandboxStatus({ pod_sandbox_id: sandboxId });
      sandbox = { id: sandboxId, ready: st.status?.state === 'SANDBOX_READY', ip: st.status?.network?.ip ?? '', createdAt: st.status?.created_at ?? '0' };
      const list = await this.ctx.cri.runtime.ListContainers({ filter: { pod_sandbox_id: sandboxId } });
      const statuses = await Promise.all(list.containers.map((c) => this.ctx.cri.runtime.ContainerStatus({ container_id: c.id })));
      for (const s of statuses) if (s.status) raw.push(s.status);
      raw.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)));
      for (const s of raw) {
        const name = s.labels[LABELS.containerName] ?? s.metadata?.name ?? '';
        const o: ObservedContainer = {
          id: s.id,
          state: s.state === 'CONTAINER_RUNNING' ? 'running' : s.state === 'CONTAINER_EXITED' ? 'exited' : s.state === 'CONTAINER_CREATED' ? 'created' : 'unknown',
          exitCode: s.exit_code,
          reason: s.reason,
          message: s.message,
          startedAt: s.started_at,
          finishedAt: s.finished_at,
          restartCount: Number(s.annotations[ANNOTATIONS.restartCount] ?? s.metadata?.attempt ?? 0),
          image: s.image?.image ?? '',
          imageRef: s.image_ref,
        };
        const seen = containers.get(name);
        if (!seen) containers.set(name, { current: o });
        else if (!seen.previous) seen.previous = o;
      }
    }
    return {
      obs: {
        sandbox,
        containers,
        waiting: this.waiting,
        ready: this.ready,
        started: this.started,
        failed: this.failed,
        hostIP: this.ctx.hostIP,
        startTime: this.startTime,
        qosClass: podQosClass(this.desired),
      },
      raw,
    };
  }

  private publish(): void {
    // status is computed in sync/terminate; publish only the latest
    if (this.status) this.ctx.onStatus(this.pod, this.status);
  }

  // ---- the sync

  private async sync(): Promise<void> {
    const pod = this.desired;
    const { cri, events } = this.ctx;
    const volumePaths = await this.ctx.volumes.prepare(pod);
    const cgroupParent = await this.ctx.cgroups.ensurePod(pod);
    const all = await this.sandboxes();
    let sandbox = all.find((s) => s.state === 'SANDBOX_READY');
    // The newest sandbox is NOTREADY (its pause died, or the runtime restarted without it): as the
    // kubelet, kill its containers and make a new one, unless the restart policy says the pod is done.
    const dead = !sandbox && all.length > 0 ? all[0]! : undefined;
    if (dead && this.carried?.from !== dead.id) {
      const { obs: before } = await this.observe(dead.id);
      this.carried = { ...sandboxChangeActions(pod, before.containers), from: dead.id };
      events.record(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    }
    if (dead && this.carried && !this.carried.createSandbox) {
      // Never (or OnFailure with every container succeeded): the pod ends with what it has.
      for (const s of all) await this.removeSandbox(s.id, s.id === dead.id ? pod.spec.terminationGracePeriodSeconds : 0, s.id !== dead.id);
      const { obs } = await this.observe(dead.id);
      this.status = podStatus(pod, obs, this.status);
      return;
    }
    // a sandbox that died (or an older one) goes; a new one replaces it, as the kubelet does
    for (const s of all) {
      if (s.id !== sandbox?.id) await this.removeSandbox(s.id, s.id === dead?.id ? pod.spec.terminationGracePeriodSeconds : 0);
    }
    const sbConfig: PodSandboxConfig = sandboxConfig(pod, {
      attempt: all.length > 0 ? Math.max(...all.map((s) => s.metadata?.attempt ?? 0)) + (sandbox ? 0 : 1) : 0,
      logRoot: this.ctx.logRoot,
      cgroupParent,
    });
    if (!sandbox) {
      if (this.allDone(pod, await this.observe(undefined))) return;
      // Only when a sandbox is made (never on a plain sync): the kubelet's MkdirAll of the log
      // directory before RunPodSandbox, plus the marker the sweep needs (it removes only marked folders).
      await markPodLogDirectory(this.ctx.logRoot, pod);
      const res = await cri.runtime.RunPodSandbox({ config: sbConfig, runtime_handler: '' }, { deadlineMs: 4 * 60_000 });
      sandbox = { id: res.pod_sandbox_id } as (typeof all)[number];
    }
    let { obs, raw } = await this.observe(sandbox.id);
    const podIP = obs.sandbox?.ip ?? '';
    const fields = { podIP, hostIP: this.ctx.hostIP, nodeName: this.ctx.nodeName };

    // init containers, in order: each must succeed before the next starts
    let initDone = true;
    for (const c of pod.spec.initContainers) {
      const cur = obs.containers.get(c.name)?.current;
      if (!cur) {
        await this.startContainer(pod, c, 'init', sandbox.id, sbConfig, this.carriedRestarts(sandbox.id, c.name), fields, volumePaths);
        initDone = false;
        break;
      }
      if (cur.state === 'running' || cur.state === 'created') {
        initDone = false;
        break;
      }
      if (cur.exitCode === 0) continue;
      initDone = false;
      if (pod.spec.restartPolicy === 'Never') {
        this.failed = { reason: 'Init:Error', message: `init container ${c.name} failed with exit code ${cur.exitCode}` };
        break;
      }
      await this.restartWithBackoff(pod, c, 'init', cur, sandbox.id, sbConfig, fields, volumePaths);
      break;
    }

    if (initDone) {
      for (const c of pod.spec.containers) {
        const seen = obs.containers.get(c.name);
        const cur = seen?.current;
        if (!cur) {
          if (this.carried && this.carried.from !== sandbox.id && this.carried.skip.has(c.name)) continue;
          await this.startContainer(pod, c, 'app', sandbox.id, sbConfig, this.carriedRestarts(sandbox.id, c.name), fields, volumePaths);
          continue;
        }
        const hashChanged = raw.find((r) => r.id === cur.id)?.annotations[ANNOTATIONS.hash] !== containerHash(c);
        if (cur.state === 'running') {
          if (this.livenessFailed.has(cur.id) || hashChanged) {
            const why = hashChanged ? 'Container definition changed, will be restarted' : `Container ${c.name} failed liveness probe, will be restarted`;
            events.record(pod, 'Normal', 'Killing', why);
            await this.stopContainer(pod, c, cur.id, podIP);
            this.livenessFailed.delete(cur.id);
            this.trigger();
          }
          continue;
        }
        if (cur.state === 'created') {
          // a start that never happened (agent died between create and start): start it now
          await cri.runtime.StartContainer({ container_id: cur.id }).catch(() => cri.runtime.RemoveContainer({ container_id: cur.id }));
          this.trigger();
          continue;
        }
        // exited
        if (cur.reason === 'OOMKilled' && this.waiting.get(c.name)?.reason !== 'CrashLoopBackOff') {
          events.record(pod, 'Warning', 'OOMKilled', `Container ${c.name} was OOM-killed (memory limit ${c.resources.limits.memory ?? 'none'})`);
        }
        const restart = pod.spec.restartPolicy === 'Always' || (pod.spec.restartPolicy === 'OnFailure' && cur.exitCode !== 0);
        if (restart || hashChanged) await this.restartWithBackoff(pod, c, 'app', cur, sandbox.id, sbConfig, fields, volumePaths);
        else this.waiting.delete(c.name);
      }
    }
    ({ obs } = await this.observe(sandbox.id));
    this.syncProbes(pod, obs, podIP);
    this.status = podStatus(pod, obs, this.status);
  }

  /** Restart count of a container's first instance in a sandbox: carried over from a dead sandbox. */
  private carriedRestarts(sandboxId: string, name: string): number {
    return this.carried && this.carried.from !== sandboxId ? (this.carried.restartCounts.get(name) ?? 0) : 0;
  }

  /** True when nothing more will run (restartPolicy done): no new sandbox is made for it. */
  private allDone(pod: Pod, seen: { obs: PodObservation }): boolean {
    if (!this.status) return false;
    const phase = this.status.phase;
    return (phase === 'Succeeded' || phase === 'Failed') && seen.obs.containers.size === 0 && pod.spec.restartPolicy !== 'Always';
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
    const { cri, events } = this.ctx;
    const present = (await cri.image.ImageStatus({ image: { image: c.image } })).image;
    if (present && c.imagePullPolicy !== 'Always') return true;
    if (c.imagePullPolicy === 'Never') {
      this.waiting.set(c.name, { reason: 'ErrImageNeverPull', message: `Container image "${c.image}" is not present with pull policy of Never` });
      events.record(pod, 'Warning', 'ErrImageNeverPull', `Container image "${c.image}" is not present with pull policy of Never`);
      return false;
    }
    events.record(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
    const started = Date.now();
    try {
      await cri.image.PullImage({ image: { image: c.image } }, { deadlineMs: 10 * 60_000 });
    } catch (err) {
      const msg = (err as { details?: string }).details ?? String(err);
      const key = `${pod.metadata.uid}/pull/${c.name}`;
      const wait = this.ctx.backoff.next(key, Date.now(), Date.now());
      this.waiting.set(c.name, { reason: this.ctx.backoff.delay(key) > 10_000 ? 'ImagePullBackOff' : 'ErrImagePull', message: msg });
      events.record(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${msg}`);
      this.schedule(wait);
      return false;
    }
    events.record(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in ${Date.now() - started}ms`);
    return true;
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
      const msg = grpcMessage(err);
      this.waiting.set(c.name, { reason: 'CreateContainerError', message: msg });
      events.record(pod, 'Warning', 'Failed', `Error: ${msg}`);
      this.schedule(5000);
      return;
    }
    events.record(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await cri.runtime.StartContainer({ container_id: id });
    } catch (err) {
      const msg = grpcMessage(err);
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

  // ---- probes

  private syncProbes(pod: Pod, obs: PodObservation, podIP: string): void {
    const live = new Set<string>();
    for (const c of pod.spec.containers) {
      const cur = obs.containers.get(c.name)?.current;
      if (!cur || cur.state !== 'running') {
        this.ready.delete(c.name);
        continue;
      }
      live.add(cur.id);
      if (this.probes.has(cur.id)) continue;
      if (!c.readinessProbe) this.ready.set(c.name, true);
      else this.ready.set(c.name, false);
      this.started.set(c.name, !c.startupProbe);
      const startedAtMs = Number(BigInt(cur.startedAt || '0') / 1_000_000n) || Date.now();
      const stop = this.ctx.startProbes(pod, c, { containerId: cur.id, podIP, startedAtMs }, (type, ok, output) => {
        if (!this.probes.has(cur.id)) return;
        if (type === 'readiness') this.ready.set(c.name, ok);
        if (type === 'startup') this.started.set(c.name, ok);
        if (!ok) this.ctx.events.record(pod, 'Warning', 'Unhealthy', `${type[0]!.toUpperCase()}${type.slice(1)} probe failed: ${output}`.trim());
        if (type === 'liveness' && !ok) this.livenessFailed.add(cur.id);
        if (type === 'startup' && !ok) this.livenessFailed.add(cur.id);
        this.trigger();
      });
      this.probes.set(cur.id, { stop, name: c.name });
    }
    for (const [id, p] of this.probes) {
      if (!live.has(id)) {
        p.stop();
        this.probes.delete(id);
      }
    }
  }

  private stopProbes(): void {
    for (const p of this.probes.values()) p.stop();
    this.probes.clear();
  }

  // ---- teardown

  /** Stops every container (preStop, grace period) and the sandbox; with remove, removes them all. */
  private async terminate(remove: boolean): Promise<void> {
    const pod = this.desired;
    this.stopProbes();
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
