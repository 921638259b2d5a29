/**
 * One pass of the scheduler's control loop: the node lifecycle controller (when its 1 s tick is due),
 * every workload controller, then the scheduler. Each part runs even when the one before it threw,
 * and objects that failed inside a part are logged by name: one bad object (a pod no code foresaw)
 * never stops scheduling, the other controllers, or node lifecycle for the whole cluster.
 */
import { messageOf, type Logger } from '../lib/index.js';
import type { ControllerFailure } from './controllers/index.js';

export interface ControlPassParts {
  /** Whether the node lifecycle controller runs in this pass (its clock-driven tick is due). */
  periodic: boolean;
  lifecycle: () => { failures: ControllerFailure[] };
  /** The workload controllers; undefined when they stopped early (the scheduler is closing). */
  reconcile: () => Promise<{ failures: ControllerFailure[] } | undefined>;
  schedule: () => void;
  /** True once the daemon is closing: nothing more is started. */
  stopped: () => boolean;
  logger: Pick<Logger, 'error'>;
}

function logFailures(logger: Pick<Logger, 'error'>, part: string, failures: ControllerFailure[]): void {
  for (const f of failures) logger.error({ object: f.object, err: f.error }, `${part}: ${f.object} failed (retried next pass)`);
}

export async function runControlPass(p: ControlPassParts): Promise<void> {
  if (p.periodic) {
    try {
      logFailures(p.logger, 'node lifecycle', p.lifecycle().failures);
    } catch (err) {
      p.logger.error({ err: messageOf(err) }, 'node lifecycle pass failed');
    }
  }
  if (p.stopped()) return;
  try {
    const done = await p.reconcile();
    if (done === undefined) return;
    logFailures(p.logger, 'controllers', done.failures);
  } catch (err) {
    p.logger.error({ err: messageOf(err) }, 'controllers pass failed');
  }
  if (p.stopped()) return;
  try {
    p.schedule();
  } catch (err) {
    p.logger.error({ err: messageOf(err) }, 'scheduling pass failed');
  }
}
