/**
 * Termination confirmation (graceful deletion): after the scheduler's `unassign` for a pod, the
 * agent stops it (preStop, StopContainer with the grace period, sandbox removed) and then answers
 * `podTerminated` so the scheduler removes the pod object. The answer is sent only once nothing of
 * the pod is left: no pod worker for the uid and no sandbox labelled with it in the runtime (also
 * ones an earlier agent left running, which the relist removes). So the scheduler never frees a
 * pod name (a StatefulSet ordinal) while its containers may still run here.
 */
import type { CriClient } from '../cri/index.js';
import type { Logger } from '../lib/index.js';
import { LABELS } from './cri-config.js';
import { messageOf } from '../lib/index.js';

export interface TerminationConfirmerOptions {
  /** Whether the pod still has a worker on this node. */
  hasWorker: (uid: string) => boolean;
  cri: Pick<CriClient, 'runtime'>;
  /** Sends the confirmation; false when the scheduler link is down (the scheduler asks again on reconnect). */
  confirm: (uid: string) => boolean;
  logger: Logger;
  /** How often to look again while the pod is still stopping (default 1 s). */
  pollMs?: number;
}

export class TerminationConfirmer {
  private readonly pending = new Set<string>();
  private closed = false;

  constructor(private readonly opts: TerminationConfirmerOptions) {}

  /** Confirms the pod's termination once it is gone from this node (at most one wait per uid). */
  watch(uid: string): void {
    if (this.pending.has(uid) || this.closed) return;
    this.pending.add(uid);
    void this.waitAndConfirm(uid).finally(() => this.pending.delete(uid));
  }

  /** Stops waiting (agent shutdown). */
  close(): void {
    this.closed = true;
  }

  /** True when neither a worker nor a sandbox of the pod is left. */
  async gone(uid: string): Promise<boolean> {
    if (this.opts.hasWorker(uid)) return false;
    const list = await this.opts.cri.runtime.ListPodSandbox({ filter: { label_selector: { [LABELS.podUid]: uid } } });
    return list.items.length === 0;
  }

  private async waitAndConfirm(uid: string): Promise<void> {
    while (!this.closed) {
      try {
        if (await this.gone(uid)) {
          if (this.opts.confirm(uid)) this.opts.logger.info({ uid }, 'pod terminated: confirmed to the scheduler');
          return;
        }
      } catch (err) {
        this.opts.logger.warn({ uid, err: messageOf(err) }, 'cannot tell yet whether the pod is gone');
      }
      await new Promise((resolve) => setTimeout(resolve, this.opts.pollMs ?? 1000).unref());
    }
  }
}
