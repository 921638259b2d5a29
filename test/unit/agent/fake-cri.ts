/**
 * An in-memory CRI runtime for the agent's unit tests (no root): sandboxes and containers with the
 * labels, annotations and metadata the agent gives them, their states, and the calls made. Tests
 * move the runtime on by hand (exit a container, kill a sandbox's pause) and sync the worker again.
 */
import { LABELS } from '../../../src/agent/cri-config.js';

interface FakeSandbox {
  id: string;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  created: bigint;
  config: { metadata: { name: string; attempt: number }; labels: Record<string, string> };
}

interface FakeContainer {
  id: string;
  sandbox: string;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED';
  created: bigint;
  started: bigint;
  finished: bigint;
  exitCode: number;
  reason: string;
  config: { metadata: { name: string; attempt: number }; image: { image: string }; labels: Record<string, string>; annotations: Record<string, string> };
}

export class FakeCri {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  /** Images present; a pull of any other image fails. */
  readonly images = new Set<string>();
  readonly pullable = new Set<string>();
  private clock = 1n;
  private n = 0;

  private tick(): bigint {
    return (this.clock += 1_000_000_000n);
  }

  /** The app or init container named name, newest first. */
  named(name: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.config.labels[LABELS.containerName] === name).sort((a, b) => Number(b.created - a.created));
  }

  /** The container's process exits with code (OOMKilled with reason). */
  exit(id: string, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): void {
    const c = this.containers.get(id)!;
    Object.assign(c, { state: 'CONTAINER_EXITED', exitCode, reason, finished: this.tick() });
  }

  /** The sandbox's pause process dies: the sandbox is NOTREADY, its containers exit. */
  killSandbox(id: string): void {
    this.sandboxes.get(id)!.state = 'SANDBOX_NOTREADY';
    for (const c of this.containers.values()) if (c.sandbox === id && c.state === 'CONTAINER_RUNNING') this.exit(c.id, 137);
  }

  readonly runtime = {
    ListPodSandbox: async (req: { filter?: { label_selector?: Record<string, string> } }) => ({
      items: [...this.sandboxes.values()]
        .filter((s) => Object.entries(req.filter?.label_selector ?? {}).every(([k, v]) => s.config.labels[k] === v))
        .map((s) => ({ id: s.id, state: s.state, created_at: String(s.created), metadata: s.config.metadata, labels: s.config.labels })),
    }),
    RunPodSandbox: async (req: { config: FakeSandbox['config'] }) => {
      const id = `sb${++this.n}`;
      this.calls.push(`RunPodSandbox ${id} attempt=${req.config.metadata.attempt}`);
      this.sandboxes.set(id, { id, state: 'SANDBOX_READY', created: this.tick(), config: req.config });
      return { pod_sandbox_id: id };
    },
    PodSandboxStatus: async (req: { pod_sandbox_id: string }) => {
      const s = this.sandboxes.get(req.pod_sandbox_id);
      if (!s) throw Object.assign(new Error('not found'), { code: 5, details: 'sandbox not found' });
      return { status: { id: s.id, state: s.state, network: { ip: '10.1.0.5' }, created_at: String(s.created) } };
    },
    StopPodSandbox: async (req: { pod_sandbox_id: string }) => {
      this.calls.push(`StopPodSandbox ${req.pod_sandbox_id}`);
      const s = this.sandboxes.get(req.pod_sandbox_id);
      if (s) s.state = 'SANDBOX_NOTREADY';
      return {};
    },
    RemovePodSandbox: async (req: { pod_sandbox_id: string }) => {
      this.calls.push(`RemovePodSandbox ${req.pod_sandbox_id}`);
      this.sandboxes.delete(req.pod_sandbox_id);
      for (const c of [...this.containers.values()]) if (c.sandbox === req.pod_sandbox_id) this.containers.delete(c.id);
      return {};
    },
    CreateContainer: async (req: { pod_sandbox_id: string; config: FakeContainer['config'] }) => {
      const id = `${req.config.metadata.name}-${++this.n}`;
      this.calls.push(`CreateContainer ${req.config.metadata.name} attempt=${req.config.metadata.attempt}`);
      this.containers.set(id, { id, sandbox: req.pod_sandbox_id, state: 'CONTAINER_CREATED', created: this.tick(), started: 0n, finished: 0n, exitCode: 0, reason: '', config: req.config });
      return { container_id: id };
    },
    StartContainer: async (req: { container_id: string }) => {
      this.calls.push(`StartContainer ${req.container_id}`);
      Object.assign(this.containers.get(req.container_id)!, { state: 'CONTAINER_RUNNING', started: this.tick() });
      return {};
    },
    StopContainer: async (req: { container_id: string; timeout: number }) => {
      this.calls.push(`StopContainer ${req.container_id} timeout=${req.timeout}`);
      const c = this.containers.get(req.container_id);
      if (c?.state === 'CONTAINER_RUNNING') this.exit(c.id, 143);
      return {};
    },
    RemoveContainer: async (req: { container_id: string }) => {
      this.calls.push(`RemoveContainer ${req.container_id}`);
      this.containers.delete(req.container_id);
      return {};
    },
    ListContainers: async (req: { filter?: { pod_sandbox_id?: string; label_selector?: Record<string, string> } }) => ({
      containers: [...this.containers.values()]
        .filter((c) => !req.filter?.pod_sandbox_id || c.sandbox === req.filter.pod_sandbox_id)
        .filter((c) => Object.entries(req.filter?.label_selector ?? {}).every(([k, v]) => c.config.labels[k] === v))
        .map((c) => ({ id: c.id, state: c.state, created_at: String(c.created), labels: c.config.labels })),
    }),
    ContainerStatus: async (req: { container_id: string }) => {
      const c = this.containers.get(req.container_id)!;
      return {
        status: {
          id: c.id,
          state: c.state,
          metadata: c.config.metadata,
          created_at: String(c.created),
          started_at: String(c.started),
          finished_at: String(c.finished),
          exit_code: c.exitCode,
          reason: c.reason,
          message: '',
          image: c.config.image,
          image_ref: c.config.image.image,
          labels: c.config.labels,
          annotations: c.config.annotations,
        },
      };
    },
  };

  readonly image = {
    ImageStatus: async (req: { image: { image: string } }) => ({ image: this.images.has(req.image.image) ? { id: `sha256:${req.image.image}`, uid: null, username: '' } : null }),
    PullImage: async (req: { image: { image: string } }) => {
      this.calls.push(`PullImage ${req.image.image}`);
      if (!this.pullable.has(req.image.image)) throw Object.assign(new Error('pull failed'), { details: `${req.image.image}: not found` });
      this.images.add(req.image.image);
      return { image_ref: req.image.image };
    },
  };
}
