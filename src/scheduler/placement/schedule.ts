/**
 * Placement: pick a node for one pod, as kube-scheduler's default profile does in spirit. Filters
 * drop nodes the pod cannot run on; scores rank the rest; the best wins. Pure: the result depends
 * only on the pod, the snapshot and the options (binding is the caller's job: snapshot.addPod).
 *
 * Every node is evaluated for every pod. kube-scheduler's percentageOfNodesToScore (stop filtering
 * once enough feasible nodes were found) is not used: with per-node sums precomputed in the
 * snapshot, a full pass over 5,000 nodes is cheap, and a full pass keeps placement exact.
 */
import type { Pod, Taint, Toleration } from '../../api/index.js';
import { invalidArgument } from '../../lib/index.js';
import { podFacts, WILDCARD_IP, type PodFacts } from './pod-facts.js';
import type { ClusterSnapshot, NodeState } from './snapshot.js';
import { firstUntolerated, tolerated, UNSCHEDULABLE_TAINT } from './tolerations.js';

/** Why a node was filtered out, in kube-scheduler's words (what FailedScheduling events say). */
export const FilterReason = {
  localVolume: "node(s) didn't have the pod's local volume",
  notReady: 'node(s) were not ready',
  unschedulable: 'node(s) were unschedulable',
  nodeSelector: "node(s) didn't match Pod's node affinity/selector",
  tooManyPods: 'Too many pods',
  insufficientCpu: 'Insufficient cpu',
  insufficientMemory: 'Insufficient memory',
  hostPorts: "node(s) didn't have free ports for the requested pod ports",
} as const;

/** The reason for a taint the pod does not tolerate: "node(s) had untolerated taint {key: value}". */
export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

/** How much each score (0..100) counts in a node's total. */
export interface ScoreWeights {
  /** Prefer nodes with the most free cpu and memory after placing the pod. */
  leastAllocated: number;
  /** Prefer nodes whose cpu and memory would be used in equal fractions. */
  balancedAllocation: number;
  /** Prefer nodes running fewer replicas of the pod's owner. */
  spread: number;
}

/** Spread weighs double, as kube-scheduler weighs PodTopologySpread: replicas apart beat tight packing. */
export const DEFAULT_SCORE_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({ leastAllocated: 1, balancedAllocation: 1, spread: 2 });

export interface ScheduleOptions {
  /**
   * Storage-aware placement: the only node the pod may go to, because its persistent local volume
   * (a StatefulSet ordinal's data) lives there. Other nodes fail with "didn't have the pod's local volume".
   */
  requiredNode?: string;
  /**
   * The only node the pod may go to because its controller made it for that node (a DaemonSet's
   * pod, see PINNED_NODE_ANNOTATION). Other nodes fail with "didn't match Pod's node affinity/selector".
   */
  pinnedNode?: string;
  /** Score weights; missing ones take {@link DEFAULT_SCORE_WEIGHTS}. */
  weights?: Partial<ScoreWeights>;
}

/**
 * The chosen node, or why there is none: `reasons` maps each node to why it was filtered out
 * (several reasons joined by ", "), and `message` is the FailedScheduling event text, e.g.
 * "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
 */
export type ScheduleResult = { node: string } | { node: undefined; reasons: Record<string, string>; message: string };

/** The pod, read once for the node loop. */
interface PodView {
  facts: PodFacts;
  tolerations: readonly Toleration[];
  toleratesUnschedulable: boolean;
  selector: [string, string][];
  requiredNode: string | undefined;
  pinnedNode: string | undefined;
}

