/**
 * Container logs as `corelet logs` prints them. The runtime (conmon) writes each container's output
 * in the CRI log format, one entry per line: "TIMESTAMP STREAM TAG TEXT", where STREAM is stdout or
 * stderr and TAG is F (the text ends a line) or P (a partial line, continued by the next entry of the
 * same stream). The pure part turns those entries back into the program's lines; readContainerLog
 * reads a file once or follows it as it grows.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, notFound } from '../../lib/index.js';

/** One entry of a CRI log file. */
export interface CriLogEntry {
  /** RFC 3339 with nanoseconds, as the runtime wrote it. */
  timestamp: string;
  stream: 'stdout' | 'stderr';
  /** True for P: the line goes on in the stream's next entry. */
  partial: boolean;
  text: string;
}

const ENTRY_RE = /^(\S+) (stdout|stderr) ([PF])(?: (.*))?$/s;

/** Parses one line of a CRI log file (without its newline); undefined when it is not in that format. */
export function parseCriLogLine(line: string): CriLogEntry | undefined {
  const m = ENTRY_RE.exec(line);
  if (!m) return undefined;
  return { timestamp: m[1]!, stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', text: m[4] ?? '' };
}

/** The entry's time as kubectl shows it: UTC written with Z (conmon writes +00:00). */
export function formatLogTimestamp(timestamp: string): string {
  return timestamp.endsWith('+00:00') ? `${timestamp.slice(0, -6)}Z` : timestamp;
}

/** How lines are printed. */
export interface LogFormat {
  /** Prefix each line with the time its first part was logged. */
  timestamps?: boolean;
}

const NEWLINE = 0x0a;

/**
 * Turns the bytes of a CRI log file into the program's output lines, in any pieces: the unfinished
 * last line of a piece waits for the rest, and P entries wait for the entry that ends their line
 * (per stream, so stdout and stderr never mix inside a line). A line that is not a CRI entry is
 * printed as it is rather than lost.
 */
export class CriLogDecoder {
  private rest: Buffer = Buffer.alloc(0);
  private readonly partial = new Map<string, { timestamp: string; text: string }>();

  constructor(private readonly format: LogFormat = {}) {}

  /** The lines this piece of the file completes, each ending in "\n". */
  push(chunk: Buffer): string[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: string[] = [];
    let start = 0;
    for (let nl = data.indexOf(NEWLINE, start); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.entry(data.subarray(start, nl).toString('utf8'), out);
      start = nl + 1;
    }
    // Copied: the caller reuses its read buffer.
    this.rest = Buffer.from(data.subarray(start));
    return out;
  }

  /** At the end of a log: the unfinished rest (a last entry without newline, partial lines), as it is. */
  flush(): string[] {
    const out: string[] = [];
    if (this.rest.length > 0) this.entry(this.rest.toString('utf8'), out);
    this.rest = Buffer.alloc(0);
    for (const p of this.partial.values()) out.push(this.line(p.timestamp, p.text));
    this.partial.clear();
    return out;
  }

  private entry(raw: string, out: string[]): void {
    if (raw === '') return;
    const e = parseCriLogLine(raw);
    if (!e) {
      out.push(`${raw}\n`);
      return;
    }
    const before = this.partial.get(e.stream);
    if (e.partial) {
      this.partial.set(e.stream, { timestamp: before?.timestamp ?? e.timestamp, text: (before?.text ?? '') + e.text });
      return;
    }
    this.partial.delete(e.stream);
    out.push(`${this.line(before?.timestamp ?? e.timestamp, (before?.text ?? '') + e.text)}\n`);
  }

  private line(timestamp: string, text: string): string {
    return this.format.timestamps ? `${formatLogTimestamp(timestamp)} ${text}` : text;
  }
}

/** Keeps the last n lines pushed into it. */
export class LastLines {
  private lines: string[] = [];

  constructor(private readonly n: number) {}

  push(lines: readonly string[]): void {
    if (this.n === 0) return;
    this.lines.push(...lines);
    // Trim in batches: one splice per n lines keeps pushing cheap.
    if (this.lines.length > 2 * this.n) this.lines.splice(0, this.lines.length - this.n);
  }

  take(): string[] {
    return this.lines.slice(-this.n || this.lines.length);
  }
}

/**
 * Splits text into pieces of at most maxBytes UTF-8 bytes, never inside a character. Empty text
 * gives no pieces.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return text === '' ? [] : [text];
  const bytes = Buffer.from(text, 'utf8');
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // Back off continuation bytes (10xxxxxx) so the cut falls between characters.
    if (end < bytes.length) while (end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    pieces.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return pieces;
}

/** Options of {@link readContainerLog}. */
export interface ReadLogOptions extends LogFormat {
  /** The CRI log file. */
  path: string;
  /** Keep reading as the file grows until the container stops running (or signal aborts). */
  follow: boolean;
  /** Only the last N lines of what the file holds now (follow then goes on from its end). */
  tailLines?: number;
  /** Whether the container still runs; with follow, the log ends once it does not and the file is read. */
  isRunning: () => Promise<boolean>;
  /** Receives the text; awaited, so a slow reader slows the reading. */
  write: (text: string) => Promise<void>;
  signal: AbortSignal;
  /** Called once the file is open, before anything is written (an error before it means no log at all). */
  onOpen?: () => void;
  /** How often a followed file is checked for growth; 250 ms. */
  pollMs?: number;
  /** How often a followed container is asked whether it still runs; 1 s. */
  runningCheckMs?: number;
}

const READ_BYTES = 64 * 1024;

/** Opens the log; NotFound (saying which file) when it is not there. */
async function openLog(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw notFound(`the log file ${path} does not exist (the runtime removed it, or the container never wrote one)`, err);
    throw err;
  }
}

