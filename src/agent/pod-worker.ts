/**
 * One worker per pod: one sync in flight, the newest desired state wins. A sync brings the runtime
 * in line with the pod in the kubelet's shape: observe the runtime (sync/observe.ts), decide with
 * computePodActions (sync/pod-actions.ts, pure: sandbox, init containers in order, app containers
 * with restarts, kills for liveness and spec changes), carry the actions out (sync/execute.ts:
 * image pulls, back-off, create/start/stop over the CRI), then the probes (probes/prober-manager.ts)
 * and the status. A deleted (or evicted) pod is torn down: preStop, stop with the grace period,
 * sandbox stop and removal.
 */
import { type Pod, type PodStatus, podQosClass } from '../api/index.js';
import type { ContainerStatus__Output as CriContainerStatus, PodSandboxConfig } from '../cri/index.js';
import { setLongTimeout, type LongTimeout, messageOf } from '../lib/index.js';
import { sandboxConfig } from './cri-config.js';
import { podDnsConfig, type ClusterDnsSettings } from './dns/index.js';
import { podStatus, type PodObservation } from './pod-status.js';
import { ProberManager } from './probes/index.js';
import { PodExecutor, traceStep, computePodActions, computeTeardown, listPodSandboxes, observeSandbox, observedSandbox, type CarriedOver, type SandboxObservation, type WorkerContext } from './sync/index.js';
import { TerminationDeadline } from './termination-deadline.js';

export type { ProbeStarter } from './probes/index.js';
export type { HandlerRunner, PodCgroups, WorkerContext } from './sync/index.js';

/** A pod with something pending (a waiting container, a restart, a failure) is synced again after this. */
const RESYNC_MS = 10_000;
/**
 * A settled pod (every container running, nothing waiting) only by the kubelet's sync-frequency
 * (1 min, up to 50 % later, so pods started together do not resync together): the relist wakes it
 * as soon as the runtime sees a change, its probes and timers as soon as they fire.
 */
export const SETTLED_RESYNC_MS = 60_000;
const SETTLED_RESYNC_JITTER = 0.5;

