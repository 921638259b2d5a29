/**
 * The deadline of a deleted pod's termination, as the kubelet keeps it per pod: the deletion's
 * grace period counted from when the deletion was made (metadata.deletionTimestamp, so an agent
 * restarted mid-termination gets only the time left), shortened (never lengthened) by a second,
 * shorter delete. A termination in flight (preStop, StopContainer) follows the shortened deadline:
 * the preStop hook is abandoned at the deadline and the stop is asked again with the shorter
 * timeout, as the kubelet cancels its kill and starts it again with the shorter grace.
 */
import type { Pod } from '../api/index.js';
import { setLongTimeout, type LongTimeout } from '../lib/index.js';

/** The kubelet's minimumGracePeriodInSeconds: a container gets at least this long after SIGTERM. */
export const MIN_KILL_GRACE_SECONDS = 2;

/**
 * When the pod must be gone, in ms since the epoch: now + grace, and no later than the pod's
 * deletionTimestamp (deletion time + grace, set by the scheduler). Grace 0 means now.
 */
export function terminationDeadlineMs(pod: Pod | undefined, gracePeriodSeconds: number | undefined, nowMs: number): number {
  const grace = gracePeriodSeconds ?? pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30;
  let deadline = nowMs + grace * 1000;
  const stamp = pod?.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : NaN;
  if (Number.isFinite(stamp)) deadline = Math.min(deadline, stamp);
  return deadline;
}

export class TerminationDeadline {
  private waiters: (() => void)[] = [];

  constructor(
    private deadline: number,
    /** Whether the grace period was 0 (kill at once: no preStop, no SIGTERM wait). */
    readonly immediate = false,
    private readonly now: () => number = Date.now,
  ) {}

  get deadlineMs(): number {
    return this.deadline;
  }

  /** Moves the deadline earlier (a later one is ignored); true when it changed. */
  shorten(deadlineMs: number): boolean {
    if (!(deadlineMs < this.deadline)) return false;
    this.deadline = deadlineMs;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
    return true;
  }

  /** Whole seconds left (rounded up), at least min. */
  remainingSeconds(min: number): number {
    return Math.max(min, Math.ceil((this.deadline - this.now()) / 1000));
  }

  /** Resolves at the next {@link shorten}. */
  shortened(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when the deadline (as shortened meanwhile) has passed. */
  async passed(): Promise<void> {
    for (;;) {
      const left = this.deadline - this.now();
      if (left <= 0) return;
      let timer: LongTimeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (timer = setLongTimeout(resolve, left).unref())), this.shortened()]);
      timer?.clear();
    }
  }
}

/**
 * Stops one container within the deadline: the preStop hook (given the time left, at least 1 s)
 * until it ends or the deadline passes, then StopContainer with the time left (at least
 * {@link MIN_KILL_GRACE_SECONDS}); when the deadline is shortened meanwhile, StopContainer is asked
 * again with the shorter timeout. A deadline of grace 0 skips both: the container is killed.
 */
export async function stopWithinDeadline(
  d: TerminationDeadline,
  preStop: ((timeoutSeconds: number) => Promise<void>) | undefined,
  stop: (timeoutSeconds: number) => Promise<void>,
): Promise<void> {
  if (preStop && !d.immediate) {
    const hook = preStop(d.remainingSeconds(1)).catch(() => undefined);
    await Promise.race([hook, d.passed()]);
  }
  for (;;) {
    const stopping = stop(d.immediate ? 0 : d.remainingSeconds(MIN_KILL_GRACE_SECONDS));
    stopping.catch(() => undefined);
    const outcome = await Promise.race([stopping.then(() => 'stopped' as const), d.shortened().then(() => 'shortened' as const)]);
    if (outcome === 'stopped') return;
  }
}
