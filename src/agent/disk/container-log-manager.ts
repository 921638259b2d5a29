/**
 * The kubelet's container log manager: every interval, each running container whose log
 * (ContainerStatus log_path) has reached maxSize is rotated: leftovers and the oldest rotated logs
 * removed, older rotated logs gzipped, the log renamed to `<log>.<timestamp>` and the runtime asked
 * to reopen it (CRI ReopenContainerLog; renamed back when that fails and no new log is there). At most maxFiles files stay.
 */
import { PeriodicTask, errnoCode, silentLogger, type Logger, messageOf } from '../../lib/index.js';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { link, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { CriClient } from '../../cri/index.js';
import { LABELS } from '../cri-config.js';
import {
  checkLogRotationSettings,
  DEFAULT_CONTAINER_LOG_MAX_FILES,
  DEFAULT_CONTAINER_LOG_MAX_SIZE,
  DEFAULT_CONTAINER_LOG_MONITOR_INTERVAL_MS,
  planRotation,
  rotatedLogName,
} from './log-rotation.js';

export interface ContainerLogManagerOptions {
  cri: Pick<CriClient, 'runtime'>;
  maxSizeBytes?: number;
  maxFiles?: number;
  intervalMs?: number;
  /** The wall clock (rotated names); injectable for tests. */
  now?: () => Date;
  logger?: Logger;
}

/** How often the running containers are listed again (ListContainers makes the runtime look at every container). */
const LIST_EVERY_MS = 2000;

export class ContainerLogManager {
  private readonly maxSize: number;
  private readonly maxFiles: number;
  private readonly intervalMs: number;
  private readonly now: () => Date;
  private readonly logger: Logger;
  /** log_path by container id (fixed for a container's life). */
  private readonly paths = new Map<string, string>();
  private readonly loop = new PeriodicTask(() => this.check(), () => this.intervalMs, (err) => this.logger.warn({ err: String(err) }, 'container log rotation failed'));

  constructor(private readonly opts: ContainerLogManagerOptions) {
    this.maxSize = opts.maxSizeBytes ?? DEFAULT_CONTAINER_LOG_MAX_SIZE;
    this.maxFiles = opts.maxFiles ?? DEFAULT_CONTAINER_LOG_MAX_FILES;
    checkLogRotationSettings(this.maxSize, this.maxFiles);
    this.intervalMs = opts.intervalMs ?? DEFAULT_CONTAINER_LOG_MONITOR_INTERVAL_MS;
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger ?? silentLogger;
  }

  /** Checks every interval until stop(); errors are logged. */
  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.compressions;
  }

  /** The running containers, listed again at most every LIST_EVERY_MS (a size check is only a stat). */
  private containers: string[] = [];
  private listedAt = Number.NEGATIVE_INFINITY;

  /** One round over the running containers this agent made; returns the logs it rotated. */
  async check(): Promise<string[]> {
    if (Date.now() - this.listedAt >= LIST_EVERY_MS) {
      const { containers } = await this.opts.cri.runtime.ListContainers({
        filter: { state: { state: 'CONTAINER_RUNNING' }, label_selector: { [LABELS.managedBy]: 'corelet-agent' } },
      });
      this.listedAt = Date.now();
      this.containers = containers.map((c) => c.id);
      const live = new Set(this.containers);
      for (const id of this.paths.keys()) if (!live.has(id)) this.paths.delete(id);
    }
    const rotated: string[] = [];
    for (const c of this.containers.map((id) => ({ id }))) {
      try {
        const path = await this.logPath(c.id);
        if (!path) continue;
        // A synchronous stat: ~2 µs of CPU against ~30 µs through the thread pool and a promise, and
        // this runs for every running container 4 times a second (0.1 % of a core with 100 pods
        // rather than 1.2 %); a missing file is one being reopened.
        const st = statSync(path, { throwIfNoEntry: false });
        if (!st || st.size < this.maxSize) continue;
        if (await this.rotate(c.id, path)) rotated.push(path);
      } catch (err) {
        this.logger.warn({ container: c.id, err: messageOf(err) }, 'cannot rotate the container log');
      }
    }
    return rotated;
  }

  private async logPath(id: string): Promise<string | undefined> {
    const known = this.paths.get(id);
    if (known !== undefined) return known || undefined;
    const { status } = await this.opts.cri.runtime.ContainerStatus({ container_id: id, verbose: false });
    const path = status?.log_path ?? '';
    this.paths.set(id, path);
    return path || undefined;
  }

  /**
   * Rotates one log; false when it was not rotated this round (a rotated name already taken). The
   * older rotated logs are gzipped in the background, one at a time: compressing hundreds of MB
   * must not hold back the next size check of a log that grows at 90 MB/s.
   */
  private async rotate(id: string, path: string): Promise<boolean> {
    const dir = dirname(path);
    // A compression in flight keeps its .gz.tmp; its source still counts (and may be pruned: the
    // compression then drops its output).
    const entries = (await readdir(dir)).filter((n) => !(n.endsWith('.gz.tmp') && this.compressing.has(join(dir, n.slice(0, -'.gz.tmp'.length)))));
    const plan = planRotation(basename(path), entries, this.maxFiles);
    for (const name of [...plan.removeUnused, ...plan.removeExcess]) await rm(join(dir, name), { force: true });
    for (const name of plan.compress) this.queueCompression(join(dir, name));
    const at = this.now();
    let target = rotatedLogName(path, at);
    if (await exists(target)) target = rotatedLogName(path, at, true);
    if (await exists(target)) return false;
    await rename(path, target);
    try {
      await this.opts.cri.runtime.ReopenContainerLog({ container_id: id });
    } catch (err) {
      // As the kubelet: put the log back, so the runtime keeps writing to the file it reads; but
      // only when nothing is at the path: a runtime may report a failure although conmon still
      // reopened (a late reopen), and replacing that new file would leave conmon writing to an
      // unlinked one. link() fails on an existing path, so the check and the move are one step.
      await restoreLog(target, path).catch((e) => this.logger.error({ container: id, err: String(e) }, 'cannot restore the log after a failed reopen'));
      throw err;
    }
    this.logger.debug({ container: id, log: path, rotated: target }, 'rotated the container log');
    return true;
  }

  /**
   * Removes a container's log and its rotated files, before the container itself is removed (the
   * kubelet's log manager Clean: the runtime's RemoveContainer leaves the log behind).
   */
  async clean(id: string): Promise<void> {
    const { status } = await this.opts.cri.runtime.ContainerStatus({ container_id: id, verbose: false });
    const path = status?.log_path;
    this.paths.delete(id);
    if (!path) return;
    const dir = dirname(path);
    const prefix = `${basename(path)}.`;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (n === basename(path) || n.startsWith(prefix)) await rm(join(dir, n), { force: true });
  }

  /** Files being gzipped or waiting for it (left out of rotation plans meanwhile). */
  private readonly compressing = new Set<string>();
  private compressions: Promise<void> = Promise.resolve();

  private queueCompression(file: string): void {
    if (this.compressing.has(file)) return;
    this.compressing.add(file);
    this.compressions = this.compressions
      .then(() => compress(file))
      .catch((err) => this.logger.warn({ file, err: String(err) }, 'cannot compress a rotated container log'))
      .finally(() => this.compressing.delete(file));
  }

  /** Resolves once every queued compression is done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.compressions;
  }
}

/** Moves rotated back to path unless path exists again (then rotated stays a rotated log). */
async function restoreLog(rotated: string, path: string): Promise<void> {
  try {
    await link(rotated, path);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return;
    throw err;
  }
  await rm(rotated, { force: true });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Gzips file to file.gz (through file.gz.tmp, so a crash leaves no half .gz) and removes file. */
async function compress(file: string): Promise<void> {
  if (!(await exists(file))) return;
  const tmp = `${file}.gz.tmp`;
  await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp, { mode: 0o640 }));
  if (!(await exists(file))) {
    await rm(tmp, { force: true }); // pruned meanwhile
    return;
  }
  await rename(tmp, `${file}.gz`);
  await rm(file, { force: true });
}
