/**
 * How the proxy's nft input reaches the kernel: through corelet-nft (native-scripts/corelet-nft.c),
 * a long-lived process around libnftables that keeps one nft context, or, when that binary is not
 * built, through one `nft -f -` process per call. Starting nft (exec, library load, netns join)
 * was most of a one-change sync at 1,000 Services (bench/README.md, "Service proxy").
 *
 * corelet-nft's framing (lengths 32-bit big-endian): request = LEN, FLAGS (bit 0 JSON output,
 * bit 1 terse), the nft input (LEN-1 bytes, no NUL, LEN ≤ 64 MiB); answer = LEN, STATUS (0 applied,
 * 1 refused, 2 bad request), OUTLEN, output, error text (LEN ≤ 256 MiB). Both ends check the caps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa, invalidArgument, unavailable } from '../../lib/index.js';

/** dist/bin/corelet-nft, built by native-scripts/build-native.sh (from dist/src/agent/proxy/). */
export const DEFAULT_NFT_HELPER = fileURLToPath(new URL('../../../bin/corelet-nft', import.meta.url));

/** The largest request corelet-nft reads (the FLAGS byte included) and the largest answer it writes. */
export const NFT_HELPER_MAX_REQUEST = 64 * 1024 * 1024;
export const NFT_HELPER_MAX_ANSWER = 256 * 1024 * 1024;

export interface NftRunOptions {
  /** JSON output (`nft -j`). */
  json?: boolean;
  /** Terse output, without set and map elements (`nft -t`). */
  terse?: boolean;
}

export interface NftRunResult {
  /** nft applied the input (exit 0). */
  ok: boolean;
  stdout: string;
  /** nft's error text ("/dev/stdin:LINE:COL: Error: ..."). */
  stderr: string;
}

export interface NftRunner {
  /** Runs one nft input (one transaction, or a `list` command). */
  run(input: string, opts?: NftRunOptions): Promise<NftRunResult>;
  close(): Promise<void>;
}

/**
 * The process died (or was killed after the timeout) while it held the request: the kernel has
 * the whole transaction or none of it, and which is not known.
 */
export class NftHelperLost extends Error {}

