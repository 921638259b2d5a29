/**
 * Carrying a pod's actions out over the CRI (the kubelet's SyncPod after computePodActions): making
 * the sandbox, starting containers (image pull, runAsNonRoot check, subPaths, create, start, keeping
 * one dead instance), restarting them once their back-off allows, killing containers (preStop, grace
 * period or the deletion's deadline) and sandboxes. What waits and why goes to the worker's waiting
 * map; when to look again goes to its timer.
 */
import type { Container, Pod } from '../../api/index.js';
import { grpcMessage, type PodSandboxConfig } from '../../cri/index.js';
import { LABELS, containerConfig, podHostsFile } from '../cri-config.js';
import { markPodLogDirectory } from '../disk/index.js';
import { ImagePuller } from '../images/index.js';
import type { ObservedContainer } from '../pod-status.js';
import { imageUserOf, runAsNonRootProblem } from '../run-as-non-root.js';
import { stopWithinDeadline, type TerminationDeadline } from '../termination-deadline.js';
import type { WorkerContext } from './context.js';
import { observeSandbox, type SandboxObservation } from './observe.js';
import type { ContainerStep } from './pod-actions.js';
import { messageOf } from '../../lib/index.js';

/**
 * A debug line per step of a pod's start (bench/agent.ts --trace reads them): admitted, sync,
 * sandbox-requested/-returned, container-created/-started, ready.
 */
export function traceStep(ctx: Pick<WorkerContext, 'logger'>, pod: Pod, step: string): void {
  ctx.logger.debug({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, step }, 'pod start step');
}

/** What the executor reads and moves of its pod's worker. */
export interface ExecutorHooks {
  /** Why each container is not running (CrashLoopBackOff, ErrImagePull, CreateContainerError...). */
  readonly waiting: Map<string, { reason: string; message?: string }>;
  /** Sync again in ms (unless sooner anyway). */
  schedule(ms: number): void;
  /** Sync again now. */
  trigger(): void;
  /** A deleted pod's deadline: its containers stop within it; undefined: by the spec's grace period. */
  deletionDeadline(): TerminationDeadline | undefined;
  /** A container killed for its failed liveness: forget the failure. */
  forgetLiveness(containerId: string): void;
  /** The pod failed (an init container failed under restartPolicy Never). */
  failPod(reason: string, message: string): void;
}

/** Where a sync's containers go: the sandbox, its config, the downward-API fields and the volumes. */
export interface StepTarget {
  sandboxId: string;
  sbConfig: PodSandboxConfig;
  podIP: string;
  fields: { podIP: string; hostIP: string; nodeName: string };
  volumePaths: Record<string, string>;
}

