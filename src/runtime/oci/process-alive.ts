import { readFile } from 'node:fs/promises';

/** A pid file's pid (runc's --pid-file, conmon's -P); undefined when missing, unreadable or not a pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True while pid is a live process. Reads /proc/<pid>/stat rather than kill(pid, 0), because an
 * exited conmon lingers as a zombie until its new parent (PID 1) reaps it, and kill(0) still
 * succeeds on a zombie.
 */
export async function isProcessAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S …": comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== '';
}
