/**
 * Drives the proxy's syncs: one at a time, coalesced (changes arriving while a sync runs are all
 * carried by the next one, which reads the newest state), a failed sync retried with back-off and
 * logged; a change arriving during the back-off cuts it short (after retryOnChangeAfterMs), so an
 * endpoint change never waits out a long back-off. Knows which cache generation the kernel's rules reflect, so a pod's termination can wait
 * until its endpoint has left them.
 */
import { messageOf, type Logger } from '../../lib/index.js';
import type { ProxyState } from '../proxy/index.js';

/** What the loop needs of NftProxy (tests give a fake). */
export interface ProxyApplier {
  sync(state: ProxyState): Promise<{ warnings: readonly string[]; conntrackError?: string }>;
  /** Releases what it holds (NftProxy: its corelet-nft process); called by stop(). */
  close?(): Promise<void>;
}

export interface ProxySyncLoopOptions {
  applier: ProxyApplier;
  /** The state to program now, and the cache generation it reflects. */
  snapshot: () => { state: ProxyState; generation: number };
  logger: Logger;
  /** Back-off after a failed sync: initialMs doubling up to maxMs (500 ms .. 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * A change arriving during the back-off retries at once, or this long after the failure when it
   * comes sooner (500 ms): a persistent failure under a stream of changes costs at most one sync
   * attempt per this interval (kube-proxy's BoundedFrequencyRunner does the same with its minimum).
   */
  retryOnChangeAfterMs?: number;
  /** Called after each successful sync (metrics). */
  onSynced?: (generation: number, ms: number) => void;
  /** Called after each failed sync (metrics). */
  onFailed?: (ms: number) => void;
}

export class ProxySyncLoop {
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private applied = 0;
  private waiters: { generation: number; resolve: () => void }[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  /** When the sync that started the current back-off failed (Date.now()). */
  private failedAt = 0;
  /** Warnings of the last sync, so each is logged once (not on every sync while it lasts). */
  private lastWarnings = new Set<string>();

  constructor(private readonly opts: ProxySyncLoopOptions) {}

  /** The newest cache generation the kernel's rules reflect (0: none synced yet). */
  get appliedGeneration(): number {
    return this.applied;
  }

  /** Something changed: sync (now, or right after the sync under way). */
  request(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.running) {
      if (this.wakeRetry) this.cutBackoff();
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      // A request that came after run() saw `dirty` false but before this line found `running`
      // still set and started nothing: start it now, or it would wait for the next request.
      if (this.dirty && !this.stopped) this.request();
    });
  }

  /** In back-off and a new change came: retry now, or once retryOnChangeAfterMs has passed since the failure. */
  private cutBackoff(): void {
    const wake = this.wakeRetry;
    if (!wake) return;
    const left = this.failedAt + (this.opts.retryOnChangeAfterMs ?? 500) - Date.now();
    clearTimeout(this.retryTimer);
    if (left <= 0) wake();
    else this.retryTimer = setTimeout(wake, left);
  }

  /** Resolves once a sync of `generation` (or newer) is applied, or at untilMs (false then), or on stop (false). */
  waitForGeneration(generation: number, untilMs: number): Promise<boolean> {
    if (this.applied >= generation) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = {
        generation,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.applied >= generation);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(false);
      }, Math.max(0, untilMs - Date.now()));
      timer.unref();
      this.waiters.push(w);
    });
  }

  /** No sync after this one; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    await this.running;
    await this.opts.applier.close?.();
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resolve();
  }

  private async run(): Promise<void> {
    let delayMs = this.opts.retryInitialMs ?? 500;
    const maxMs = this.opts.retryMaxMs ?? 30_000;
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      const { state, generation } = this.opts.snapshot();
      const started = Date.now();
      try {
        const r = await this.opts.applier.sync(state);
        this.noteSynced(generation, r, Date.now() - started);
        delayMs = this.opts.retryInitialMs ?? 500;
      } catch (err) {
        this.dirty = true;
        this.opts.onFailed?.(Date.now() - started);
        this.opts.logger.warn({ err: messageOf(err), retryInMs: delayMs }, 'service rules: sync failed; the rules stay as they were, retrying');
        this.failedAt = Date.now();
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          this.retryTimer = setTimeout(resolve, delayMs);
        });
        this.wakeRetry = undefined;
        delayMs = Math.min(delayMs * 2, maxMs);
      }
    }
  }

  private noteSynced(generation: number, r: { warnings: readonly string[]; conntrackError?: string }, ms: number): void {
    const warnings = new Set(r.warnings);
    for (const w of warnings) if (!this.lastWarnings.has(w)) this.opts.logger.warn({ warning: w }, 'service rules: an object was left out');
    this.lastWarnings = warnings;
    if (r.conntrackError) this.opts.logger.warn({ err: r.conntrackError }, 'service rules: stale UDP conntrack entries not deleted');
    if (this.applied === 0) this.opts.logger.info({ generation, ms }, 'service rules: first sync applied (rules left by an earlier agent were replaced in the same transaction)');
    else this.opts.logger.debug({ generation, ms }, 'service rules synced');
    this.applied = Math.max(this.applied, generation);
    this.opts.onSynced?.(generation, ms);
    const ready = this.waiters.filter((w) => w.generation <= this.applied);
    this.waiters = this.waiters.filter((w) => w.generation > this.applied);
    for (const w of ready) w.resolve();
  }
}