export class PodExecutor {
  private readonly puller: ImagePuller;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly hooks: ExecutorHooks,
  ) {
    this.puller = new ImagePuller({ cri: ctx.cri, events: ctx.events, backoff: ctx.backoff });
  }

  /** Makes the pod's sandbox; returns its id. */
  async createSandbox(pod: Pod, sbConfig: PodSandboxConfig): Promise<string> {
    // Only when a sandbox is made (never on a plain sync): the kubelet's MkdirAll of the log
    // directory before RunPodSandbox, plus the marker the sweep needs (it removes only marked folders).
    await markPodLogDirectory(this.ctx.logRoot, pod);
    traceStep(this.ctx, pod, 'sandbox-requested');
    const id = (await this.ctx.cri.runtime.RunPodSandbox({ config: sbConfig, runtime_handler: '' }, { deadlineMs: 4 * 60_000 })).pod_sandbox_id;
    traceStep(this.ctx, pod, 'sandbox-returned');
    return id;
  }

  /** Carries computePodActions' container steps out, in order. */
  async runSteps(pod: Pod, steps: readonly ContainerStep[], t: StepTarget): Promise<void> {
    const { cri, events } = this.ctx;
    for (const step of steps) {
      const c = step.container;
      switch (step.action) {
        case 'start':
          // the sandbox holds no instance of it: no dead one to prune
          await this.startContainer(pod, c, step.kind, t.sandboxId, t.sbConfig, step.restartCount, t.fields, t.volumePaths, false);
          break;
        case 'restart':
          await this.restartWithBackoff(pod, c, step.kind, step.previous, t.sandboxId, t.sbConfig, t.fields, t.volumePaths);
          break;
        case 'fail-pod':
          this.hooks.failPod(step.reason, step.message);
          break;
        case 'kill':
          events.record(pod, 'Normal', 'Killing', step.message);
          await this.stopContainer(pod, c, step.id, t.podIP);
          this.hooks.forgetLiveness(step.id);
          this.hooks.trigger();
          break;
        case 'start-created': {
          // a start that never happened (agent died between create and start): start it now
          const id = step.id;
          await cri.runtime.StartContainer({ container_id: id }).catch(() => cri.runtime.RemoveContainer({ container_id: id }));
          this.hooks.trigger();
          break;
        }
        case 'report-oom':
          events.record(pod, 'Warning', 'OOMKilled', step.message);
          break;
        case 'settle':
          this.hooks.waiting.delete(c.name);
          break;
      }
    }
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
    const key = `${pod.metadata.uid}/${c.name}`;
    const toMs = (n: string) => Number(BigInt(n || '0') / 1_000_000n);
    const wait = this.ctx.backoff.next(key, toMs(cur.startedAt), toMs(cur.finishedAt) || Date.now());
    if (wait > 0) {
      const delay = this.ctx.backoff.delay(key);
      const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
      if (this.hooks.waiting.get(c.name)?.message !== message) this.ctx.events.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`);
      this.hooks.waiting.set(c.name, { reason: 'CrashLoopBackOff', message });
      this.hooks.schedule(wait);
      return;
    }
    this.ctx.onRestart?.();
    await this.startContainer(pod, c, kind, sandboxId, sbConfig, cur.restartCount + 1, fields, volumePaths, true);
  }

  private async ensureImage(pod: Pod, c: Container): Promise<boolean> {
    const pulled = await this.puller.ensure(pod, c);
    if (pulled.ok) return true;
    this.hooks.waiting.set(c.name, pulled.waiting);
    if (pulled.retryInMs !== undefined) this.hooks.schedule(pulled.retryInMs);
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
    /** Whether earlier instances may be in the sandbox: keep only the newest dead one. */
    prune: boolean,
  ): Promise<void> {
    const { cri, events } = this.ctx;
    if (!(await this.ensureImage(pod, c))) return;
    if (c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot) {
      const image = (await cri.image.ImageStatus({ image: { image: c.image } })).image;
      const message = runAsNonRootProblem(pod, c, imageUserOf(image));
      if (message !== undefined) {
        this.hooks.waiting.set(c.name, { reason: 'CreateContainerConfigError', message });
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
      const message = messageOf(err);
      this.hooks.waiting.set(c.name, { reason: 'CreateContainerConfigError', message });
      events.record(pod, 'Warning', 'Failed', `Error: ${message}`);
      this.hooks.schedule(5000);
      return;
    }
    let id: string;
    try {
      // the kubelet's managed /etc/hosts (the pod's FQDN) for a pod with a subdomain
      const hosts = podHostsFile(pod, fields.podIP, this.ctx.dns?.clusterDomain ?? '');
      const hostsFile = hosts === undefined ? undefined : await this.ctx.volumes.writePodFile(pod.metadata.uid, 'etc-hosts', hosts);
      const config = containerConfig({ pod, container: c, kind, restartCount, fields, volumePaths, subPathPaths, hostsFile, resources: this.ctx.cgroups.containerResources(pod, c) });
      id = (await cri.runtime.CreateContainer({ pod_sandbox_id: sandboxId, config, sandbox_config: sbConfig })).container_id;
    } catch (err) {
      const msg = grpcMessage(err);
      this.hooks.waiting.set(c.name, { reason: 'CreateContainerError', message: msg });
      events.record(pod, 'Warning', 'Failed', `Error: ${msg}`);
      this.hooks.schedule(5000);
      return;
    }
    traceStep(this.ctx, pod, 'container-created');
    events.record(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await cri.runtime.StartContainer({ container_id: id });
    } catch (err) {
      const msg = grpcMessage(err);
      this.hooks.waiting.set(c.name, { reason: 'RunContainerError', message: msg });
      events.record(pod, 'Warning', 'Failed', `Error: ${msg}`);
      return;
    }
    traceStep(this.ctx, pod, 'container-started');
    this.hooks.waiting.delete(c.name);
    events.record(pod, 'Normal', 'Started', `Started container ${c.name}`);
    if (prune) await this.pruneDead(sandboxId, c.name, id);
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

  async stopContainer(pod: Pod, c: Container | undefined, id: string, podIP: string): Promise<void> {
    const preStop = c?.lifecycle?.preStop
      ? (timeout: number) =>
          this.ctx.runHandler(pod, c, id, podIP, timeout).catch((err) =>
            this.ctx.events.record(pod, 'Warning', 'FailedPreStopHook', `PreStop hook of ${c.name} failed: ${messageOf(err)}`),
          )
      : undefined;
    const stop = (timeout: number) => this.ctx.cri.runtime.StopContainer({ container_id: id, timeout }, { deadlineMs: (timeout + 30) * 1000 }).then(() => undefined);
    // A deleted pod stops by its deletion's deadline (shortened by a second delete); otherwise by the spec's grace.
    const deadline = this.hooks.deletionDeadline();
    if (deadline) return stopWithinDeadline(deadline, preStop, stop);
    const grace = pod.spec.terminationGracePeriodSeconds;
    await preStop?.(grace);
    await stop(grace);
  }

  /**
   * Stops a sandbox: its running containers (a Killing event each; preStop and the grace period
   * unless it is 0), then the sandbox, removed with remove. observed gets the containers it held,
   * as seen before they are stopped.
   */
  async killSandbox(pod: Pod, id: string, grace: number, remove: boolean, observed: (containers: SandboxObservation['containers']) => void): Promise<void> {
    const { cri } = this.ctx;
    const { sandbox, containers, raw } = await observeSandbox(cri, id);
    observed(containers);
    const podIP = sandbox?.ip ?? '';
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
