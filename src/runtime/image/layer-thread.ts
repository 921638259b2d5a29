/**
 * The worker-thread side of {@link LayerWorker} (layer-worker.ts): applies layer blobs (files in the
 * blob store) onto a root with {@link applyLayer}, one request at a time, posting the result or the
 * error's kind and message back, with what applyLayer logged (the parent logs it).
 */
import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CoreletError, messageOf, type Logger } from '../../lib/index.js';
import { applyLayer } from './layer-apply.js';
import type { LayerRequest, LayerReply, LoggedLine } from './layer-worker.js';

parentPort?.on('message', (req: LayerRequest) => {
  const logs: LoggedLine[] = [];
  const line = (level: LoggedLine['level']) => (obj: Record<string, unknown>, msg?: string) => logs.push({ level, obj, msg: msg ?? '' });
  const logger = { warn: line('warn'), info: line('info'), debug: line('debug'), error: line('error') } as unknown as Logger;
  const input = createReadStream(req.file, { highWaterMark: 1 << 20 });
  applyLayer(req.root, input, { logger, preserveOwner: req.preserveOwner, diffId: req.diffId, what: req.what })
    .then(
      (ok): LayerReply => ({ id: req.id, ok, logs }),
      (err: unknown): LayerReply => ({ id: req.id, error: { kind: err instanceof CoreletError ? err.kind : 'Internal', message: messageOf(err) }, logs }),
    )
    .then((reply) => {
      input.destroy();
      parentPort?.postMessage(reply);
    });
});
