import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stderr; level from CORELET_LOG_LEVEL (default info). */
export function createLogger(name: string, level = process.env.CORELET_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
