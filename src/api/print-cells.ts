/**
 * The cells of kubectl's columns, computed the way kubectl's printers compute them: a pod's READY,
 * STATUS and RESTARTS, a node's STATUS and ROLES, a workload's containers and selector, a Job's
 * status and duration, a Service's ports, human ages (5s, 3m20s, 2d). Pure: every function takes the
 * object and the time to compute ages at. The scheduler's server-side Tables and the CLI's tables
 * share them.
 */
import type { ContainerStatus, Pod } from './pod-types.js';
import type { Node } from './node-types.js';
import type { Job, LabelSelector, PodTemplateSpec } from './workload-types.js';
import type { EndpointSlice, Service } from './service-types.js';
import { formatLabelSelector } from './label-selector.js';

/**
 * A duration as kubectl shows ages: seconds up to 2 minutes, minutes and seconds up to 10 minutes,
 * minutes up to 3 hours, hours and minutes up to 8 hours, hours up to 2 days, days and hours up to
 * 8 days, days up to 2 years, then years and days, then years. Negative durations (clock skew)
 * within a second show as 0s.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The age of an RFC 3339 timestamp at `now`, or "<unknown>". */
export function age(timestamp: string | undefined, now: Date): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** kubectl's empty cell. */
export const NONE = '<none>';

// ---- Pods ----

function containerCount(pod: Pod): number {
  return pod.spec?.containers?.length ?? 0;
}

/** "1/2": ready containers of all containers. */
export function podReady(pod: Pod): string {
  const ready = (pod.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  return `${ready}/${containerCount(pod)}`;
}

/** The reason a container shows: its waiting or terminated reason, or the exit code / signal. */
function stateReason(c: ContainerStatus): string | undefined {
  const { waiting, terminated } = c.state ?? {};
  if (waiting?.reason) return waiting.reason;
  if (terminated) return terminated.reason || (terminated.exitCode > 128 ? `Signal:${terminated.exitCode - 128}` : `ExitCode:${terminated.exitCode}`);
  return undefined;
}

/**
 * The STATUS column of a pod, as kubectl computes it: init progress ("Init:0/2", "Init:Error"), a
 * container's waiting or terminated reason (ContainerCreating, CrashLoopBackOff, Completed,
 * Error...), the phase otherwise, Terminating while being deleted.
 */
export function podStatus(pod: Pod): string {
  const status = pod.status;
  let reason = status?.reason || status?.phase || 'Pending';
  const inits = pod.spec?.initContainers ?? [];
  let initializing = false;
  (status?.initContainerStatuses ?? []).some((c, i) => {
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return false;
    initializing = true;
    if (t) reason = `Init:${t.reason || `ExitCode:${t.exitCode}`}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${inits.length}`;
    return true;
  });
  if (!initializing) {
    let running = false;
    for (const c of [...(status?.containerStatuses ?? [])].reverse()) {
      const r = stateReason(c);
      if (r) reason = r;
      else if (c.state?.running && c.ready) running = true;
    }
    // A pod with a finished container and a running one is still running.
    if (reason === 'Completed' && running) {
      reason = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/** "3" or "3 (2m ago)": restarts of the app containers and when the last one was. */
export function podRestarts(pod: Pod, now: Date): string {
  let restarts = 0;
  let last = 0;
  for (const c of pod.status?.containerStatuses ?? []) {
    restarts += c.restartCount ?? 0;
    const finished = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
    if (!Number.isNaN(finished)) last = Math.max(last, finished);
  }
  return restarts > 0 && last > 0 ? `${restarts} (${humanDuration(now.getTime() - last)} ago)` : String(restarts);
}

// ---- Nodes ----

/** Ready / NotReady / Unknown, plus ",SchedulingDisabled" when cordoned. */
export function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

/** Roles from node-role.kubernetes.io/<role> labels (and kubernetes.io/role), or <none>. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 24) roles.add(k.slice(24));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size > 0 ? [...roles].sort().join(',') : NONE;
}

export function internalIp(node: Node): string {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? NONE;
}

// ---- Workloads ----

/** "a=b,c in (x,y)" (kubectl's selector column). */
export function selectorText(s: LabelSelector | undefined): string {
  return formatLabelSelector(s) || NONE;
}

export function templateColumns(t: PodTemplateSpec | undefined): string[] {
  const cs = t?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(',') || NONE, cs.map((c) => c.image).join(',') || NONE];
}

/** Complete, Failed, Suspended or Running. */
export function jobStatus(job: Job): string {
  const conds = job.status?.conditions ?? [];
  const has = (type: string) => conds.some((c) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (has('Suspended') || job.spec?.suspend) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** "1/3" or, for a work queue, "1/1 of 3". */
export function jobCompletions(job: Job): string {
  const done = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined) return `${done}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 1;
  return parallelism > 1 ? `${done}/1 of ${parallelism}` : `${done}/1`;
}

export function jobDuration(job: Job, now: Date): string {
  const start = Date.parse(job.status?.startTime ?? '');
  if (Number.isNaN(start)) return '';
  const end = Date.parse(job.status?.completionTime ?? '');
  return humanDuration((Number.isNaN(end) ? now.getTime() : end) - start);
}

// ---- Services ----

/** kubectl's PORT(S): "80/TCP", "80:30080/TCP" for a node port, comma-separated; <none> without ports. */
export function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || NONE;
}

/** kubectl's SELECTOR of a Service: "app=web", <none> without one. */
export function serviceSelector(svc: Service): string {
  return Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || NONE;
}

/** kubectl's ENDPOINTS of a slice: the first 3 addresses and "+ N more...", <none> when it has none. */
export function sliceEndpoints(slice: EndpointSlice): string {
  const addresses = (slice.endpoints ?? []).flatMap((e) => e.addresses ?? []);
  if (addresses.length === 0) return NONE;
  return addresses.slice(0, 3).join(',') + (addresses.length > 3 ? ` + ${addresses.length - 3} more...` : '');
}

/** kubectl's PORTS of a slice: the port numbers, <unset> when it has none. */
export function slicePorts(slice: EndpointSlice): string {
  return (slice.ports ?? []).map((p) => String(p.port)).join(',') || '<unset>';
}
