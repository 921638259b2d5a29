/**
 * Per-key exponential backoff, as the kubelet restarts crashing containers: the first restart waits
 * `initialMs`, each further one twice as long up to `maxMs`; a key that stayed healthy for `resetMs`
 * starts over.
 */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastFailureMs: number }>();

  constructor(
    private readonly opts: { initialMs: number; maxMs: number; resetMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a failure of key that happened at failedAtMs (after running since startedAtMs) and
   * returns the time before the next attempt may start.
   */
  next(key: string, startedAtMs: number, failedAtMs: number): number {
    const prev = this.entries.get(key);
    const healthyLongEnough = failedAtMs - startedAtMs >= this.opts.resetMs;
    if (prev && prev.lastFailureMs === failedAtMs) return Math.max(0, prev.lastFailureMs + prev.delayMs - this.now());
    const delayMs = !prev || healthyLongEnough ? this.opts.initialMs : Math.min(prev.delayMs * 2, this.opts.maxMs);
    this.entries.set(key, { delayMs, lastFailureMs: failedAtMs });
    return Math.max(0, failedAtMs + delayMs - this.now());
  }

  /** The current delay for key (0 when it has none). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