/** `nft [-t] -f -` per call (`nft -j [-t] COMMAND` for a JSON listing). */
export class NftExecRunner implements NftRunner {
  constructor(
    private readonly nft: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  async run(input: string, opts: NftRunOptions = {}): Promise<NftRunResult> {
    const [file, ...prefix] = this.nft;
    if (file === undefined) throw unavailable('nft: an empty command');
    // JSON output (a `list` command) takes the command as arguments: nft 1.0.6 reads `-f -` into a
    // buffer only without -j; with -j it opens /dev/stdin, which fails on Node's socket stdin (ENXIO)
    const args = opts.json ? [...prefix, '-j', ...(opts.terse ? ['-t'] : []), ...input.trim().split(/\s+/)] : [...prefix, ...(opts.terse ? ['-t'] : []), '-f', '-'];
    const r = await execa(file, args, { reject: false, timeout: this.timeoutMs, forceKillAfterDelay: 2000, ...(opts.json ? {} : { input }) });
    if ((r as { code?: string }).code === 'ENOENT') throw unavailable(`${file} is not installed (the Debian package nftables)`);
    if (r.timedOut) throw new NftHelperLost(`${[file, ...args].join(' ')}${opts.json ? '' : ` (${input.split('\n', 1)[0]})`} did not finish in ${this.timeoutMs} ms; killed`);
    return { ok: r.exitCode === 0, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  async close(): Promise<void> {}
}

/** Encodes one corelet-nft request (throws naming the cap or the NUL byte). */
export function encodeNftRequest(input: string, opts: NftRunOptions = {}): Buffer {
  const text = Buffer.from(input, 'utf8');
  if (text.includes(0)) throw invalidArgument('nft input: a NUL byte');
  const len = text.length + 1;
  if (len > NFT_HELPER_MAX_REQUEST) throw invalidArgument(`nft input: ${text.length} bytes, over corelet-nft's ${NFT_HELPER_MAX_REQUEST - 1}`);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(len, 0);
  head[4] = (opts.json ? 1 : 0) | (opts.terse ? 2 : 0);
  return Buffer.concat([head, text]);
}

/**
 * Takes the complete answers off the front of `buf`: the answers and what is left (a partial
 * answer). Throws on an answer that breaks the framing (over the cap, an output length past its end,
 * an unknown status).
 */
export function decodeNftAnswers(buf: Buffer): { answers: { status: number; stdout: string; stderr: string }[]; rest: Buffer } {
  const answers: { status: number; stdout: string; stderr: string }[] = [];
  let at = 0;
  while (buf.length - at >= 4) {
    const len = buf.readUInt32BE(at);
    if (len < 5 || len > NFT_HELPER_MAX_ANSWER) throw new Error(`corelet-nft: an answer of ${len} bytes (5 to ${NFT_HELPER_MAX_ANSWER})`);
    if (buf.length - at - 4 < len) break;
    const body = buf.subarray(at + 4, at + 4 + len);
    const status = body[0]!;
    if (status > 2) throw new Error(`corelet-nft: an answer with status ${status}`);
    const outLen = body.readUInt32BE(1);
    if (outLen > len - 5) throw new Error(`corelet-nft: an output of ${outLen} bytes in an answer of ${len}`);
    answers.push({ status, stdout: body.toString('utf8', 5, 5 + outLen), stderr: body.toString('utf8', 5 + outLen) });
    at += 4 + len;
  }
  return { answers, rest: buf.subarray(at) };
}

interface Pending {
  resolve: (r: NftRunResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * corelet-nft, started on the first call and again after it died. Calls are answered in order; the
 * process holds the event loop only while a call is under way.
 */
export class NftHelperRunner implements NftRunner {
  private child: ChildProcess | undefined;
  private pending: Pending[] = [];
  /** The answer bytes read and not yet decoded, and how many make the first answer whole. */
  private chunks: Buffer[] = [];
  private chunkLen = 0;
  private need = 4;
  /** Processes started (the first one included), for tests. */
  starts = 0;

  /** argv: the command (e.g. [DEFAULT_NFT_HELPER] or ['ip', 'netns', 'exec', NS, DEFAULT_NFT_HELPER]). */
  constructor(
    readonly argv: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  /** The running process's pid (tests kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async run(input: string, opts: NftRunOptions = {}): Promise<NftRunResult> {
    const frame = encodeNftRequest(input, opts);
    const child = this.start();
    return new Promise<NftRunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lose(child, new NftHelperLost(`corelet-nft did not answer in ${this.timeoutMs} ms; killed`));
      }, this.timeoutMs);
      this.pending.push({ resolve, reject, timer });
      this.hold(true);
      child.stdin!.write(frame);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private start(): ChildProcess {
    if (this.child !== undefined) return this.child;
    const [file, ...args] = this.argv;
    if (file === undefined) throw unavailable('corelet-nft: an empty command');
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    this.chunks = [];
    this.chunkLen = 0;
    this.need = 4;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.stdin!.on('error', () => {}); // EPIPE: the exit handler reports it
    child.stdout!.on('data', (d: Buffer) => {
      if (this.child !== child) return;
      // Joined only once the first answer is whole: a large listing comes in many 64 KiB reads, and
      // joining each onto the rest would cost the square of its size.
      this.chunks.push(d);
      this.chunkLen += d.length;
      if (this.chunkLen < this.need) return;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkLen);
      let decoded;
      try {
        decoded = decodeNftAnswers(buf);
      } catch (err) {
        this.lose(child, new NftHelperLost((err as Error).message));
        return;
      }
      const rest = decoded.rest;
      this.chunks = rest.length > 0 ? [rest] : [];
      this.chunkLen = rest.length;
      this.need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
      for (const a of decoded.answers) {
        const p = this.pending.shift();
        if (p === undefined) {
          this.lose(child, new NftHelperLost('corelet-nft: an answer nobody asked for'));
          return;
        }
        clearTimeout(p.timer);
        if (a.status === 2) p.reject(new Error(a.stderr.trim())); // the process exits after it
        else p.resolve({ ok: a.status === 0, stdout: a.stdout, stderr: a.stderr });
      }
      if (this.pending.length === 0) this.hold(false);
    });
    const gone = (why: string) => this.lose(child, new NftHelperLost(`corelet-nft ${why}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`));
    child.on('error', (err) => gone(`could not run: ${err.message}`));
    child.on('exit', (code, signal) => gone(signal === null ? `exited (${code})` : `was killed (${signal})`));
    return child;
  }

  /**
   * The process is no use any more: kill it, fail every call it held; the next call starts a new one.
   * A process already replaced (its exit, or a timer of its own, coming after the new one took
   * calls) held nothing of the new one's: its calls were failed when it was lost.
   */
  private lose(child: ChildProcess, err: Error): void {
    child.kill('SIGKILL');
    if (this.child !== child) return;
    this.child = undefined;
    const p = this.pending;
    this.pending = [];
    for (const x of p) {
      clearTimeout(x.timer);
      x.reject(err);
    }
  }

  /** Ref the process and its pipes while a call is under way, so an idle helper never keeps the agent alive. */
  private hold(on: boolean): void {
    const c = this.child;
    if (c === undefined) return;
    const streams = [c.stdin, c.stdout, c.stderr] as unknown as ({ ref?: () => void; unref?: () => void } | null)[];
    if (on) {
      c.ref();
      for (const s of streams) s?.ref?.();
    } else {
      c.unref();
      for (const s of streams) s?.unref?.();
    }
  }
}

/** corelet-nft when its binary (the last word of `helper`) exists, else `nft -f` per call (`usedFallback` true). */
export function makeNftRunner(nft: readonly string[], helper: readonly string[] | null, timeoutMs: number): { runner: NftRunner; usedFallback: boolean } {
  const bin = helper?.[helper.length - 1];
  if (helper !== null && bin !== undefined && existsSync(bin)) return { runner: new NftHelperRunner(helper, timeoutMs), usedFallback: false };
  return { runner: new NftExecRunner(nft, timeoutMs), usedFallback: helper !== null };
}
