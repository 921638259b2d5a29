import { createRequire } from 'node:module';
import type { Logger } from 'pino';

export type { Logger };

/**
 * pino, loaded on the first logger: lib/ is imported by every CLI command, and most of them log
 * nothing (pino and its stream modules are a good part of a short command's start-up).
 */
let loaded: typeof import('pino') | undefined;
const pinoModule = (): typeof import('pino') => (loaded ??= createRequire(import.meta.url)('pino') as typeof import('pino'));

/** The process logger: JSON lines on stderr; level from CORELET_LOG_LEVEL (default info). */
export function createLogger(name: string, level = process.env.CORELET_LOG_LEVEL ?? 'info'): Logger {
  const { pino } = pinoModule();
  return pino({ name, level }, pino.destination(2));
}

let silent: Logger | undefined;

/**
 * A logger that drops everything (unit tests, components given no logger). The pino logger behind
 * it is made on its first use, so importing lib/ loads no pino.
 */
export const silentLogger: Logger = new Proxy({} as Logger, {
  get(_target, prop) {
    silent ??= pinoModule().pino({ level: 'silent' });
    const value: unknown = Reflect.get(silent, prop, silent);
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(silent) : value;
  },
});
