/**
 * What `corelet images pull` prints while it pulls: on a terminal one live line rewritten as bytes
 * arrive; otherwise (a file, a pipe, CI logs) a plain line when the pull starts fetching, whenever a
 * layer is fetched or applied, and at most every intervalMs between. Each line says the bytes done
 * of the total, the layers fetched and applied of the total, and the download rate over the last
 * few seconds; the last line names the image id, the size, the time and the mean rate.
 */
import type { PullProgressMessage } from '../runtime/index.js';
import type { ProgressOutput } from './progress.js';

/** Options of {@link createPullPrinter}. */
export interface PullPrinterOptions {
  /** Milliseconds between plain lines when only bytes changed (default 1000). */
  intervalMs?: number;
  /** The clock (tests pass a fake). */
  now?: () => number;
}

/** Turns progress messages into what the user sees. */
export interface PullPrinter {
  update(m: PullProgressMessage): void;
  /** Ends the live line; prints the summary of the done message. */
  finish(m: PullProgressMessage): void;
  /** Ends the live line (the pull failed; the caller prints the error). */
  abandon(): void;
}

const MiB = 1024 * 1024;
const RATE_WINDOW_MS = 3000;

/** "42.0 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** The line for one progress message at a given rate (bytes/s; undefined: not known yet). */
export function pullLine(m: PullProgressMessage, rate: number | undefined): string {
  if (m.phase === 'resolving') return `${m.image}: resolving`;
  // The rate while bytes flow; once all are in, what is left is applying the layers.
  const tail = m.bytes_fetched >= m.bytes_total ? '' : `, ${rate === undefined ? '-' : `${mib(rate)}/s`}`;
  return (
    `${m.image}: ${mib(m.bytes_fetched)} of ${mib(m.bytes_total)}, ` +
    `layers ${m.layers_fetched}/${m.layers_total} fetched, ${m.layers_applied}/${m.layers_total} applied${tail}`
  );
}

export function createPullPrinter(out: ProgressOutput, opts: PullPrinterOptions = {}): PullPrinter {
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 1000;
  const started = now();
  let fetchStart: number | undefined;
  const samples: { t: number; bytes: number }[] = [];
  let lastPrinted: PullProgressMessage | undefined;
  let lastPrintedAt = 0;
  let live = false;

  const rate = (m: PullProgressMessage): number | undefined => {
    const t = now();
    samples.push({ t, bytes: m.bytes_fetched });
    while (samples.length > 2 && samples[1]!.t <= t - RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const dt = t - first.t;
    return dt >= 200 ? ((m.bytes_fetched - first.bytes) * 1000) / dt : undefined;
  };

  return {
    update(m) {
      if (m.phase === 'fetching' && fetchStart === undefined) fetchStart = now();
      const line = pullLine(m, m.phase === 'fetching' ? rate(m) : undefined);
      if (out.isTTY) {
        out.write(`\r\x1b[2K${line}`);
        live = true;
        return;
      }
      const p = lastPrinted;
      const milestone = !p || p.phase !== m.phase || p.layers_fetched !== m.layers_fetched || p.layers_applied !== m.layers_applied;
      const due = p !== undefined && m.bytes_fetched !== p.bytes_fetched && now() - lastPrintedAt >= intervalMs;
      if (!milestone && !due) return;
      out.write(`${line}\n`);
      lastPrinted = m;
      lastPrintedAt = now();
    },
    finish(m) {
      if (live) out.write('\r\x1b[2K');
      live = false;
      const seconds = Math.max(now() - started, 1) / 1000;
      const fetchSeconds = Math.max(now() - (fetchStart ?? started), 1) / 1000;
      out.write(
        `pulled ${m.image} ${m.image_id}: ${mib(m.bytes_total)} in ${m.layers_total} layer${m.layers_total === 1 ? '' : 's'}, ` +
          `${seconds.toFixed(1)} s, ${mib(m.bytes_total / fetchSeconds)}/s\n`,
      );
    },
    abandon() {
      if (live) out.write('\n');
      live = false;
    },
  };
}
