/**
 * Layers applied off the event loop. Applying a layer (gunzip, the diff id's sha256, tar parsing and
 * the file writes) costs ~3.5 ms of CPU per MiB here; on the event loop it competes with the
 * downloads of the next layers (socket reads, the blob digest, blob writes) for one core. In a
 * worker thread the two run on two cores. A worker's start costs ~70 ms of CPU (and its first layer
 * runs cold code) and ~10 MiB while it lives, so the image store uses one only for images of
 * {@link WORKER_MIN_BYTES} or more, keeps it for {@link WORKER_IDLE_MS} after its last layer (pulls
 * come in bursts: a pod's images, a node's first minutes) and stops it then: an idle runtime has no
 * worker. Same verification and layer safety: the worker runs applyLayer.
 */
import { Worker } from 'node:worker_threads';
import { CoreletError, type ErrorKind, type Logger } from '../../lib/index.js';
import type { ApplyLayerOptions, ApplyLayerResult } from './layer-apply.js';

/** Images whose compressed layers total less than this are applied on the event loop. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;
/** An idle layer worker is stopped after this long. */
export const WORKER_IDLE_MS = 10_000;

/** A line applyLayer logged in the worker. */
export interface LoggedLine {
  level: 'warn' | 'info' | 'debug' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** One layer to apply: the blob file onto root. */
export interface LayerRequest {
  id: number;
  root: string;
  file: string;
  preserveOwner: boolean;
  diffId?: string;
  what: string;
}

export type LayerReply =
  | { id: number; ok: ApplyLayerResult; logs: LoggedLine[] }
  | { id: number; error: { kind: ErrorKind; message: string }; logs: LoggedLine[] };

/** A worker thread applying layers one request at a time. close() when done. */
export class LayerWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: ApplyLayerResult) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private failure: unknown;

  constructor(private readonly logger: Logger) {
    this.worker = new Worker(new URL('./layer-thread.js', import.meta.url));
    this.worker.on('message', (reply: LayerReply) => {
      for (const l of reply.logs) this.logger[l.level](l.obj, l.msg);
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ('ok' in reply) p.resolve(reply.ok);
      else p.reject(new CoreletError(reply.error.kind, reply.error.message));
    });
    const fail = (err: unknown) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new CoreletError('Internal', `the layer worker exited with code ${code}`)));
  }

  /** True once the worker died or was closed: make a new one. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Whether the worker keeps the process alive (only while it has work). */
  ref(on: boolean): void {
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  /** Applies the layer blob at file onto root (see applyLayer). */
  apply(root: string, file: string, opts: Omit<ApplyLayerOptions, 'logger'>): Promise<ApplyLayerResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: LayerRequest = { id, root, file, preserveOwner: opts.preserveOwner, diffId: opts.diffId, what: opts.what };
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new CoreletError('Internal', 'the layer worker was closed');
    await this.worker.terminate();
  }
}
