/**
 * Waiting with feedback: a spinner line that rewrites itself on a terminal, plain lines (one per
 * change) when the output is a file or pipe; durations like "90s", "5m", "1h30m"; and a poll loop
 * with a deadline.
 */

/** Where progress goes (process.stdout, or a fake in tests). */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** A progress line. */
export interface Progress {
  /** Shows what is being waited for now. */
  update(message: string): void;
  /** Ends the progress line, leaving message (if any) as a final line. */
  done(message?: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A spinner on a TTY, else a line per distinct message. */
export function createProgress(out: ProgressOutput): Progress {
  let message = '';
  if (!out.isTTY) {
    return {
      update(m) {
        if (m !== message) out.write(`${m}\n`);
        message = m;
      },
      done(m) {
        if (m !== undefined && m !== message) out.write(`${m}\n`);
      },
    };
  }
  let frame = 0;
  let started = Date.now();
  const draw = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    out.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${message} (${seconds}s)`);
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    update(m) {
      if (timer === undefined) {
        started = Date.now();
        timer = setInterval(draw, 100);
        timer.unref(); // a forgotten spinner must not keep the CLI alive
      }
      message = m;
      draw();
    },
    done(m) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      out.write('\r\x1b[2K');
      if (m !== undefined) out.write(`${m}\n`);
    },
  };
}

/**
 * "90s", "5m", "1h30m", "250ms" or a bare number of seconds → milliseconds. 0 means "no limit" to
 * the callers that allow it.
 */
export function parseDuration(text: string, flag: string): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]];
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) throw new Error(`${flag}: "${text}" is not a duration; use e.g. 30s, 5m or 1h`);
  return Math.round(total);
}

/** What a check found: done, still waiting (message says for what), or failed for good. */
export interface CheckResult {
  done: boolean;
  message: string;
  failed?: boolean;
}

/**
 * Polls check every intervalMs until it is done (resolves with its last message), fails (rejects
 * with its message) or timeoutMs passes (rejects saying what it was still waiting for; 0 = wait
 * for ever). Progress shows the latest message.
 */
export async function pollUntil(
  check: () => Promise<CheckResult>,
  opts: { timeoutMs: number; intervalMs?: number; progress: Progress; what: string },
): Promise<string> {
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  for (;;) {
    const r = await check();
    if (r.done) {
      opts.progress.done();
      return r.message;
    }
    if (r.failed) {
      opts.progress.done();
      throw new Error(r.message);
    }
    if (Date.now() >= deadline) {
      opts.progress.done();
      throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${opts.what}: ${r.message}`);
    }
    opts.progress.update(r.message);
    await new Promise((resolve) => setTimeout(resolve, Math.min(opts.intervalMs ?? 1000, Math.max(0, deadline - Date.now()))));
  }
}
