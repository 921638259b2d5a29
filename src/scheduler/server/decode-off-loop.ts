/**
 * Manifest decoding off the event loop. Parsing and validating YAML costs about 1 s per MiB on this
 * project's machines (1,700 Deployments); done on the event loop it held every other request, the
 * agents' heartbeats included, for that long. Bodies over {@link INLINE_DECODE_BYTES} are decoded in
 * a worker thread (at most {@link MAX_DECODE_WORKERS} at once, the others wait their turn), so the
 * loop only receives the finished objects; small ones, nearly all requests, are decoded inline, where
 * a worker's start (tens of ms) would cost more than the decoding.
 */
import { Worker } from 'node:worker_threads';
import { decodeObjects, ManifestError, type DecodedObjects } from '../../api/index.js';
import { CoreletError, invalidArgument, type ErrorKind } from '../../lib/index.js';

/** Bodies up to this size are decoded on the event loop (a few ms at most). */
export const INLINE_DECODE_BYTES = 64 * 1024;
/** The heap a decoding worker may use. */
const DECODE_HEAP_MB = 256;
/** Worker threads decoding at once (the machine has few cores; the control loop needs one). */
export const MAX_DECODE_WORKERS = 2;

let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_DECODE_WORKERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

type Reply = { ok: DecodedObjects } | { error: { kind: ErrorKind; message: string; problems?: string[]; warnings?: string[] } };

function inWorker(text: string, source: string): Promise<DecodedObjects> {
  return new Promise((resolve, reject) => {
    // A bounded heap: a 3 MiB manifest needs a few tens of MiB; one that needs more is refused, not the scheduler's memory.
    const worker = new Worker(new URL('./decode-thread.js', import.meta.url), { workerData: { text, source }, resourceLimits: { maxOldGenerationSizeMb: DECODE_HEAP_MB } });
    let settled = false;
    worker.once('message', (reply: Reply) => {
      settled = true;
      if ('ok' in reply) resolve(reply.ok);
      else if (reply.error.problems) reject(new ManifestError(reply.error.problems, reply.error.warnings));
      else reject(new CoreletError(reply.error.kind, reply.error.message));
    });
    worker.once('error', (err) => {
      settled = true;
      if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') reject(invalidArgument(`${source}: decoding this manifest needs more than ${DECODE_HEAP_MB} MiB of memory`));
      else reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new CoreletError('Internal', `the manifest decoder exited with code ${code}`));
    });
  });
}

/** {@link decodeObjects}, in a worker thread when the text is big. */
export async function decodeObjectsOffLoop(text: string, source: string): Promise<DecodedObjects> {
  if (Buffer.byteLength(text) <= INLINE_DECODE_BYTES) return decodeObjects(text, source);
  return slot(() => inWorker(text, source));
}
