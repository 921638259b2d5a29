import type { Probe } from '../../api/index.js';
import { silentLogger, type Logger } from '../../lib/index.js';
import { runProbe } from './run-probe.js';
import { systemClock, type Clock, type ProbeDeps, type ProbeResult, type ProbeTarget, type ProbeType } from './probe-types.js';

/** Called when a worker's thresholded state changes (and on every liveness/startup failure crossing). */
export type ProbeResultListener = (type: ProbeType, result: ProbeResult, output: string) => void;

/** Everything one {@link ProbeWorker} needs. */
export interface ProbeWorkerOptions {
  type: ProbeType;
  probe: Probe;
  target: ProbeTarget;
  deps: ProbeDeps;
  /** When the container started, in ms on the clock's time line; initialDelaySeconds counts from here. */
  startedAt: number;
  onResult: ProbeResultListener;
  /** Called after every failed run, below the threshold too (the kubelet's "Unhealthy" events). */
  onFailedRun?: (type: ProbeType, output: string) => void;
  /**
   * Liveness and readiness only: runs are skipped while this returns false, i.e. while the
   * container's startup probe has not succeeded. Omitted: always started.
   */
  isStarted?: () => boolean;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Probes one container with one probe type, like the kubelet's per-container prober worker. It starts
 * probing when constructed: the first run at container start + initialDelaySeconds (or now, if that
 * has passed), then every periodSeconds. A result counts only after successThreshold or
 * failureThreshold identical runs in a row.
 *
 * Initial state, as in the kubelet: readiness Failure (not ready until proven), liveness Success
 * (alive until proven dead), startup unknown (`undefined`: not started). A startup worker stops
 * probing once it succeeds. A liveness or startup failure is reported each time the threshold is
 * crossed (the count restarts), so the owner is told again if the container was not restarted;
 * owners stop the worker when the container goes away and start a new one for its successor.
 */
export class ProbeWorker {
  readonly type: ProbeType;
  private state: ProbeResult | undefined;
  private lastRun: ProbeResult | undefined;
  private runLength = 0;
  private nextDue: number;
  private timer: unknown;
  private inFlight = false;
  private triggerPending = false;
  private stopped = false;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: ProbeWorkerOptions) {
    this.type = opts.type;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.state = opts.type === 'readiness' ? 'Failure' : opts.type === 'liveness' ? 'Success' : undefined;
    this.nextDue = Math.max(this.clock.now(), opts.startedAt + opts.probe.initialDelaySeconds * 1000);
    this.schedule();
  }

  /** The thresholded state; `undefined` only for a startup probe that has neither passed nor failed. */
  get result(): ProbeResult | undefined {
    return this.state;
  }

  /** Probes now, out of schedule (e.g. readiness right after the startup probe passed). */
  trigger(): void {
    if (this.finished()) return;
    if (this.inFlight) {
      this.triggerPending = true;
      return;
    }
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    void this.tick();
  }

  /** Stops probing; no callback fires afterwards, even for a run already in flight. */
  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finished(): boolean {
    return this.stopped || (this.type === 'startup' && this.state === 'Success');
  }

  private schedule(): void {
    if (this.finished()) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, Math.max(0, this.nextDue - this.clock.now()));
  }

  private async tick(): Promise<void> {
    this.inFlight = true;
    try {
      await this.probeOnce();
    } catch (err) {
      this.logger.error({ err, probe: this.type }, 'probe worker failed');
    } finally {
      this.inFlight = false;
    }
    if (this.finished()) return;
    if (this.triggerPending) {
      this.triggerPending = false;
      void this.tick();
      return;
    }
    // Ticker semantics: keep the phase, skip the periods a slow probe overran.
    const period = Math.max(1, this.opts.probe.periodSeconds) * 1000;
    const now = this.clock.now();
    while (this.nextDue <= now) this.nextDue += period;
    this.schedule();
  }

  private async probeOnce(): Promise<void> {
    const { probe, type } = this.opts;
    if (this.clock.now() - this.opts.startedAt < probe.initialDelaySeconds * 1000) return;
    if (type !== 'startup' && this.opts.isStarted && !this.opts.isStarted()) return;

    const outcome = await runProbe(probe, this.opts.target, this.opts.deps);
    if (this.stopped) return;
    this.logger.debug({ probe: type, containerId: this.opts.target.containerId, ...outcome }, 'probe run');
    if (outcome.result === 'Failure') this.opts.onFailedRun?.(type, outcome.output);

    if (outcome.result === this.lastRun) this.runLength++;
    else {
      this.lastRun = outcome.result;
      this.runLength = 1;
    }
    const threshold = Math.max(1, outcome.result === 'Failure' ? probe.failureThreshold : probe.successThreshold);
    if (this.runLength < threshold) return;

    const changed = this.state !== outcome.result;
    this.state = outcome.result;
    // A failed liveness/startup check means "restart the container"; count afresh so it is said again
    // after another full threshold if the container is still there.
    const repeatFailure = type !== 'readiness' && outcome.result === 'Failure';
    if (repeatFailure) this.runLength = 0;
    if (changed || repeatFailure) this.opts.onResult(type, outcome.result, outcome.output);
  }
}
