/**
 * The pod's prober manager (the kubelet's prober.Manager, per pod): one set of probe workers per
 * running app container, started when the container is first seen running and stopped when it is
 * gone; it keeps the results the sync reads — readiness and startup per container name, and the
 * container ids whose liveness (or startup) probe failed, which the sync kills and restarts.
 */
import type { Container, Pod } from '../../api/index.js';

/** Runs a pod's probes for one running container; returns a stop function. */
export type ProbeStarter = (
  pod: Pod,
  container: Container,
  target: { containerId: string; podIP: string; startedAtMs: number },
  onResult: (type: 'liveness' | 'readiness' | 'startup', ok: boolean, output: string) => void,
) => () => void;

/** What the manager needs of the rest of the agent. */
export interface ProberManagerDeps {
  startProbes: ProbeStarter;
  /** A failed probe's Unhealthy event. */
  recordUnhealthy: (pod: Pod, message: string) => void;
  /** A result changed something the sync acts on: sync the pod again. */
  onChange: () => void;
}

/** The containers seen in the pod's sandbox, by name (only the newest instance matters here). */
export type ProbedContainers = ReadonlyMap<string, { current: { id: string; state: string; startedAt: string } }>;

export class ProberManager {
  /** Readiness probe results by container name (no readiness probe: ready while running). */
  readonly ready = new Map<string, boolean>();
  /** Startup probe succeeded (or none), by container name. */
  readonly started = new Map<string, boolean>();
  private readonly livenessFailed = new Set<string>();
  private readonly probes = new Map<string, { stop: () => void; name: string }>();

  constructor(private readonly deps: ProberManagerDeps) {}

  /** Container ids whose liveness or startup probe failed (to kill and restart). */
  get failedLiveness(): ReadonlySet<string> {
    return this.livenessFailed;
  }

  /** The container was killed for its failed liveness: forget the failure. */
  forgetLiveness(containerId: string): void {
    this.livenessFailed.delete(containerId);
  }

  /** Starts probes for newly running app containers and stops those of containers no longer running. */
  sync(pod: Pod, containers: ProbedContainers, podIP: string): void {
    const live = new Set<string>();
    for (const c of pod.spec.containers) {
      const cur = containers.get(c.name)?.current;
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
      const stop = this.deps.startProbes(pod, c, { containerId: cur.id, podIP, startedAtMs }, (type, ok, output) => {
        if (!this.probes.has(cur.id)) return;
        if (type === 'readiness') this.ready.set(c.name, ok);
        if (type === 'startup') this.started.set(c.name, ok);
        if (!ok) this.deps.recordUnhealthy(pod, `${type[0]!.toUpperCase()}${type.slice(1)} probe failed: ${output}`.trim());
        if (type === 'liveness' && !ok) this.livenessFailed.add(cur.id);
        if (type === 'startup' && !ok) this.livenessFailed.add(cur.id);
        this.deps.onChange();
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

  /** Stops every probe (the pod is torn down). */
  stopAll(): void {
    for (const p of this.probes.values()) p.stop();
    this.probes.clear();
  }
}
