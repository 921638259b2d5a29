/**
 * Where corelet's pod-start time goes, from its own --log-level debug timings: RPCs, each CNI
 * plugin run, conmon create (pause vs app container) and each runc command.
 */
import { median, table } from './stats.js';

interface LogLine {
  time?: number;
  msg?: string;
  ms?: number;
  method?: string;
  plugin?: string;
  command?: string;
  id?: string;
  args?: string[];
}

/** Steps named by what they are in a pod start; sandboxIds tells pause work from app-container work. */
function stepName(l: LogLine, sandboxIds: ReadonlySet<string>): string | undefined {
  const kind = (id: string | undefined) => (id && sandboxIds.has(id) ? 'pause' : 'container');
  switch (l.msg) {
    case 'rpc':
      return `rpc ${l.method}`;
    case 'CNI plugin ran':
      return `CNI ${l.command} ${l.plugin}`;
    case 'conmon create':
      return `conmon create (${kind(l.id)}: conmon + runc create)`;
    case 'oci runtime': {
      const id = (l.args ?? []).find((a) => sandboxIds.has(a));
      return `runc ${l.command}${l.command === 'start' ? ` (${id ? 'pause' : 'container'})` : ''}`;
    }
    default:
      return undefined;
  }
}

/**
 * A table of debug-logged steps within window [from, to] (epoch ms): how often each ran per pod,
 * its median and its total ms per pod, biggest first.
 */
export function profileSummary(log: string, window: readonly [number, number], pods: number, sandboxIds: ReadonlySet<string>): string {
  const steps = new Map<string, number[]>();
  for (const raw of log.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let l: LogLine;
    try {
      l = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    if (typeof l.ms !== 'number' || typeof l.time !== 'number' || l.time < window[0] || l.time > window[1]) continue;
    const name = stepName(l, sandboxIds);
    if (!name) continue;
    steps.set(name, [...(steps.get(name) ?? []), l.ms]);
  }
  const rows = [...steps]
    .map(([name, ms]) => ({ name, per: ms.length / pods, med: median(ms), total: ms.reduce((a, b) => a + b, 0) / pods }))
    .sort((a, b) => b.total - a.total)
    .map((r) => [r.name, r.per.toFixed(1), `${r.med.toFixed(0)} ms`, `${r.total.toFixed(0)} ms`]);
  return table([['step', 'runs/pod', 'median', 'ms/pod'], ...rows]);
}

/** One spawned program, from `strace -f -ttt -e trace=execve,exit_group` of the daemon. */
export interface Spawn {
  pid: number;
  /** Epoch ms of the successful execve, and of the process's exit (undefined: still running). */
  at: number;
  end?: number;
  argv: string[];
}

/**
 * The programs a traced daemon and its descendants ran: each successful execve (a failed PATH
 * lookup is no program) with its exit time. strace -f splits calls that interleave into
 * "<unfinished ...>" and "<... execve resumed>" lines; both halves are joined by pid.
 */
export function parseStrace(text: string): Spawn[] {
  const pending = new Map<number, { at: number; argv: string[] }>();
  const spawns: Spawn[] = [];
  const lastOf = new Map<number, Spawn>();
  const argvOf = (s: string): string[] => {
    const m = /execve\("[^"]*", \[(.*?)\](?:, |\.\.\.)/.exec(s);
    if (!m) return [];
    return [...m[1]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!);
  };
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const at = Number(m[2]) * 1000;
    const rest = m[3]!;
    if (rest.startsWith('+++ exited') || rest.startsWith('+++ killed')) {
      const s = lastOf.get(pid);
      if (s && s.end === undefined) s.end = at;
      continue;
    }
    let argv: string[] | undefined;
    let result: string | undefined;
    if (rest.startsWith('execve(')) {
      if (rest.endsWith('<unfinished ...>')) {
        pending.set(pid, { at, argv: argvOf(rest) });
        continue;
      }
      argv = argvOf(rest);
      result = rest.slice(rest.lastIndexOf('= ') + 2);
    } else if (rest.startsWith('<... execve resumed>')) {
      const p = pending.get(pid);
      pending.delete(pid);
      argv = p?.argv ?? [];
      result = rest.slice(rest.lastIndexOf('= ') + 2);
    } else {
      continue;
    }
    if (!result.startsWith('0')) continue;
    const prev = lastOf.get(pid);
    if (prev && prev.end === undefined) prev.end = at;
    const s: Spawn = { pid, at, argv };
    spawns.push(s);
    lastOf.set(pid, s);
  }
  return spawns;
}

/** A program's name for a table: basename plus the first arguments that say what it did. */
export function spawnLabel(argv: readonly string[]): string {
  const base = (argv[0] ?? '?').split('/').pop()!;
  const shown = argv.slice(1).filter((a) => !a.startsWith('/') || a.length < 40).slice(0, 4);
  const text = [base, ...shown].join(' ');
  return text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

/**
 * A timeline of ONE pod start: every debug-logged step of the daemon (RPCs, CNI plugins, conmon
 * create, runc commands, the sandbox's own steps) and every program it or its descendants ran,
 * as [start, end] ms from the first RPC's start, in start order.
 */
export function podTrace(log: string, spawns: readonly Spawn[], window: readonly [number, number], sandboxId: string): string {
  const rows: Array<{ start: number; end?: number; what: string }> = [];
  for (const raw of log.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let l: LogLine & { step?: string };
    try {
      l = JSON.parse(raw) as LogLine & { step?: string };
    } catch {
      continue;
    }
    if (typeof l.ms !== 'number' || typeof l.time !== 'number' || l.time < window[0] || l.time > window[1] + 5) continue;
    const name = l.msg === 'pod step' ? `  ${l.step}` : stepName(l, new Set([sandboxId]));
    if (!name) continue;
    rows.push({ start: l.time - l.ms, end: l.time, what: name.startsWith('rpc ') ? name : `  ${name.trim()}` });
  }
  for (const s of spawns) if (s.at >= window[0] - 5 && s.at <= window[1] + 5) rows.push({ start: s.at, end: s.end, what: `  spawn: ${spawnLabel(s.argv)}` });
  const t0 = Math.min(...rows.filter((r) => r.what.startsWith('rpc ')).map((r) => r.start), window[0]);
  rows.sort((a, b) => a.start - b.start || (b.end ?? Infinity) - (a.end ?? Infinity));
  const fmt = (v: number) => (v - t0).toFixed(1);
  return table([
    ['step (indented: inside the RPC above; spawn: a program run, until it exited or exec\'d)', 'start ms', 'end ms', 'took ms'],
    ...rows.map((r) => [r.what, fmt(r.start), r.end === undefined ? 'runs on' : fmt(r.end), r.end === undefined ? '-' : (r.end - r.start).toFixed(1)]),
  ]);
}
