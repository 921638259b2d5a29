/**
 * The endpoints controller as the scheduler runs it: driven by the store's watch, not by the control
 * loop's passes. Every committed change (an agent's pod status report, a pod deletion or graceful
 * deletion, a node's Ready condition written by its heartbeat or by the node lifecycle controller, an
 * applied Service) goes through an {@link EndpointsIndex}, which names the Services it concerns; those
 * are marked dirty and reconciled in a pass coalesceMs (10 ms) later, from the index (no store reads).
 * So a pod turning Ready or failing readiness is in its Services' slices some milliseconds after its
 * status is stored, without waiting for the daemon's 1 s timer, and a pass costs what changed.
 *
 * A pass reconciles the dirty Services in batches of about sliceMs (20 ms) of work, each batch one
 * transaction (each Service its own savepoint: one that throws is rolled back alone, logged, and
 * retried retryMs later); between batches it yields to the event loop. The controller's own slice
 * writes come back through the watch and only update the index. {@link EndpointsController.resync}
 * marks every Service dirty (at start, and periodically as a safety net: with nothing changed it writes
 * nothing).
 */
import { messageOf } from '../../lib/index.js';
import type { Store, WatchChange } from '../store/index.js';
import { reconcileServiceEndpoints } from './endpoints.js';
import { EndpointsIndex } from './endpoints-index.js';
import type { ControllerFailure } from './isolate.js';

/** A pending timer; the controller cancels it when closed. */
export interface EndpointsTimer {
  cancel(): void;
}

/** Options of {@link EndpointsController}. */
export interface EndpointsControllerOptions {
  /** How long after the first change a pass runs; changes in between join it (default 10 ms). */
  coalesceMs?: number;
  /** Work per batch (one transaction) before yielding to the event loop (default 20 ms). */
  sliceMs?: number;
  /** When a Service whose reconcile threw is tried again (default 1,000 ms). */
  retryMs?: number;
  /** Starts a timer (tests inject one that records the passes); default an unref'd setTimeout. */
  setTimer?: (fn: () => void, ms: number) => EndpointsTimer;
  /** Called after each batch with what it did (logging, tests). */
  onPass?: (result: EndpointsPassResult) => void;
}

/** What one batch of a pass did. */
export interface EndpointsPassResult {
  /** Services reconciled. */
  services: number;
  created: number;
  updated: number;
  deleted: number;
  /** Services whose reconcile threw (retried retryMs later). */
  failures: ControllerFailure[];
  /** Dirty Services left for the next batch (0: the pass is done). */
  remaining: number;
}

const defaultTimer = (fn: () => void, ms: number): EndpointsTimer => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/** See the module comment. Call {@link start} once; {@link close} stops it. */
export class EndpointsController {
  private index: EndpointsIndex | undefined;
  private readonly dirty = new Set<string>();
  private timer: EndpointsTimer | undefined;
  private readonly retries = new Set<EndpointsTimer>();
  private unwatch: (() => void) | undefined;
  /** True while a batch writes: the slice changes it commits are its own. */
  private writing = false;
  private closed = false;
  private readonly coalesceMs: number;
  private readonly sliceMs: number;
  private readonly retryMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => EndpointsTimer;

  constructor(
    private readonly store: Store,
    private readonly opts: EndpointsControllerOptions = {},
  ) {
    this.coalesceMs = opts.coalesceMs ?? 10;
    this.sliceMs = opts.sliceMs ?? 20;
    this.retryMs = opts.retryMs ?? 1000;
    this.setTimer = opts.setTimer ?? defaultTimer;
  }

  /** Loads the index, follows the store from now on, and schedules a pass over every Service. */
  start(): void {
    if (this.index) return;
    this.index = EndpointsIndex.load(this.store);
    this.unwatch = this.store.watch((change) => this.onChange(change));
    this.resync();
  }

  /** Marks every Service (and every Service that still has managed slices) dirty. */
  resync(): void {
    if (!this.index || this.closed) return;
    for (const s of this.index.work()) this.dirty.add(`${s.namespace}/${s.name}`);
    this.schedule(this.coalesceMs);
  }

  /** Services waiting for a pass (tests, diagnostics). */
  pending(): number {
    return this.dirty.size;
  }

  close(): void {
    this.closed = true;
    this.unwatch?.();
    this.timer?.cancel();
    this.timer = undefined;
    for (const r of this.retries) r.cancel();
    this.retries.clear();
    this.dirty.clear();
  }

  private onChange(change: WatchChange): void {
    const k = change.kind;
    if (k !== 'Pod' && k !== 'Node' && k !== 'Service' && k !== 'EndpointSlice') return;
    const affected = this.index!.apply(change);
    // Its own slice writes only update the index; someone else's edit of a managed slice is undone.
    if (k === 'EndpointSlice' && this.writing) return;
    if (affected.size === 0) return;
    for (const s of affected) this.dirty.add(s);
    this.schedule(this.coalesceMs);
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed || this.dirty.size === 0) return;
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      this.pass();
    }, ms);
  }

  /** One batch: reconciles dirty Services for about sliceMs in one transaction; more in the next. */
  private pass(): void {
    if (this.closed || !this.index) return;
    const index = this.index;
    const result: EndpointsPassResult = { services: 0, created: 0, updated: 0, deleted: 0, failures: [], remaining: 0 };
    const failed: string[] = [];
    const batch: string[] = [];
    const start = performance.now();
    this.writing = true;
    try {
      this.store.transaction(() => {
        for (const k of this.dirty) {
          this.dirty.delete(k);
          batch.push(k);
          const at = k.indexOf('/');
          try {
            const r = reconcileServiceEndpoints(this.store, k.slice(0, at), k.slice(at + 1), index);
            result.created += r.created;
            result.updated += r.updated;
            result.deleted += r.deleted;
          } catch (err) {
            result.failures.push({ object: `Service ${k}`, error: messageOf(err) });
            failed.push(k);
          }
          result.services++;
          if (performance.now() - start >= this.sliceMs) break;
        }
      });
    } catch (err) {
      // The commit itself failed (the store is locked or closed): everything in the batch again.
      result.failures.push({ object: 'endpoints pass', error: messageOf(err) });
      failed.push(...batch);
    } finally {
      this.writing = false;
    }
    if (failed.length > 0 && !this.closed) {
      const retry = this.setTimer(() => {
        this.retries.delete(retry);
        for (const k of failed) this.dirty.add(k);
        this.schedule(0);
      }, this.retryMs);
      this.retries.add(retry);
    }
    result.remaining = this.dirty.size;
    this.opts.onPass?.(result);
    // The rest after a turn of the event loop (requests and heartbeats between batches).
    this.schedule(0);
  }
}