/** Without the agent's DNS settings: a pod's resolv.conf is the runtime's default (the host's) plus the pod's dnsConfig. */
const NO_CLUSTER_DNS: ClusterDnsSettings = { clusterDNS: [], clusterDomain: '', hostResolvConf: { nameservers: [], searches: [], options: [] } };

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
  private readonly executor: PodExecutor;
  private readonly startTime = new Date().toISOString();
  private synced = false;
  /** The last sync found nothing to do: every container running, nothing waiting (see SETTLED_RESYNC_MS). */
  private settled = false;
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
    this.executor = new PodExecutor(ctx, {
      waiting: this.waiting,
      schedule: (ms) => this.schedule(ms),
      trigger: () => this.trigger(),
      deletionDeadline: () => (this.deleting ? this.deadline : undefined),
      forgetLiveness: (id) => this.prober.forgetLiveness(id),
      failPod: (reason, message) => (this.failed = { reason, message }),
    });
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
      this.due = true;
      this.wake?.();
    }, ms);
    this.timer.unref();
  }

  /** The worker's timer fired (a resync, a back-off or retry coming due), as opposed to a trigger. */
  private due = false;

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.dirty && !this.due) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      // Only the settled pod's resync timer: the relist (or the runtime's events) would have woken
      // it on any change in the runtime, so the resync needs no CRI reads (the kubelet's periodic
      // sync reads its PLEG cache, not the runtime).
      const quiet = !this.dirty && this.settled;
      this.dirty = false;
      this.due = false;
      const started = Date.now();
      if (!quiet) this.settled = false;
      try {
        const teardown = computeTeardown({ deleting: this.deleting, failed: this.failed, cleanedUp: this.cleanedUp });
        if (teardown.kind === 'delete') {
          await this.terminate(true);
          this.timer?.clear();
          this.finish();
          return;
        }
        if (teardown.kind === 'stop') await this.terminate(teardown.remove);
        if (teardown.kind === 'sync' && quiet) await this.quietResync();
        else if (teardown.kind === 'sync') {
          if (!this.synced) traceStep(this.ctx, this.desired, 'sync');
          this.synced = true;
          await this.sync();
        }
        else this.cleanedUp = teardown.cleanedUp;
      } catch (err) {
        this.ctx.logger.warn({ pod: this.name(), err: messageOf(err) }, 'pod sync failed; retrying');
        this.schedule(2000);
      }
      this.ctx.onSync?.((Date.now() - started) / 1000);
      this.publish();
      if (this.settled) {
        // nothing pending: an earlier, shorter resync is no longer needed
        this.timer?.clear();
        this.timer = undefined;
        this.timerAt = Infinity;
        this.schedule((this.ctx.resyncMs?.settled ?? SETTLED_RESYNC_MS) * (1 + Math.random() * SETTLED_RESYNC_JITTER));
      } else this.schedule(this.ctx.resyncMs?.pending ?? RESYNC_MS);
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
    if (!this.status) return;
    if (!this.readySeen && this.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
      this.readySeen = true;
      traceStep(this.ctx, this.desired, 'ready');
    }
    this.ctx.onStatus(this.pod, this.status);
  }

  /** Whether the pod was Ready once (its 'ready' trace step is logged). */
  private readySeen = false;

  // ---- the sync: observe → computePodActions (sync/pod-actions.ts) → carry the actions out

  private async sync(): Promise<void> {
    const pod = this.desired;
    const { events } = this.ctx;
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
    const dns = podDnsConfig(pod, this.ctx.dns ?? NO_CLUSTER_DNS);
    const sbConfig: PodSandboxConfig = sandboxConfig(pod, { attempt: actions.sandbox.attempt, logRoot: this.ctx.logRoot, cgroupParent, dns: dns.dnsConfig });
    let sandboxId = actions.sandbox.id;
    let obs = seen?.obs;
    if (actions.sandbox.create || !sandboxId || !obs) {
      // as the kubelet: the dnsPolicy's problems (no cluster DNS, limits cut) are the pod's events
      if (this.ctx.dns) for (const w of dns.warnings) events.record(pod, 'Warning', w.reason, w.message);
      sandboxId = await this.executor.createSandbox(pod, sbConfig);
      ({ obs } = await this.observe(sandboxId));
    }
    const podIP = obs.sandbox?.ip ?? '';
    const fields = { podIP, hostIP: this.ctx.hostIP, nodeName: this.ctx.nodeName };
    // Steps that change nothing in the runtime leave the observation as it was: no second look.
    const readOnly = !actions.sandbox.create && actions.killSandboxes.length === 0 && actions.steps.every((s) => s.action === 'settle' || s.action === 'report-oom');
    await this.executor.runSteps(pod, actions.steps, { sandboxId, sbConfig, fields, volumePaths, podIP });
    if (!readOnly || seen?.obs !== obs) ({ obs } = await this.observe(sandboxId));
    this.settled = actions.steps.length === 0 && readOnly && this.waiting.size === 0 && !this.failed;
    this.prober.sync(pod, obs.containers, podIP);
    this.status = podStatus(pod, obs, this.status);
  }

  /** A settled pod's periodic resync: its volumes and pod cgroup made sure of; the runtime is not read. */
  private async quietResync(): Promise<void> {
    await this.ctx.volumes.prepare(this.desired);
    await this.ctx.cgroups.ensurePod(this.desired);
  }

  // ---- teardown

  /** Stops every container (preStop, grace period) and the sandbox; with remove, removes them all. */
  private async terminate(remove: boolean): Promise<void> {
    const pod = this.desired;
    this.prober.stopAll();
    const all = await this.sandboxes();
    // A deleted pod behind a Service leaves the rules before its containers hear of it (services/);
    // a shorter deadline (a second delete) ends the wait.
    const d = this.deadline;
    if (remove && d && !d.immediate && this.ctx.beforeStop && all.length > 0) {
      await Promise.race([this.ctx.beforeStop(pod, d.deadlineMs).catch(() => undefined), d.shortened()]);
    }
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

  /** Stops a sandbox's containers and the sandbox (removing it with remove); what it held is the pod's last state. */
  private async removeSandbox(id: string, grace: number, remove = true): Promise<void> {
    await this.executor.killSandbox(this.desired, id, grace, remove, (containers) => (this.lastContainers = containers));
  }

}
