/**
 * The scheduler's view of the cluster: each node's static facts plus running sums of what is bound
 * to it (requests, pod count, host ports, replicas per owner). Binding or unbinding a pod is O(1)
 * (O(its host ports)), so placement never re-adds every bound pod, which is what makes thousands of
 * placements per second over thousands of nodes possible.
 */
import type { Node, Pod, Taint } from '../../api/index.js';
import { cpuMillis, memoryBytes, podFinished } from '../../api/index.js';
import { invalidArgument, wrap } from '../../lib/index.js';
import { podFacts, type PodFacts } from './pod-facts.js';
import { isHardTaint } from './tolerations.js';

/** The taint the node lifecycle controller puts on a node whose DiskPressure condition is True. */
const DISK_PRESSURE_TAINT = { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' } as const;

/** kubelet's default maxPods, used when a node reports no "pods" allocatable. */
export const DEFAULT_MAX_PODS = 110;

/**
 * One node as placement reads it. Exported for the placement module only (not from index.ts):
 * the filter and score loops read these fields directly because they run nodes × pods times.
 */
export class NodeState {
  ready = false;
  unschedulable = false;
  /** Only NoSchedule/NoExecute taints; PreferNoSchedule does not filter. */
  hardTaints: readonly Taint[] = [];
  labels: Readonly<Record<string, string>> = {};
  allocCpuMillis = 0;
  allocMemoryBytes = 0;
  maxPods = DEFAULT_MAX_PODS;
  requestedCpuMillis = 0;
  requestedMemoryBytes = 0;
  /** Requests with the scoring defaults for pods that request nothing (see pod-facts.ts). */
  scoreCpuMillis = 0;
  scoreMemoryBytes = 0;
  pods = 0;
  /** "protocol/port" → host IP → how many bound pods claim it; undefined while no pod has host ports. */
  hostPorts: Map<string, Map<string, number>> | undefined = undefined;

  constructor(
    /** A stable small integer, indexing the snapshot's per-owner counts and scratch arrays. */
    readonly slot: number,
    readonly name: string,
  ) {}
}

/** What one node holds, as {@link ClusterSnapshot.summary} reports it (and `describe node` can show). */
export interface NodeUsage {
  allocatable: { cpuMillis: number; memoryBytes: number; pods: number };
  requested: { cpuMillis: number; memoryBytes: number };
  pods: number;
  /** "protocol/port@hostIP", sorted. */
  hostPorts: string[];
}

/** The whole snapshot as plain data: equal for equal cluster states, however they were reached. */
export interface SnapshotSummary {
  nodes: Record<string, NodeUsage>;
  /** Owner key → node → replicas on that node (only nodes in the snapshot). */
  owners: Record<string, Record<string, number>>;
  /** Bound pods, including those bound to nodes the snapshot does not (yet) have. */
  boundPods: number;
}

interface Binding {
  nodeName: string;
  facts: PodFacts;
}


/** Cluster state for placement: nodes, and what is bound to them. Not thread-safe; pure data. */
export class ClusterSnapshot {
  /** Nodes sorted by name: the order filters run in and ties are broken in. Read-only outside. */
  readonly ordered: NodeState[] = [];
  /** Owner key → node slot → replicas of that owner bound there. Read-only outside. */
  readonly owners = new Map<string, Map<number, number>>();
  /**
   * Scratch space for the scorer, indexed by slot, all zero between calls; kept here so a
   * placement allocates nothing proportional to the number of nodes.
   */
  ownerScratch = new Int32Array(16);
  /** Reused list of feasible nodes (scratch, like ownerScratch). */
  readonly feasibleScratch: NodeState[] = [];

  private readonly byName = new Map<string, NodeState>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** Pod uid → where it is bound and what it added. */
  private readonly bindings = new Map<string, Binding>();
  /** Node name → uids of pods bound there, also for names the snapshot has no node for yet. */
  private readonly podsOnNode = new Map<string, Set<string>>();

  /**
   * Builds a snapshot from nodes and pods. Only pods that hold resources count: those with a
   * spec.nodeName and not Succeeded or Failed; others are skipped, so all pods can be passed.
   * Throws InvalidArgument on a node or pod whose quantities cannot be read.
   */
  constructor(nodes: readonly Node[] = [], pods: readonly Pod[] = []) {
    for (const n of nodes) this.setNode(n);
    for (const p of pods) {
      const nodeName = p.spec.nodeName;
      if (nodeName && !podFinished(p)) this.addPod(p, nodeName);
    }
  }

  /** Number of nodes. */
  get nodeCount(): number {
    return this.ordered.length;
  }

  /** Number of bound pods (also those on nodes not in the snapshot). */
  get boundPodCount(): number {
    return this.bindings.size;
  }

  /** Node names in order. */
  nodeNames(): string[] {
    return this.ordered.map((n) => n.name);
  }

  /** The node a pod (by uid) is bound to in this snapshot, if any. */
  nodeOf(podUid: string): string | undefined {
    return this.bindings.get(podUid)?.nodeName;
  }

  /**
   * Records that pod runs on nodeName (a bind). Binding a pod already bound moves it: its old
   * contribution is removed first, so replayed events do not count twice. nodeName need not be
   * a known node yet; its pods are counted when the node is set. Throws InvalidArgument on
   * unreadable resources.
   */
  addPod(pod: Pod, nodeName: string): void {
    const uid = pod.metadata.uid;
    if (!uid) throw invalidArgument(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no uid`);
    const facts = podFacts(pod);
    this.unbind(uid);
    this.bindings.set(uid, { nodeName, facts });
    let uids = this.podsOnNode.get(nodeName);
    if (!uids) this.podsOnNode.set(nodeName, (uids = new Set()));
    uids.add(uid);
    const node = this.byName.get(nodeName);
    if (node) this.apply(node, facts, 1);
  }

  /**
   * Forgets a pod's binding (deleted, or finished). The recorded contribution is subtracted, so a
   * pod object changed since the bind still removes exactly what was added. When nodeName is given
   * and the pod is bound elsewhere (a stale event), nothing changes. Returns whether it was bound.
   */
  removePod(pod: Pod, nodeName?: string): boolean {
    const b = this.bindings.get(pod.metadata.uid);
    if (!b || (nodeName !== undefined && b.nodeName !== nodeName)) return false;
    this.unbind(pod.metadata.uid);
    return true;
  }

  /**
   * Adds a node or replaces its spec and status (heartbeats, cordon, taints, labels). What is
   * bound to it stays. Throws InvalidArgument when its allocatable cannot be read.
   */
  setNode(node: Node): void {
    const name = node.metadata.name;
    if (!name) throw invalidArgument('node has no name');
    const facts = readNode(node); // before any change, so a bad node leaves the snapshot as it was
    let state = this.byName.get(name);
    if (state) {
      Object.assign(state, facts);
      return;
    }
    state = Object.assign(new NodeState(this.takeSlot(), name), facts);
    this.byName.set(name, state);
    this.ordered.splice(insertionIndex(this.ordered, name), 0, state);
    for (const uid of this.podsOnNode.get(name) ?? []) this.apply(state, this.bindings.get(uid)!.facts, 1);
  }

  /**
   * Removes a node. Pods bound to it stay recorded (until removePod) and count again if a node of
   * that name comes back, as they would in the API. Returns whether the node existed.
   */
  removeNode(name: string): boolean {
    const state = this.byName.get(name);
    if (!state) return false;
    for (const uid of this.podsOnNode.get(name) ?? []) this.apply(state, this.bindings.get(uid)!.facts, -1);
    this.byName.delete(name);
    this.ordered.splice(this.ordered.indexOf(state), 1);
    this.freeSlots.push(state.slot);
    return true;
  }

  /** What one node holds, or undefined for an unknown node. */
  usage(name: string): NodeUsage | undefined {
    const n = this.byName.get(name);
    if (!n) return undefined;
    const hostPorts: string[] = [];
    for (const [key, ips] of n.hostPorts ?? []) for (const ip of ips.keys()) hostPorts.push(`${key}@${ip}`);
    return {
      allocatable: { cpuMillis: n.allocCpuMillis, memoryBytes: n.allocMemoryBytes, pods: n.maxPods },
      requested: { cpuMillis: n.requestedCpuMillis, memoryBytes: n.requestedMemoryBytes },
      pods: n.pods,
      hostPorts: hostPorts.sort(),
    };
  }

  /** The whole state as plain data (for debugging and for checking incremental updates). */
  summary(): SnapshotSummary {
    const nodes: Record<string, NodeUsage> = {};
    const nameOfSlot = new Map<number, string>();
    for (const n of this.ordered) {
      nodes[n.name] = this.usage(n.name)!;
      nameOfSlot.set(n.slot, n.name);
    }
    const owners: Record<string, Record<string, number>> = {};
    for (const key of [...this.owners.keys()].sort()) {
      const perNode: Record<string, number> = {};
      const entries = [...this.owners.get(key)!].map(([slot, count]) => [nameOfSlot.get(slot)!, count] as const);
      for (const [name, count] of entries.sort((a, b) => (a[0] < b[0] ? -1 : 1))) perNode[name] = count;
      owners[key] = perNode;
    }
    return { nodes, owners, boundPods: this.bindings.size };
  }

  private unbind(uid: string): void {
    const b = this.bindings.get(uid);
    if (!b) return;
    this.bindings.delete(uid);
    const uids = this.podsOnNode.get(b.nodeName)!;
    uids.delete(uid);
    if (uids.size === 0) this.podsOnNode.delete(b.nodeName);
    const node = this.byName.get(b.nodeName);
    if (node) this.apply(node, b.facts, -1);
  }

  /** Adds (sign 1) or subtracts (sign -1) one pod's contribution to a node's sums. */
  private apply(n: NodeState, f: PodFacts, sign: 1 | -1): void {
    n.requestedCpuMillis += sign * f.cpuMillis;
    n.requestedMemoryBytes += sign * f.memoryBytes;
    n.scoreCpuMillis += sign * f.scoreCpuMillis;
    n.scoreMemoryBytes += sign * f.scoreMemoryBytes;
    n.pods += sign;
    for (const hp of f.hostPorts) addCount((n.hostPorts ??= new Map()), hp.key, hp.hostIP, sign);
    if (n.hostPorts?.size === 0) n.hostPorts = undefined;
    if (f.ownerKey !== undefined) addCount(this.owners, f.ownerKey, n.slot, sign);
  }

  private takeSlot(): number {
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.ownerScratch.length) {
      const grown = new Int32Array(this.ownerScratch.length * 2);
      grown.set(this.ownerScratch);
      this.ownerScratch = grown;
    }
    return slot;
  }
}

/** A node's static facts, as NodeState fields. */
type NodeFacts = Pick<NodeState, 'ready' | 'unschedulable' | 'hardTaints' | 'labels' | 'allocCpuMillis' | 'allocMemoryBytes' | 'maxPods'>;

/** Reads a node's static facts; allocatable falls back to capacity, as the API defaults it. */
function readNode(node: Node): NodeFacts {
  const { allocatable = {}, capacity = {}, conditions = [] } = node.status ?? {};
  const quantity = (resource: string, parse: (q: string) => number, missing: number): number => {
    const q = allocatable[resource] ?? capacity[resource];
    if (q === undefined) return missing;
    try {
      return parse(q);
    } catch (err) {
      throw wrap(err, `node ${node.metadata.name}: status.allocatable.${resource}`);
    }
  };
  return {
    allocCpuMillis: quantity('cpu', cpuMillis, 0),
    allocMemoryBytes: quantity('memory', memoryBytes, 0),
    maxPods: quantity('pods', memoryBytes, DEFAULT_MAX_PODS),
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: node.spec?.unschedulable === true,
    // TaintNodesByCondition: a node reporting DiskPressure takes no pod that does not tolerate it.
    hardTaints: [...(node.spec?.taints ?? []), ...(conditions.some((c) => c.type === 'DiskPressure' && c.status === 'True') ? [DISK_PRESSURE_TAINT] : [])].filter(isHardTaint),
    labels: node.metadata.labels ?? {},
  };
}

/** Where name goes in the name-sorted list (binary search). */
function insertionIndex(ordered: readonly NodeState[], name: string): number {
  let lo = 0;
  let hi = ordered.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ordered[mid].name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds delta to counts[outer][inner], dropping a count that reaches 0 and an inner map left empty. */
function addCount<A, B>(counts: Map<A, Map<B, number>>, outer: A, inner: B, delta: number): void {
  let perInner = counts.get(outer);
  if (!perInner) counts.set(outer, (perInner = new Map()));
  const count = (perInner.get(inner) ?? 0) + delta;
  if (count > 0) perInner.set(inner, count);
  else perInner.delete(inner);
  if (perInner.size === 0) counts.delete(outer);
}
