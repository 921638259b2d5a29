/**
 * The worker-thread side of {@link decodeObjectsOffLoop} (decode-off-loop.ts): decodes one manifest
 * and posts the objects, or the error's kind, message and (for a ManifestError) problems back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeObjects, ManifestError } from '../../api/index.js';
import { CoreletError, messageOf } from '../../lib/index.js';

const { text, source } = workerData as { text: string; source: string };
try {
  parentPort?.postMessage({ ok: decodeObjects(text, source) });
} catch (err) {
  parentPort?.postMessage({
    error: {
      kind: err instanceof CoreletError ? err.kind : 'Internal',
      message: messageOf(err),
      ...(err instanceof ManifestError ? { problems: err.problems, warnings: err.warnings, undecodable: err.undecodable } : {}),
    },
  });
}
