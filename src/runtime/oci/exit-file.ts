import { watch, type FSWatcher } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, setLongTimeout } from '../../lib/index.js';

/**
 * The exit code conmon wrote for container id (the text file exitDir/id), or undefined while there
 * is none (the container is still running, or conmon has not written it completely yet).
 * A container killed by signal N shows 128+N (137 for SIGKILL).
 */
export async function readExitFile(exitDir: string, id: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(exitDir, id), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return undefined;
  return Number.parseInt(trimmed, 10);
}

/** Options of {@link waitForExit}. */
export interface WaitForExitOptions {
  /** Polling interval, the fallback for a missed or unsupported fs.watch event (default 500 ms). */
  pollMs?: number;
  /** Stops waiting early (resolves undefined). */
  signal?: AbortSignal;
}

/**
 * Resolves with the container's exit code as soon as conmon writes exitDir/id, or undefined after
 * timeoutMs. Watches the folder (fs.watch) and polls as a fallback, so a missed event costs at
 * most one poll interval.
 */
export function waitForExit(
  exitDir: string,
  id: string,
  timeoutMs: number,
  opts: WaitForExitOptions = {},
): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    let checking = false;
    let again = false;

    const stop = (value: number | undefined, err?: unknown) => {
      if (done) return;
      done = true;
      timer.clear();
      clearInterval(poll);
      watcher?.close();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(value);
    };
    // One read at a time; an event during a read triggers one more read after it.
    const check = async () => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const code = await readExitFile(exitDir, id);
          if (code !== undefined) {
            stop(code);
            return;
          }
        } while (again && !done);
      } catch (err) {
        stop(undefined, err);
      } finally {
        checking = false;
      }
    };
    const onAbort = () => stop(undefined);

    // timeoutMs is StopContainer's, from the request: any length (setTimeout would fire a long one at once).
    const timer = setLongTimeout(() => stop(undefined), timeoutMs);
    const poll = setInterval(() => void check(), opts.pollMs ?? 500);
    if (opts.signal?.aborted) {
      stop(undefined);
      return;
    }
    opts.signal?.addEventListener('abort', onAbort);
    try {
      watcher = watch(exitDir, { persistent: false }, (_event, name) => {
        if (name === null || name === id || String(name) === id) void check();
      });
      watcher.on('error', () => {
        // The folder went away or cannot be watched: polling carries on alone.
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // No watch support here (or no folder yet): polling alone.
      watcher = undefined;
    }
    // The file may have been written before the watch began.
    void check();
  });
}

/**
 * True when conmon recorded an OOM kill of the container: it creates a file named "oom" in its
 * --persist-dir when the kernel's OOM notification fires for the container's memory cgroup
 * (cgroup v1 through memory.oom_control's eventfd, v2 through memory.events).
 */
export async function readOomFlag(persistDir: string): Promise<boolean> {
  try {
    await access(join(persistDir, 'oom'));
    return true;
  } catch {
    return false;
  }
}