/**
 * Places one pod on the best node of the snapshot, without binding it. Filters, in order (the
 * first failing one is a node's reason; the resource filter reports all of pods, cpu and memory
 * that fall short): the required node (first, so a storage-bound pod's event names the one node
 * that matters and every other node simply lacks the volume), the pinned node (likewise, for a
 * DaemonSet's pod), Ready, not cordoned, taints, nodeSelector, resources (pod count < allocatable
 * pods; cpu and memory requests ≤ allocatable − bound requests, checked only for a non-zero
 * request), host ports. Scores: least allocated, balanced allocation,
 * owner spread; equal totals go to the first node in name order starting from an offset that moves
 * with every bind (the bound pod count), so equal nodes fill round-robin yet the result stays a
 * function of its inputs. Throws InvalidArgument on unreadable pod resources or bad weights.
 */
export function schedule(pod: Pod, snapshot: ClusterSnapshot, opts: ScheduleOptions = {}): ScheduleResult {
  const weights = resolveWeights(opts.weights);
  const tolerations = pod.spec.tolerations ?? [];
  const view: PodView = {
    facts: podFacts(pod),
    tolerations,
    toleratesUnschedulable: tolerated(tolerations, UNSCHEDULABLE_TAINT),
    selector: Object.entries(pod.spec.nodeSelector ?? {}),
    requiredNode: opts.requiredNode,
    pinnedNode: opts.pinnedNode,
  };

  const nodes = snapshot.ordered;
  const feasible = snapshot.feasibleScratch;
  feasible.length = 0;
  for (let i = 0; i < nodes.length; i++) if (passes(nodes[i], view, undefined)) feasible.push(nodes[i]);
  if (feasible.length === 0) return explain(nodes, view);
  const best = feasible.length === 1 ? feasible[0] : pickBest(feasible, view.facts, snapshot, weights);
  feasible.length = 0; // hold no node states between calls
  return { node: best.name };
}

function resolveWeights(w: Partial<ScoreWeights> | undefined): Readonly<ScoreWeights> {
  if (w === undefined) return DEFAULT_SCORE_WEIGHTS;
  const out = { ...DEFAULT_SCORE_WEIGHTS, ...w };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v < 0) throw invalidArgument(`score weight ${k} must be a finite number ≥ 0, got ${v}`);
  }
  return out;
}

/**
 * Whether the pod may run on node n. With `out`, the reasons it may not are appended (the hot path
 * passes none, so it builds no strings).
 */
function passes(n: NodeState, p: PodView, out: string[] | undefined): boolean {
  if (p.requiredNode !== undefined && n.name !== p.requiredNode) return fail(out, FilterReason.localVolume);
  if (p.pinnedNode !== undefined && n.name !== p.pinnedNode) return fail(out, FilterReason.nodeSelector);
  if (!n.ready) return fail(out, FilterReason.notReady);
  if (n.unschedulable && !p.toleratesUnschedulable) return fail(out, FilterReason.unschedulable);
  if (n.hardTaints.length > 0) {
    const taint = firstUntolerated(n.hardTaints, p.tolerations);
    if (taint) return fail(out, out && untoleratedTaintReason(taint));
  }
  for (let i = 0; i < p.selector.length; i++) {
    if (n.labels[p.selector[i][0]] !== p.selector[i][1]) return fail(out, FilterReason.nodeSelector);
  }
  const f = p.facts;
  let fits = true;
  if (n.pods + 1 > n.maxPods) fits = fail(out, FilterReason.tooManyPods);
  if (f.cpuMillis > 0 && f.cpuMillis > n.allocCpuMillis - n.requestedCpuMillis) fits = fail(out, FilterReason.insufficientCpu);
  if (f.memoryBytes > 0 && f.memoryBytes > n.allocMemoryBytes - n.requestedMemoryBytes) fits = fail(out, FilterReason.insufficientMemory);
  if (!fits) return false;
  if (f.hostPorts.length > 0 && n.hostPorts !== undefined && portsConflict(n.hostPorts, f)) return fail(out, FilterReason.hostPorts);
  return true;
}

function fail(out: string[] | undefined, reason: string | undefined): false {
  if (out && reason) out.push(reason);
  return false;
}

/**
 * A wanted host port conflicts with a used one of the same protocol and port when either binds the
 * wildcard 0.0.0.0 or both bind the same IP.
 */
