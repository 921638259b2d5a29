/**
 * The kubelet's container log manager: every interval, each running container whose log
 * (ContainerStatus log_path) has reached maxSize is rotated: leftovers and the oldest rotated logs
 * removed, older rotated logs gzipped, the log renamed to `<log>.<timestamp>` and the runtime asked
 * to reopen it (CRI ReopenContainerLog; renamed back when that fails). At most maxFiles files stay.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { CriClient } from '../../cri/client.js';
import { errnoCode, silentLogger, type Logger } from '../../lib/index.js';
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

export class ContainerLogManager {
  private readonly maxSize: number;
  private readonly maxFiles: number;
  private readonly intervalMs: number;
  private readonly now: () => Date;
  private readonly logger: Logger;
  /** log_path by container id (fixed for a container's life). */
  private readonly paths = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

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
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      this.running = this.check()
        .catch((err) => this.logger.warn({ err: String(err) }, 'container log rotation failed'))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          this.timer = setTimeout(tick, this.intervalMs);
          this.timer.unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round over the running containers this agent made; returns the logs it rotated. */
  async check(): Promise<string[]> {
    const { containers } = await this.opts.cri.runtime.ListContainers({
      filter: { state: { state: 'CONTAINER_RUNNING' }, label_selector: { [LABELS.managedBy]: 'corelet-agent' } },
    });
    const live = new Set(containers.map((c) => c.id));
    for (const id of this.paths.keys()) if (!live.has(id)) this.paths.delete(id);
    const rotated: string[] = [];
    for (const c of containers) {
      try {
        const path = await this.logPath(c.id);
        if (!path) continue;
        const st = await stat(path).catch((err) => {
          if (errnoCode(err) === 'ENOENT') return undefined; // being reopened
          throw err;
        });
        if (!st || st.size < this.maxSize) continue;
        if (await this.rotate(c.id, path)) rotated.push(path);
      } catch (err) {
        this.logger.warn({ container: c.id, err: err instanceof Error ? err.message : String(err) }, 'cannot rotate the container log');
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

  /** Rotates one log; false when it was not rotated this round (a rotated name already taken). */
  private async rotate(id: string, path: string): Promise<boolean> {
    const dir = dirname(path);
    const plan = planRotation(basename(path), await readdir(dir), this.maxFiles);
    for (const name of [...plan.removeUnused, ...plan.removeExcess]) await rm(join(dir, name), { force: true });
    for (const name of plan.compress) await compress(join(dir, name));
    const target = rotatedLogName(path, this.now());
    if (await exists(target)) return false;
    await rename(path, target);
    try {
      await this.opts.cri.runtime.ReopenContainerLog({ container_id: id });
    } catch (err) {
      // As the kubelet: put the log back, so the runtime keeps writing to the file it reads.
      await rename(target, path).catch((e) => this.logger.error({ container: id, err: String(e) }, 'cannot restore the log after a failed reopen'));
      throw err;
    }
    this.logger.debug({ container: id, log: path, rotated: target }, 'rotated the container log');
    return true;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Gzips file to file.gz (through file.gz.tmp, so a crash leaves no half .gz) and removes file. */
async function compress(file: string): Promise<void> {
  const tmp = `${file}.gz.tmp`;
  await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp, { mode: 0o640 }));
  await rename(tmp, `${file}.gz`);
  await rm(file, { force: true });
}
