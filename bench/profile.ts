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
