/**
 * A check that runs now and then every intervalMs after the previous one finished, until stop():
 * the loop of the agent's eviction, disk eviction, log rotation and image GC managers. A failed
 * run is handed to onError and the loop goes on; the timer does not keep the process alive.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts the loop (the first run right away); nothing when it runs already. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      this.running = this.run()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          this.timer = setTimeout(tick, this.intervalMs());
          this.timer.unref();
        });
    };
    tick();
  }

  /** Stops the loop; resolves once a run in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
