/**
 * The agent's pods: the desired set (from sources: the static manifest folder, later the
 * scheduler), one PodWorker per pod UID, admission of new pods, a relist of the runtime that wakes
 * the workers whose pods changed (exits), and adoption of what an earlier agent left running.
 */
import type { Pod, PodStatus } from '../api/index.js';
import type { ContainerEventResponse__Output } from '../cri/index.js';
import { grpcMessage } from '../cri/index.js';
import type { Logger } from '../lib/index.js';
import { LABELS } from './cri-config.js';
import { PodWorker, type WorkerContext } from './pod-worker.js';
import { traceStep } from './sync/index.js';

/**
 * Decides whether a new pod may run here (Pod Security, resources, pod count); see admission/.
 * `source` is where the pod comes from ("file" for static pods, "scheduler").
 */
export type Admit = (pod: Pod, active: Pod[], source: string) => { admit: true } | { admit: false; reason: string; message: string };

export interface PodManagerOptions {
  ctx: WorkerContext;
  admit: Admit;
  logger: Logger;
  relistMs?: number;
  /**
   * The relist period while the runtime's GetContainerEvents stream is up (default 10 s): the
   * events wake the workers of pods whose containers stopped, the relist is the safety net (and
   * finds sandbox changes, orphans). Without the stream (containerd 1.6 answers Unimplemented) the
   * relist runs every relistMs.
   */
  eventedRelistMs?: number;
  /**
   * After a relist, once every expected source has spoken: isKnown tells whether a pod uid has a
   * worker, inRuntime holds the uids the runtime has sandboxes or containers of (disk/pod-dirs.ts).
   */
  afterRelist?: (isKnown: (uid: string) => boolean, inRuntime: ReadonlySet<string>) => Promise<unknown>;
}

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  private readonly sources = new Map<string, Map<string, Pod>>();
  private readonly fingerprints = new Map<string, string>();
  private readonly expectedSources = new Set<string>();
  private relistTimer: NodeJS.Timeout | undefined;
  private relisting = false;
  private stopped = false;
  /** The GetContainerEvents stream, and whether it is up (it answered: headers or an event). */
  private events: { cancel(): void } | undefined;
  private eventsUp = false;
  private eventsRetry: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PodManagerOptions) {}

  /**
   * Names a source whose first update must arrive before orphans are cleaned up: until every
   * expected source has spoken, a pod found in the runtime may still be wanted.
   */
  expectSource(name: string): void {
    this.expectedSources.add(name);
  }

  /** The full desired set of one source; pods it no longer lists are torn down. */
  setSource(name: string, pods: Pod[]): void {
    const next = new Map(pods.map((p) => [p.metadata.uid, p]));
    const prev = this.sources.get(name) ?? new Map<string, Pod>();
    this.sources.set(name, next);
    for (const [uid, pod] of next) {
      const worker = this.workers.get(uid);
      if (worker?.isDeleting) {
        // Wanted again while its worker tears it down: that worker never runs it again, a new one
        // does once it is done (the kubelet's pod workers restart a pod wanted after its kill).
        this.restartWhenDone(worker);
        continue;
      }
      if (worker) {
        if (JSON.stringify(prev.get(uid)?.spec) !== JSON.stringify(pod.spec) || JSON.stringify(prev.get(uid)?.metadata) !== JSON.stringify(pod.metadata)) {
          worker.update(pod);
        }
        continue;
      }
      this.start(pod, name);
    }
    for (const uid of prev.keys()) {
      if (!next.has(uid)) this.stopPod(uid);
    }
  }

  private start(pod: Pod, source: string): void {
    const active = this.activePods();
    const verdict = this.opts.admit(pod, active, source);
    if (!verdict.admit) {
      this.opts.logger.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, reason: verdict.reason }, 'pod rejected');
      this.opts.ctx.events.record(pod, 'Warning', verdict.reason, verdict.message);
    }
    traceStep(this.opts.ctx, pod, 'admitted');
    // A rejected pod's worker starts out failed: it never prepares volumes or creates a sandbox.
    const worker = new PodWorker(this.opts.ctx, pod, verdict.admit ? undefined : { reason: verdict.reason, message: verdict.message });
    this.workers.set(pod.metadata.uid, worker);
  }

  /** Once the dying worker is done, starts a new one for its pod if a source still wants the uid. */
  private restartWhenDone(worker: PodWorker): void {
    const uid = worker.uid;
    void worker.done.then(() => {
      if (this.workers.get(uid) === worker) this.workers.delete(uid);
      if (this.workers.has(uid)) return; // another wish already started one
      for (const [source, pods] of this.sources) {
        const pod = pods.get(uid);
        if (!pod) continue;
        this.fingerprints.delete(uid);
        this.start(pod, source);
        return;
      }
    });
  }

  private stopPod(uid: string): void {
    const worker = this.workers.get(uid);
    if (!worker) return;
    worker.delete();
    void worker.done.then(() => {
      if (this.workers.get(uid) === worker) this.workers.delete(uid);
      this.fingerprints.delete(uid);
    });
  }

  /**
   * The pod is being deleted: its worker stops it by deadlineMs (a shorter deadline shortens a
   * termination in flight). A pod without a worker (this agent restarted mid-termination) gets one
   * that only terminates it, preStop included, within the time left, instead of being removed as an
   * orphan by the relist.
   */
  terminatePod(uid: string, pod: Pod | undefined, deadlineMs: number, immediate = false): void {
    const worker = this.workers.get(uid);
    if (worker) {
      worker.terminateBy(deadlineMs, immediate);
      this.stopPod(uid);
      return;
    }
    if (!pod) return; // nobody knows the pod: the relist removes whatever is left of it
    const w = new PodWorker(this.opts.ctx, pod, undefined, { deadlineMs, immediate });
    this.workers.set(uid, w);
    void w.done.then(() => {
      if (this.workers.get(uid) === w) this.workers.delete(uid);
      this.fingerprints.delete(uid);
    });
  }

  /** Pods that count against the node (not finished, not rejected). */
  activePods(): Pod[] {
    return [...this.workers.values()]
      .map((w) => w.pod)
      .filter((p) => !p.status || (p.status.phase !== 'Failed' && p.status.phase !== 'Succeeded'));
  }

  /** Every pod with its latest status. */
  pods(): Pod[] {
    return [...this.workers.values()].map((w) => w.pod);
  }

  worker(uid: string): PodWorker | undefined {
    return this.workers.get(uid);
  }

  /** Whether a pod comes from the manifest folder (a static pod: critical, never evicted). */
  isStatic(uid: string): boolean {
    return this.sources.get('file')?.has(uid) ?? false;
  }

  /** Whether a failed (evicted) pod's content is removed; true for a pod no longer here. */
  podCleanedUp(uid: string): boolean {
    return this.workers.get(uid)?.isCleanedUp ?? true;
  }

  /** Marks a pod Failed with reason (eviction) and removes its sandbox, containers, volumes and logs. */
  failPod(uid: string, reason: string, message: string): void {
    this.workers.get(uid)?.fail(reason, message);
  }

  /**
   * Starts the relist loop (every relistMs, default 1 s; every eventedRelistMs while the runtime's
   * container events stream is up) and subscribes to the events.
   */
  startRelist(): void {
    this.subscribeEvents();
    const tick = async () => {
      if (this.stopped) return;
      await this.relist().catch((err) => this.opts.logger.warn({ err: String(err) }, 'relist failed'));
      if (!this.stopped) this.relistTimer = setTimeout(tick, this.relistPeriod());
    };
    void tick();
  }

  private relistPeriod(): number {
    return this.eventsUp ? (this.opts.eventedRelistMs ?? 10_000) : (this.opts.relistMs ?? 1000);
  }

  /**
   * GetContainerEvents (the kubelet's evented PLEG): a container that stopped or was removed wakes
   * its pod's worker at once. Created/started events are left out: the agent made those itself and
   * its worker observes the runtime after its own steps. A runtime without the rpc (Unimplemented)
   * keeps the 1 s relist; a stream that breaks is subscribed again after 5 s, relisting every
   * relistMs meanwhile (and once at once: events may have been missed).
   */
  private subscribeEvents(): void {
    const raw = this.opts.ctx.cri.raw?.runtime;
    if (!raw || this.stopped) return;
    let stream: ReturnType<typeof raw.GetContainerEvents>;
    try {
      stream = raw.GetContainerEvents({});
    } catch (err) {
      this.opts.logger.info({ err: grpcMessage(err) }, 'no container events from the runtime: relisting every second');
      return;
    }
    this.events = stream;
    const up = () => {
      if (this.eventsUp || this.events !== stream) return;
      this.eventsUp = true;
      this.opts.logger.info('container events from the runtime: relisting every ' + `${(this.opts.eventedRelistMs ?? 10_000) / 1000} s`);
    };
    stream.on('metadata', up);
    stream.on('data', (ev: ContainerEventResponse__Output) => {
      up();
      if (ev.container_event_type !== 'CONTAINER_STOPPED_EVENT' && ev.container_event_type !== 'CONTAINER_DELETED_EVENT') return;
      const uid = ev.pod_sandbox_status?.labels?.[LABELS.podUid] ?? ev.pod_sandbox_status?.metadata?.uid;
      if (uid) this.workers.get(uid)?.trigger();
    });
    let ended = false;
    const down = (err?: unknown) => {
      if (ended || this.events !== stream) return;
      ended = true;
      const wasUp = this.eventsUp;
      this.eventsUp = false;
      this.events = undefined;
      if (this.stopped) return;
      const code = (err as { code?: number } | undefined)?.code;
      if (code === 12 /* UNIMPLEMENTED */) {
        this.opts.logger.info('the runtime has no container events (GetContainerEvents): relisting every second');
        return;
      }
      if (wasUp) this.opts.logger.warn({ err: err === undefined ? 'the stream ended' : grpcMessage(err) }, 'container events stream lost: relisting every second until it is back');
      if (wasUp) void this.relist().catch(() => undefined);
      this.eventsRetry = setTimeout(() => this.subscribeEvents(), 5000);
      this.eventsRetry.unref?.();
    };
    stream.on('error', down);
    stream.on('end', () => down());
  }

  /**
   * Lists the runtime's pods and containers: a pod whose containers changed state gets a sync; a pod
   * this agent made earlier that no source wants any more is removed.
   */
  async relist(): Promise<void> {
    if (this.relisting) return;
    this.relisting = true;
    try {
      const { cri } = this.opts.ctx;
      const [sandboxes, containers] = await Promise.all([
        cri.runtime.ListPodSandbox({ filter: { label_selector: { [LABELS.managedBy]: 'corelet-agent' } } }),
        cri.runtime.ListContainers({ filter: { label_selector: { [LABELS.managedBy]: 'corelet-agent' } } }),
      ]);
      const byPod = new Map<string, string[]>();
      for (const s of sandboxes.items) {
        const uid = s.labels[LABELS.podUid] ?? '';
        byPod.set(uid, [...(byPod.get(uid) ?? []), `s:${s.id}:${s.state}`]);
      }
      for (const c of containers.containers) {
        const uid = c.labels[LABELS.podUid] ?? '';
        byPod.set(uid, [...(byPod.get(uid) ?? []), `c:${c.id}:${c.state}`]);
      }
      for (const [uid, parts] of byPod) {
        const fp = parts.sort().join(',');
        const worker = this.workers.get(uid);
        if (worker && this.fingerprints.get(uid) !== fp) worker.trigger();
        this.fingerprints.set(uid, fp);
      }
      // A pod whose sandbox and containers all left the runtime (removed behind the agent's back, or
      // while the events stream was down) is a change too: its worker syncs and makes it again.
      for (const uid of [...this.fingerprints.keys()]) {
        if (byPod.has(uid)) continue;
        this.fingerprints.delete(uid);
        this.workers.get(uid)?.trigger();
      }
      const sourcesReady = [...this.expectedSources].every((s) => this.sources.has(s));
      if (sourcesReady) {
        for (const s of sandboxes.items) {
          const uid = s.labels[LABELS.podUid] ?? '';
          if (this.workers.has(uid)) continue;
          this.opts.logger.info({ sandbox: s.id, pod: s.metadata?.name }, 'removing a pod no source wants any more');
          for (const c of containers.containers.filter((c) => c.pod_sandbox_id === s.id)) {
            await cri.runtime.StopContainer({ container_id: c.id, timeout: 10 }).catch(() => undefined);
            await cri.runtime.RemoveContainer({ container_id: c.id }).catch(() => undefined);
          }
          await cri.runtime.StopPodSandbox({ pod_sandbox_id: s.id }).catch(() => undefined);
          await cri.runtime.RemovePodSandbox({ pod_sandbox_id: s.id }).catch(() => undefined);
        }
        await this.opts.afterRelist?.((uid) => this.workers.has(uid), new Set(byPod.keys()));
      }
    } finally {
      this.relisting = false;
    }
  }

  /** Stops the relist loop (pods keep running: the next agent adopts them). */
  stop(): void {
    this.stopped = true;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    if (this.eventsRetry) clearTimeout(this.eventsRetry);
    this.events?.cancel();
    this.events = undefined;
  }

  /** Statuses by uid, for tests and the HTTP endpoint. */
  statuses(): Map<string, PodStatus | undefined> {
    return new Map([...this.workers].map(([uid, w]) => [uid, w.pod.status]));
  }
}
