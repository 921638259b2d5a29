import { constants, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreletError, errnoCode, failedPrecondition, invalidArgument } from '../../lib/index.js';

/*
 * conmon's control fifo ("ctl", in the bundle folder, reachable as socketDir/<id>/ctl) takes text
 * lines "<type> <height> <width>\n": type 1 resizes the container's terminal, type 2 makes conmon
 * reopen its log file (after the caller rotated it).
 */
const WIN_RESIZE_EVENT = 1;
const REOPEN_LOGS_EVENT = 2;

/** The attach socket conmon serves for container id (a symlink folder keeps the path short). */
export function conmonAttachPath(socketDir: string, id: string): string {
  return join(socketDir, id, 'attach');
}

/** The control fifo conmon reads for container id. */
export function conmonCtlPath(socketDir: string, id: string): string {
  return join(socketDir, id, 'ctl');
}

/**
 * How long reopenContainerLog waits for conmon's new log file. conmon handles the request in its
 * own main loop, behind whatever output it is copying, so on a loaded host it may take seconds; a
 * too-short wait made the runtime report a failure while conmon still reopened afterwards (and the
 * kubelet's rename-back then raced it). CRI-O likewise waits, bounded, for the reopened file.
 */
export const REOPEN_LOG_TIMEOUT_MS = 5000;

export interface ReopenWaitOptions {
  /** How long to wait for the new file (default REOPEN_LOG_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The pause between looks; injectable so tests run on virtual time. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Asks conmon to reopen the container's log file, e.g. after the log was renamed for rotation: it
 * then writes to a new file at the original path. NotFound when conmon is gone. conmon handles the
 * request in its own loop: given logPath, this returns only once the new file is there (the
 * kubelet's rotation expects the next line to land in it), FailedPrecondition if it does not come
 * within the timeout.
 */
export async function reopenContainerLog(ctlPath: string, logPath?: string, opts: ReopenWaitOptions = {}): Promise<void> {
  await writeCtl(ctlPath, `${REOPEN_LOGS_EVENT} 0 0\n`);
  if (!logPath) return;
  await waitForReopenedLog(logPath, opts);
}

async function waitForReopenedLog(logPath: string, opts: ReopenWaitOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? REOPEN_LOG_TIMEOUT_MS;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const step = 10;
  for (let waited = 0; !existsSync(logPath); waited += step) {
    if (waited >= timeoutMs) throw failedPrecondition(`conmon did not reopen ${logPath} within ${timeoutMs} ms`);
    await sleep(step);
  }
}

/** Resizes the container's terminal (containers created with terminal only). */
export async function resizeTerminal(ctlPath: string, size: { height: number; width: number }): Promise<void> {
  const { height, width } = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0 || height > 65535 || width > 65535) {
    throw invalidArgument(`terminal size ${height}x${width} out of range`);
  }
  await writeCtl(ctlPath, `${WIN_RESIZE_EVENT} ${height} ${width}\n`);
}

async function writeCtl(ctlPath: string, line: string): Promise<void> {
  let fh;
  try {
    // Non-blocking: with no conmon reading, open fails (ENXIO) instead of hanging forever.
    fh = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENXIO') {
      throw new CoreletError('NotFound', `conmon control fifo ${ctlPath}: no conmon is listening`, { cause: err });
    }
    throw new CoreletError('Internal', `opening conmon control fifo ${ctlPath}`, { cause: err });
  }
  try {
    await fh.write(line);
  } finally {
    await fh.close();
  }
}
