/** Host process facts the memory figures need: listing processes and reading their PSS. */
import { readFile, readdir } from 'node:fs/promises';

/** One host process. */
export interface Proc {
  pid: number;
  ppid: number;
  /** Short command name (/proc/PID/comm). */
  comm: string;
  /** Full command line, NUL separators turned into spaces. */
  args: string;
}

/** Every process on the host (processes that exit while we read are skipped). */
export async function listProcs(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
      // comm is in parentheses and may itself contain spaces or parentheses: split after the last ')'
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.push({ pid, ppid, comm, args: cmdline.replace(/\0/g, ' ').trim() });
    } catch {
      // gone
    }
  }
  return out;
}

/** Proportional set size of a process in KiB (from /proc/PID/smaps_rollup). */
export async function pssKiB(pid: number): Promise<number> {
  return (await memKiB(pid)).pss;
}

/** PSS and RSS of a process in KiB (from /proc/PID/smaps_rollup). */
export async function memKiB(pid: number): Promise<{ pss: number; rss: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const pss = /^Pss:\s+(\d+) kB/m.exec(text);
  const rss = /^Rss:\s+(\d+) kB/m.exec(text);
  if (!pss || !rss) throw new Error(`no Pss/Rss line in /proc/${pid}/smaps_rollup`);
  return { pss: Number(pss[1]), rss: Number(rss[1]) };
}

/**
 * A daemon's PSS in KiB, as the median of a few samples a little apart: a garbage-collected
 * daemon's footprint moves between reads, and one read would make the per-pod figure jumpy.
 */
export async function settledPssKiB(pid: number, samples = 5, gapMs = 300): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    values.push(await pssKiB(pid));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

/** The pid of the (one) containerd daemon on the host. */
export async function findContainerdPid(): Promise<number> {
  const found = (await listProcs()).filter((p) => p.comm === 'containerd');
  if (found.length !== 1) throw new Error(`found ${found.length} containerd processes; pass --containerd-pid`);
  return found[0]!.pid;
}

/** /proc/PID/stat counts in clock ticks, which Linux fixes at 100 per second for user space. */
const TICK_MS = 10;

/**
 * CPU time of a process in ms: its own (user + system) and that of its children it has waited for
 * (so helpers a daemon spawned and reaped count, with everything they reaped in turn).
 */
export async function cpuMs(pid: number): Promise<{ self: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { self: (f[11]! + f[12]!) * TICK_MS, children: (f[13]! + f[14]!) * TICK_MS };
}

/**
 * cpuMs of a daemon plus that of its live children (with what they reaped): the runtime's host
 * helper (corelet-io serve) runs the CNI plugins, runc and mounts and reaps them itself, so the
 * daemon's own "children" figure no longer holds them. Compare two readings of one daemon whose
 * helper lived through both.
 */
export async function cpuMsWithChildren(pid: number): Promise<{ self: number; children: number }> {
  const own = await cpuMs(pid);
  for (const p of await listProcs()) {
    if (p.ppid !== pid) continue;
    const c = await cpuMs(p.pid).catch(() => undefined);
    if (c) own.children += c.self + c.children;
  }
  return own;
}