function portsConflict(used: Map<string, Map<string, number>>, f: PodFacts): boolean {
  for (const want of f.hostPorts) {
    const ips = used.get(want.key);
    if (ips === undefined) continue;
    if (want.hostIP === WILDCARD_IP || ips.has(WILDCARD_IP) || ips.has(want.hostIP)) return true;
  }
  return false;
}

/** The unschedulable result: each node's reasons, and kube-scheduler's summary of them. */
function explain(nodes: readonly NodeState[], view: PodView): ScheduleResult {
  if (nodes.length === 0) return { node: undefined, reasons: {}, message: 'no nodes available to schedule pods' };
  const reasons: Record<string, string> = {};
  const histogram = new Map<string, number>();
  const out: string[] = [];
  for (const n of nodes) {
    out.length = 0;
    passes(n, view, out);
    reasons[n.name] = out.join(', ');
    for (const r of out) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  }
  // Sorted as strings, as kube-scheduler sorts its "<count> <reason>" list.
  const parts = [...histogram].map(([reason, count]) => `${count} ${reason}`).sort();
  return { node: undefined, reasons, message: `0/${nodes.length} nodes are available: ${parts.join(', ')}.` };
}

/** The feasible node with the highest weighted score (see {@link schedule} for the tie-break). */
function pickBest(feasible: readonly NodeState[], f: PodFacts, snapshot: ClusterSnapshot, w: Readonly<ScoreWeights>): NodeState {
  // Spread: load this owner's per-node replica counts into the slot-indexed scratch array, so the
  // loop below reads a typed array instead of probing a map per node.
  const counts = w.spread > 0 && f.ownerKey !== undefined ? snapshot.owners.get(f.ownerKey) : undefined;
  const scratch = snapshot.ownerScratch;
  let maxCount = 0;
  if (counts) {
    for (const [slot, count] of counts) scratch[slot] = count;
    for (let i = 0; i < feasible.length; i++) if (scratch[feasible[i].slot] > maxCount) maxCount = scratch[feasible[i].slot];
  }

  const len = feasible.length;
  let index = snapshot.boundPodCount % len;
  let best = feasible[index];
  let bestScore = -1;
  for (let i = 0; i < len; i++, index = index + 1 === len ? 0 : index + 1) {
    const n = feasible[index];
    const cpuRequested = n.scoreCpuMillis + f.scoreCpuMillis;
    const memRequested = n.scoreMemoryBytes + f.scoreMemoryBytes;
    // Integer scores, as kube-scheduler's: nodes that differ by a rounding hair count as equal and
    // are then spread round-robin instead of always losing to the same marginally emptier node.
    const leastAllocated = Math.floor((freeScore(cpuRequested, n.allocCpuMillis) + freeScore(memRequested, n.allocMemoryBytes)) / 2);
    const cpuFraction = fraction(cpuRequested, n.allocCpuMillis);
    const memFraction = fraction(memRequested, n.allocMemoryBytes);
    const balanced = Math.floor((1 - Math.abs(cpuFraction - memFraction)) * 100);
    const spread = maxCount === 0 ? 100 : Math.floor((100 * (maxCount - scratch[n.slot])) / maxCount);
    const score = w.leastAllocated * leastAllocated + w.balancedAllocation * balanced + w.spread * spread;
    if (score > bestScore) {
      bestScore = score;
      best = n;
    }
  }

  if (counts) for (const slot of counts.keys()) scratch[slot] = 0;
  return best;
}

/** (allocatable − requested) × 100 / allocatable in integers, 0 when full or over. */
function freeScore(requested: number, allocatable: number): number {
  if (requested >= allocatable) return 0;
  return Math.floor(((allocatable - requested) * 100) / allocatable);
}

/** requested / allocatable, capped at 1 (a node with nothing allocatable counts as full). */
function fraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return requested >= allocatable ? 1 : requested / allocatable;
}
