import { join } from 'node:path';
import { failedPrecondition, KeyedMutex } from '../../lib/index.js';
import type { SandboxRecord } from '../store/index.js';
import { exitDir, pinsDir, publishEvent, type LifecycleDeps } from '../lifecycle.js';
import { readExitFile } from '../oci/index.js';
import { currentBootId, liveness, type Liveness } from '../process-liveness.js';

/** What the sandbox manager reads and writes: the records, conmon's exit files, /proc. */
export type SandboxManagerDeps = Pick<LifecycleDeps, 'config' | 'store' | 'namespaces' | 'logger' | 'events'>;

/**
 * The sandboxes' locks, records and pause-exit watch. Pod sandboxes are a network namespace with
 * CNI networking and a pause container (conmon + runc) holding the pod's IPC and UTS namespaces
 * (and PID when shared). Every operation on one sandbox is serialised; different sandboxes proceed
 * in parallel. Each CRI verb's logic is in its own file (sandbox-run.ts, sandbox-stop.ts,
 * sandbox-remove.ts, ...); they take this manager by injection.
 */
export class SandboxManager {
  private readonly lock = new KeyedMutex();

  constructor(private readonly deps: SandboxManagerDeps) {}

  /** Runs fn while holding the sandbox's lock. */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  /** The sandbox's folder (bundle, /dev/shm, hostname, hosts, resolv.conf). */
  dir(id: string): string {
    return this.deps.store.dir('sandboxes', id);
  }

  /** Where this sandbox's IPC/UTS namespaces are pinned (volatile state: gone with a reboot). */
  pinDir(id: string): string {
    return join(pinsDir(this.deps.config), id);
  }


  /**
   * Marks a ready sandbox NOTREADY when its pause process has exited (conmon wrote its exit file,
   * as for containers). The network, mounts and pins stay until StopPodSandbox, which the kubelet
   * calls when it sees NOTREADY. Returns the up-to-date record.
   */
  async refreshPause(id: string): Promise<SandboxRecord | undefined> {
    const rec = this.deps.store.findSandbox(id);
    if (!rec || rec.id !== id || rec.state !== 'ready') return rec;
    const code = await readExitFile(exitDir(this.deps.config), id);
    if (code !== undefined) return this.markPauseGone(rec, `the pause process exited with code ${code}`);
    // No exit file, but a pause whose conmon was gone first leaves none: its pid says it, for sure
    // (an unreadable /proc is not "gone"), twice: a second reading confirms the end.
    if ((await this.pauseLiveness(rec)) !== 'gone') return rec;
    const late = await readExitFile(exitDir(this.deps.config), id);
    if (late !== undefined) return this.markPauseGone(rec, `the pause process exited with code ${late}`);
    if ((await this.pauseLiveness(rec)) !== 'gone') return rec;
    return this.markPauseGone(rec, `the pause process (pid ${rec.pausePid}) is gone and left no exit file (its conmon was gone)`);
  }

  /** The pause process: recorded pid, start time and boot ('gone' only when /proc says so for sure). */
  async pauseLiveness(rec: SandboxRecord): Promise<Liveness> {
    return liveness(this.deps.namespaces, { pid: rec.pausePid, startTime: rec.pauseStartTime, bootId: rec.bootId }, await currentBootId(this.deps.namespaces));
  }

  async markPauseGone(rec: SandboxRecord, why: string): Promise<SandboxRecord> {
    // Whether this call made the change (rec may be stale: concurrent calls publish once).
    let changed = false;
    const updated = await this.deps.store.updateSandbox(rec.id, (r) => {
      if (r.state !== 'ready') return;
      r.state = 'notready';
      changed = true;
    });
    if (changed) {
      this.deps.logger.warn({ sandbox: rec.id, pid: rec.pausePid }, `sandbox not ready: ${why}`);
      publishEvent(this.deps, 'CONTAINER_STOPPED_EVENT', rec.id, rec.id);
    }
    return updated;
  }

  /** The host paths a container of this sandbox mounts for /etc/hostname, /etc/hosts, resolv.conf, /dev/shm. */
  sandboxFiles(rec: SandboxRecord): { hostname: string; hosts: string; resolvConf: string; shm?: string } {
    const dir = this.dir(rec.id);
    return {
      hostname: join(dir, 'hostname'),
      hosts: join(dir, 'hosts'),
      resolvConf: join(dir, 'resolv.conf'),
      shm: rec.shmMounted ? join(dir, 'shm') : undefined,
    };
  }

  /**
   * The sandbox, which must be ready, its pause process still the one it started (containers can
   * only be created or started in such a sandbox). A pause found dead here (its exit not yet seen,
   * or its pid now another process's) turns the sandbox NOTREADY on the spot.
   */
  async ready(id: string): Promise<SandboxRecord> {
    let rec: SandboxRecord | undefined = this.deps.store.sandbox(id);
    rec = (await this.refreshPause(rec.id)) ?? rec;
    if (rec.state === 'ready' && (await this.pauseLiveness(rec)) === 'gone') {
      rec = await this.markPauseGone(rec, `pid ${rec.pausePid} is no longer the pause process`);
    }
    if (rec.state !== 'ready') {
      throw failedPrecondition(
        `sandbox ${rec.id} is not ready (state ${rec.state === 'notready' ? 'SANDBOX_NOTREADY' : rec.state}): its pause process is gone or it was stopped; stop and remove it and run a new sandbox`,
      );
    }
    return rec;
  }
}
