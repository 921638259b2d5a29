/**
 * The wait between a container's stop signal and SIGKILL, shortenable: a StopContainer with a
 * shorter timeout than the one in progress moves the kill earlier (CRI-O does the same; the
 * kubelet sends one when a second, shorter delete arrives). Never lengthened.
 */
export class StopWait {
  private abort = new AbortController();

  constructor(private deadlineMs: number) {}

  /** Moves the kill to deadlineMs when that is earlier. */
  shorten(deadlineMs: number): void {
    if (!(deadlineMs < this.deadlineMs)) return;
    this.deadlineMs = deadlineMs;
    this.abort.abort();
  }

  /** Runs wait(ms left, signal) until it yields a value, or the (possibly shortened) deadline passed. */
  async until<T>(wait: (ms: number, signal: AbortSignal) => Promise<T | undefined>): Promise<T | undefined> {
    for (;;) {
      const signal = this.abort.signal;
      const value = await wait(Math.max(0, this.deadlineMs - Date.now()), signal);
      if (value !== undefined || !signal.aborted) return value;
      this.abort = new AbortController(); // shortened: wait what is left of the new deadline
    }
  }
}
