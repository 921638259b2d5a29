/**
 * pods/log's query (kubectl logs' options, PodLogOptions of the core API) and the filter that
 * applies sinceSeconds/sinceTime and limitBytes to the log text an agent sends (pure). The agent
 * reads the file (tail, follow, previous, timestamps); since is decided here from the lines'
 * timestamps, which are asked of the agent and cut off again unless the caller wants them, and
 * limitBytes ends the answer, as the kubelet's LimitWriter does.
 */
import { invalidArgument } from '../../lib/index.js';

/** What `corelet logs` asks for (kubectl logs' options). */
export interface PodLogOptions {
  container?: string;
  follow: boolean;
  tailLines?: number;
  previous?: boolean;
  timestamps?: boolean;
  /** Only lines at or after this time (ms since the epoch): sinceSeconds or sinceTime. */
  sinceTime?: number;
  /** At most this many bytes of log text. */
  limitBytes?: number;
}

const TRUE = new Set(['true', '1']);

function wholeNumber(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalidArgument(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min) throw invalidArgument(`${name} must be at least ${min}, got ${n}`);
  return n;
}

/** The log options of a pods/log query; InvalidArgument naming the parameter for a bad value. */
export function podLogOptions(q: URLSearchParams, now: Date): PodLogOptions {
  const tailLines = wholeNumber(q, 'tailLines', 0);
  const sinceSeconds = wholeNumber(q, 'sinceSeconds', 1);
  const limitBytes = wholeNumber(q, 'limitBytes', 1);
  const sinceTimeText = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTimeText) throw invalidArgument('sinceSeconds, sinceTime: at most one of them may be given');
  let sinceTime: number | undefined;
  if (sinceTimeText) {
    sinceTime = Date.parse(sinceTimeText);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceTimeText) || Number.isNaN(sinceTime)) {
      throw invalidArgument(`sinceTime must be an RFC 3339 time such as 2024-05-01T10:00:00Z, got ${JSON.stringify(sinceTimeText)}`);
    }
  } else if (sinceSeconds !== undefined) {
    sinceTime = now.getTime() - sinceSeconds * 1000;
  }
  const flag = (name: string) => TRUE.has(q.get(name) ?? '');
  const container = q.get('container');
  return {
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    ...(container ? { container } : {}),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

/** The millisecond time of a log line's RFC 3339 (nano) timestamp prefix; NaN when it has none. */
function lineTime(line: string): number {
  const space = line.indexOf(' ');
  return space > 0 ? Date.parse(line.slice(0, space)) : Number.NaN;
}

/**
 * Turns the agent's log text into the answer's: whole lines at or after sinceTime (their timestamp
 * cut off unless kept), then at most limitBytes bytes in all. Text is pushed as it comes (lines may
 * be split across pushes); done says the limit is reached and nothing more will be written.
 */
export class LogFilter {
  private partial = '';
  private sent = 0;
  private over = false;

  constructor(private readonly opts: { sinceTime?: number; keepTimestamps: boolean; limitBytes?: number }) {}

  /** Whether the agent must send timestamps for this filter. */
  static needsTimestamps(o: Pick<PodLogOptions, 'sinceTime' | 'timestamps'>): boolean {
    return o.timestamps === true || o.sinceTime !== undefined;
  }

  get done(): boolean {
    return this.over;
  }

  /** The text to send for this piece of the log ('' when nothing yet). */
  push(text: string): string {
    if (this.over) return '';
    let out = text;
    if (this.opts.sinceTime !== undefined) {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      out = lines
        .filter((l) => !(lineTime(l) < this.opts.sinceTime!))
        .map((l) => `${this.opts.keepTimestamps ? l : l.slice(l.indexOf(' ') + 1)}\n`)
        .join('');
    }
    return this.limit(out);
  }

  /** What is left at the end (a last line without a newline). */
  end(): string {
    if (this.over || this.partial === '') return '';
    const l = this.partial;
    this.partial = '';
    if (lineTime(l) < this.opts.sinceTime!) return '';
    return this.limit(this.opts.keepTimestamps ? l : l.slice(l.indexOf(' ') + 1));
  }

  private limit(text: string): string {
    if (this.opts.limitBytes === undefined || text === '') return text;
    const room = this.opts.limitBytes - this.sent;
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length < room) {
      this.sent += bytes.length;
      return text;
    }
    this.over = true;
    this.sent = this.opts.limitBytes;
    // Cut before a character that would not fit whole.
    let end = room;
    while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    return bytes.subarray(0, end).toString('utf8');
  }
}
