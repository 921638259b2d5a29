import type { Container } from '../../api/index.js';
import type { Logger } from '../../lib/index.js';
import { ProbeWorker, type ProbeResultListener } from './probe-worker.js';
import type { Clock, ProbeDeps, ProbeTarget, ProbeType } from './probe-types.js';

/** Options for {@link ContainerProbes}: the container's probes plus what each worker needs. */
export interface ContainerProbesOptions {
  container: Pick<Container, 'livenessProbe' | 'readinessProbe' | 'startupProbe'>;
  target: ProbeTarget;
  deps: ProbeDeps;
  startedAt: number;
  onResult: ProbeResultListener;
  onFailedRun?: (type: ProbeType, output: string) => void;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The probe workers of one running container, wired as the kubelet wires them: liveness and
 * readiness wait for the startup probe, and readiness is probed as soon as startup passes.
 */
export class ContainerProbes {
  readonly liveness?: ProbeWorker;
  readonly readiness?: ProbeWorker;
  readonly startup?: ProbeWorker;

  constructor(opts: ContainerProbesOptions) {
    const common = {
      target: opts.target,
      deps: opts.deps,
      startedAt: opts.startedAt,
      onFailedRun: opts.onFailedRun,
      clock: opts.clock,
      logger: opts.logger,
    };
    const isStarted = () => this.started;
    const { startupProbe, livenessProbe, readinessProbe } = opts.container;
    if (startupProbe) {
      this.startup = new ProbeWorker({
        ...common,
        type: 'startup',
        probe: startupProbe,
        onResult: (type, result, output) => {
          opts.onResult(type, result, output);
          if (result === 'Success') this.readiness?.trigger();
        },
      });
    }
    if (livenessProbe) this.liveness = new ProbeWorker({ ...common, type: 'liveness', probe: livenessProbe, isStarted, onResult: opts.onResult });
    if (readinessProbe) this.readiness = new ProbeWorker({ ...common, type: 'readiness', probe: readinessProbe, isStarted, onResult: opts.onResult });
  }

  /** ContainerStatus.started: true without a startup probe, else once it has passed. */
  get started(): boolean {
    return !this.startup || this.startup.result === 'Success';
  }

  /** ContainerStatus.ready: started, and the readiness probe (if any) passes. */
  get ready(): boolean {
    return this.started && (!this.readiness || this.readiness.result === 'Success');
  }

  /** Stops every worker (the container stopped or is being replaced). */
  stop(): void {
    this.startup?.stop();
    this.liveness?.stop();
    this.readiness?.stop();
  }
}