/**
 * Writes the container's log: what the file holds (or its last tailLines lines), then, with follow,
 * what is added to it, until the container stops running or signal aborts. A file replaced at the
 * same path (the runtime reopened or rotated the log) is read on from its start; a truncated one too.
 */
export async function readContainerLog(opts: ReadLogOptions): Promise<void> {
  const { path, signal } = opts;
  const pollMs = opts.pollMs ?? 250;
  const runningCheckMs = opts.runningCheckMs ?? 1000;
  const decoder = new CriLogDecoder(opts);
  const buf = Buffer.alloc(READ_BYTES);
  let fh = await openLog(path);
  let pos = 0;
  let sink: (lines: string[]) => Promise<void> = async (lines) => {
    if (lines.length > 0) await opts.write(lines.join(''));
  };
  const tail = opts.tailLines !== undefined ? new LastLines(opts.tailLines) : undefined;
  const direct = sink;
  if (tail) sink = async (lines) => tail.push(lines);

  /** Reads to the current end of the file; returns how many bytes it read. */
  const readToEnd = async (): Promise<number> => {
    let total = 0;
    while (!signal.aborted) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      total += bytesRead;
      await sink(decoder.push(buf.subarray(0, bytesRead)));
    }
    return total;
  };

  try {
    opts.onOpen?.();
    await readToEnd();
    if (!opts.follow) await sink(decoder.flush());
    if (tail) {
      await direct(tail.take());
      sink = direct;
    }
    if (!opts.follow) return;

    // Asked at once when the file is quiet: a container that already stopped ends the log now.
    let lastCheck = 0;
    while (!signal.aborted) {
      if ((await readToEnd()) > 0) continue;
      const [atPath, current] = await Promise.all([stat(path).catch(() => undefined), fh.stat()]);
      if (atPath && (atPath.ino !== current.ino || atPath.dev !== current.dev)) {
        // A new file at the path: finish the old one (the runtime may have written to it since), go on with the new one.
        await readToEnd();
        await fh.close();
        fh = await openLog(path);
        pos = 0;
        continue;
      }
      if (current.size < pos) {
        pos = 0;
        continue;
      }
      if (Date.now() - lastCheck >= runningCheckMs) {
        lastCheck = Date.now();
        if (!(await opts.isRunning())) {
          // It stopped: what it wrote before it exited is in the file now.
          await readToEnd();
          await sink(decoder.flush());
          return;
        }
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}
