/**
 * Per-object isolation of controller work, as kube-controller-manager's workqueues do: one object
 * whose reconcile throws (a value no code foresaw, a bug) is recorded with its name and retried in the
 * next pass; its writes are rolled back (a savepoint) and the other objects are still reconciled.
 */
import type { Store } from '../store/index.js';
import { messageOf } from '../../lib/index.js';

/** One object whose reconcile threw in a pass. */
export interface ControllerFailure {
  /** What failed, e.g. "Deployment default/web" or "Pod default/web-1 (eviction)". */
  object: string;
  /** The exception's message. */
  error: string;
}

/** Runs fn in its own (nested) transaction; an exception is pushed to failures and undefined returned. */
export function isolated<T>(store: Store, failures: ControllerFailure[], object: string, fn: () => T): T | undefined {
  try {
    return store.transaction(fn);
  } catch (err) {
    failures.push({ object, error: messageOf(err) });
    return undefined;
  }
}
