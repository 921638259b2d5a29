/**
 * Timers for delays that come from users (StopContainer and ExecSync timeouts, probe timings, grace
 * periods, watch timeouts). Node's setTimeout takes at most 2^31-1 ms (24.8 days): a longer delay
 * fires after 1 ms with a TimeoutOverflowWarning, so `crictl stop --timeout 2147484` would SIGKILL
 * at once. setLongTimeout chains timers of at most that length until the whole delay has passed.
 */

/** The longest delay one Node timer takes (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One native timer (what setTimeout returns, reduced to what is used). */
export interface TimerHandle {
  unref(): unknown;
}

/** The clock and timers setLongTimeout uses; injectable so unit tests need not wait 25 days. */
export interface TimerSource {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(t: TimerHandle): void;
}

const nodeTimers: TimerSource = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

/** A pending long timeout. */
export interface LongTimeout {
  /** Cancels it; idempotent. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (as Timeout.unref). */
  unref(): LongTimeout;
  /** Whether it has neither fired nor been cleared. */
  readonly pending: boolean;
}

/**
 * The delay as a timer takes it: NaN and negative values are 0 (fire at the next turn, as Node
 * does for them), Infinity never fires.
 */
export function normalizeDelayMs(ms: number): number {
  if (Number.isNaN(ms) || ms < 0) return 0;
  return ms;
}

/**
 * Calls fn once ms milliseconds have passed, for any ms (Infinity: never). Delays up to
 * MAX_TIMER_MS use one timer; longer ones a chain, each link re-armed for the remaining time
 * (measured with the monotonic clock, so a wall-clock jump neither shortens nor stretches it).
 */
export function setLongTimeout(fn: () => void, ms: number, timers: TimerSource = nodeTimers): LongTimeout {
  const { now, setTimeout, clearTimeout } = timers;
  const delay = normalizeDelayMs(ms);
  const deadline = now() + delay;
  let timer: TimerHandle | undefined;
  let refed = true;
  let pending = true;
  const arm = () => {
    const left = deadline - now();
    if (left <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        pending = false;
        timer = undefined;
        fn();
      }, Math.max(0, left));
    } else {
      timer = setTimeout(arm, MAX_TIMER_MS);
    }
    if (!refed) timer.unref();
  };
  if (delay !== Infinity) arm();
  const handle: LongTimeout = {
    clear() {
      pending = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    unref() {
      refed = false;
      timer?.unref();
      return handle;
    },
    get pending() {
      return pending;
    },
  };
  return handle;
}

/** Cancels a long timeout (undefined is fine), mirroring clearTimeout. */
export function clearLongTimeout(t: LongTimeout | undefined): void {
  t?.clear();
}

/** Resolves after ms (any length; see setLongTimeout), or at once, without error, when signal aborts. */
export function sleepLong(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      t.clear();
      resolve();
    };
    const t = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
