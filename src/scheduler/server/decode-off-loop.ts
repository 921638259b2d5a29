/**
 * Manifest decoding off the event loop. Parsing and validating YAML costs about 1 s per MiB on this
 * project's machines (1,700 Deployments); done on the event loop it held every other request, the
 * agents' heartbeats included, for that long. Bodies over {@link INLINE_DECODE_BYTES} are decoded in
 * a worker thread (at most {@link MAX_DECODE_WORKERS} at once, at most {@link MAX_DECODE_WAITING} waiting
 * their turn, each stopped after {@link DECODE_TIMEOUT_MS}), so the
 * loop only receives the finished objects; small ones, nearly all requests, are decoded inline, where
 * a worker's start (tens of ms) would cost more than the decoding.
 */
import { Worker } from 'node:worker_threads';
import { decodeObjects, ManifestError, type DecodedObjects } from '../../api/index.js';
import { CoreletError, invalidArgument, unavailable, type ErrorKind } from '../../lib/index.js';

/** Bodies up to this size are decoded on the event loop (a few ms at most). */
export const INLINE_DECODE_BYTES = 64 * 1024;
/** The heap a decoding worker may use. */
const DECODE_HEAP_MB = 256;
/** Worker threads decoding at once (the machine has few cores; the control loop needs one). */
export const MAX_DECODE_WORKERS = 2;
/**
 * Requests that may wait for a worker (each holds its body, up to 3 MiB). More are refused with 429
 * Too Many Requests and a Retry-After (as kube-apiserver's max-in-flight limit answers), so callers
 * cannot pile up bodies in the scheduler's memory.
 */
export const MAX_DECODE_WAITING = 8;
/** A decoding worker that has not answered after this long is terminated (503). */
export const DECODE_TIMEOUT_MS = 30_000;
/** The Retry-After of a refusal for a full queue, in seconds. */
const RETRY_AFTER_SECONDS = 1;

/** The decoder's queue is full: HTTP 429 Too Many Requests with Retry-After. */
export class DecoderBusyError extends CoreletError {
  constructor(readonly retryAfterSeconds: number, waiting: number) {
    super('Unavailable', `too many manifests are waiting to be decoded (${waiting}): retry in ${retryAfterSeconds}s`);
  }
}

/** At most `workers` decodings at once and `maxWaiting` waiting; more are refused (DecoderBusyError). */
export class DecodeSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    readonly workers: number,
    readonly maxWaiting: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.workers) {
      if (this.waiting.length >= this.maxWaiting) throw new DecoderBusyError(RETRY_AFTER_SECONDS, this.waiting.length);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

const slots = new DecodeSlots(MAX_DECODE_WORKERS, MAX_DECODE_WAITING);

type Reply = { ok: DecodedObjects } | { error: { kind: ErrorKind; message: string; problems?: string[]; warnings?: string[]; undecodable?: boolean } };

function inWorker(text: string, source: string, timeoutMs: number): Promise<DecodedObjects> {
  return new Promise((resolve, reject) => {
    // A bounded heap: a 3 MiB manifest needs a few tens of MiB; one that needs more is refused, not the scheduler's memory.
    const worker = new Worker(new URL('./decode-thread.js', import.meta.url), { workerData: { text, source }, resourceLimits: { maxOldGenerationSizeMb: DECODE_HEAP_MB } });
    let settled = false;
    // A manifest built to be slow (deep aliases, pathological YAML) must not hold a worker slot forever.
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(unavailable(`${source}: decoding took more than ${timeoutMs / 1000}s and was stopped: split the manifest into smaller files, or retry when the scheduler is less busy`));
    }, timeoutMs);
    worker.once('exit', () => clearTimeout(timer));
    worker.once('message', (reply: Reply) => {
      if (settled) return;
      settled = true;
      if ('ok' in reply) resolve(reply.ok);
      else if (reply.error.problems) reject(new ManifestError(reply.error.problems, reply.error.warnings, reply.error.undecodable));
      else reject(new CoreletError(reply.error.kind, reply.error.message));
    });
    worker.once('error', (err) => {
      if (settled) return;
      settled = true;
      if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') reject(invalidArgument(`${source}: decoding this manifest needs more than ${DECODE_HEAP_MB} MiB of memory`));
      else reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new CoreletError('Internal', `the manifest decoder exited with code ${code}`));
    });
  });
}

/**
 * {@link decodeObjects}, in a worker thread when the text is big. Rejects with DecoderBusyError when
 * too many wait for a worker, and with Unavailable when the worker takes more than timeoutMs.
 */
export async function decodeObjectsOffLoop(text: string, source: string, opts: { timeoutMs?: number; slots?: DecodeSlots } = {}): Promise<DecodedObjects> {
  if (Buffer.byteLength(text) <= INLINE_DECODE_BYTES) return decodeObjects(text, source);
  return (opts.slots ?? slots).run(() => inWorker(text, source, opts.timeoutMs ?? DECODE_TIMEOUT_MS));
}
