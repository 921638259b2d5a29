import type { Logger } from '../../lib/index.js';

/**
 * Runs one step of a pod start and logs its ms at debug level ("pod step"): bench/pod-start.ts
 * builds its one-pod trace from these lines. Costs one Date.now() pair when debug is off.
 */
export async function podStep<T>(logger: Logger, id: string, step: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    if (logger.isLevelEnabled('debug')) logger.debug({ id, step, ms: Date.now() - started }, 'pod step');
  }
}
