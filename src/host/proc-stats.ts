/**
 * Figures of processes and network namespaces read from /proc (injectable root): open file
 * descriptors, sockets and threads of a set of processes, and the interface counters of the
 * network namespace a process is in (/proc/PID/net/dev).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../lib/index.js';

/** Totals over a set of processes. */
export interface ProcessFigures {
  fileDescriptors: number;
  sockets: number;
  threads: number;
}

/** Descriptors looked at (readlink) per scrape to tell sockets; a container may hold a million. */
export const SOCKET_SCAN_LIMIT = 16_384;
/** readlink calls in flight at once. */
const LINK_BATCH = 256;

/**
 * Open descriptors, sockets among them and threads of the given processes; a process that exits
 * while it is read counts as nothing. Sockets are told among the first scanLimit descriptors of the
 * whole set (read a batch at a time): past that the count is a floor, so a process holding a
 * million descriptors costs one readdir, not a million readlinks at once.
 */
export async function processFigures(pids: readonly number[], procRoot = '/proc', scanLimit = SOCKET_SCAN_LIMIT): Promise<ProcessFigures> {
  const out: ProcessFigures = { fileDescriptors: 0, sockets: 0, threads: 0 };
  let budget = scanLimit;
  for (const pid of pids) {
    const dir = join(procRoot, String(pid));
    try {
      const status = await readFile(join(dir, 'status'), 'utf8');
      const threads = /^Threads:\s+(\d+)/m.exec(status);
      const fds = await readdir(join(dir, 'fd'));
      out.threads += threads ? Number(threads[1]) : 0;
      out.fileDescriptors += fds.length;
      const scan = fds.slice(0, Math.max(0, budget));
      budget -= scan.length;
      for (let i = 0; i < scan.length; i += LINK_BATCH) {
        const links = await Promise.all(scan.slice(i, i + LINK_BATCH).map((fd) => readlink(join(dir, 'fd', fd)).catch(() => '')));
        out.sockets += links.filter((l) => l.startsWith('socket:')).length;
      }
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ESRCH' && code !== 'EACCES') throw err;
    }
  }
  return out;
}

/** One interface's counters, as /proc/net/dev has them. */
export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev: two header lines, then "name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs drop ...". */
export function parseNetDev(text: string): InterfaceCounters[] {
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.trim())
    .filter((line) => line.includes(':'))
    .map((line) => {
      const i = line.indexOf(':');
      const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
      const n = (k: number) => (Number.isFinite(f[k]) ? f[k]! : 0);
      return {
        name: line.slice(0, i).trim(),
        rxBytes: n(0),
        rxPackets: n(1),
        rxErrors: n(2),
        rxDropped: n(3),
        txBytes: n(8),
        txPackets: n(9),
        txErrors: n(10),
        txDropped: n(11),
      };
    });
}

/** The interfaces (but lo) of the network namespace pid is in; empty when the process is gone. */
export async function netnsInterfaces(pid: number, procRoot = '/proc'): Promise<InterfaceCounters[]> {
  const text = await readFile(join(procRoot, String(pid), 'net', 'dev'), 'utf8').catch(() => '');
  return parseNetDev(text).filter((i) => i.name !== 'lo');
}
