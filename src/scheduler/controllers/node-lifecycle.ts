/**
 * The node lifecycle controller, with kube-controller-manager's semantics (node_lifecycle_controller.go):
 *
 * - Health is judged by this process's own clock: a node's probe time is when this controller first
 *   saw it (its own start, for every stored node) or last saw its heartbeat change. A node is marked
 *   Ready=False/NodeStatusUnknown only when its probe time is older than the monitor grace period
 *   (40 s), or the startup grace period (60 s) for a node that never posted a Ready condition. So a
 *   restarted scheduler never judges nodes by heartbeat times written before it started, nor by a
 *   NotReady status stored before it started (until the monitor grace period from its start passed).
 * - A NotReady node is queued in its zone (label topology.kubernetes.io/zone; unlabeled nodes form one
 *   zone) and "tainted" (node.kubernetes.io/unreachable or not-ready, NoExecute) at the zone's rate:
 *   --node-eviction-rate (0.1 nodes/s) in a Normal zone, --secondary-node-eviction-rate (0.01) in a
 *   PartiallyDisrupted zone of more than --large-cluster-size-threshold (50) nodes, and 0 (none) in a
 *   smaller one. A zone is PartiallyDisrupted when more than 2 of its nodes and at least
 *   --unhealthy-zone-threshold (0.55) of them are NotReady, FullyDisrupted when none is Ready.
 * - Pods on a tainted node are deleted (gracefully: they stay Terminating until the node confirms)
 *   --pod-eviction-timeout (300 s) after the taint, or after their own tolerationSeconds.
 * - When every zone is FullyDisrupted (the scheduler cannot reach any node: most likely its own
 *   network), nothing is evicted and the taints are dropped; when a zone recovers, every node gets a
 *   fresh grace period (probe and transition times reset), as Kubernetes does.
 * The taints live in this controller's memory (a restarted scheduler starts its timers again, as
 * the kube taint manager does); their decisions are written as Events on the nodes and pods.
 */
import { NODE_STATUS_UNKNOWN, type Node, type NodeCondition } from '../../api/index.js';
import type { Store, StoredObject } from '../store/index.js';
import { evictPodsFromNode, lostNodeTaint, type EvictedPod } from './node-loss.js';
import { collectOrphanedTerminatingPods } from './pod-deletion.js';
import { isolated, type ControllerFailure } from './isolate.js';

const COMPONENT = 'node-lifecycle-controller';

/** The zone label; nodes without it form the zone "". */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** The controller's settings (kube-controller-manager's flags and defaults). */
export interface NodeLifecycleConfig {
  /** --node-monitor-grace-period: a node silent this long is marked NotReady (40 s). */
  nodeMonitorGracePeriodMs: number;
  /** --node-startup-grace-period: the same for a node that never posted Ready (60 s). */
  nodeStartupGracePeriodMs: number;
  /** --pod-eviction-timeout: pods leave a tainted node this long after the taint (300 s). */
  podEvictionTimeoutMs: number;
  /** --node-eviction-rate: nodes tainted per second in a healthy zone (0.1). */
  nodeEvictionRate: number;
  /** --secondary-node-eviction-rate: the same in a partially disrupted large zone (0.01). */
  secondaryNodeEvictionRate: number;
  /** --large-cluster-size-threshold: a zone of at most this many nodes stops evicting when partially disrupted (50). */
  largeClusterSizeThreshold: number;
  /** --unhealthy-zone-threshold: the NotReady fraction that makes a zone partially disrupted (0.55). */
  unhealthyZoneThreshold: number;
}

export const NODE_LIFECYCLE_DEFAULTS: Readonly<NodeLifecycleConfig> = {
  nodeMonitorGracePeriodMs: 40_000,
  nodeStartupGracePeriodMs: 60_000,
  podEvictionTimeoutMs: 300_000,
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  largeClusterSizeThreshold: 50,
  unhealthyZoneThreshold: 0.55,
};

export type ZoneState = 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** kube's ComputeZoneState over the Ready flags of one zone's nodes. */
export function computeZoneState(ready: number, notReady: number, unhealthyZoneThreshold: number): ZoneState {
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyZoneThreshold) return 'PartialDisruption';
  return 'Normal';
}

/**
 * A token bucket of burst 1 (client-go's TokenBucketRateLimiter as the controller uses it): with
 * burst 1 the next token comes 1/rate after the last one was taken. Rate 0 never accepts.
 */
class TokenBucket {
  /** When the next token is there (ms); -Infinity: a full bucket. */
  private nextMs = -Infinity;
  constructor(readonly rate: number) {}

  tryAccept(nowMs: number): boolean {
    if (!this.hasToken(nowMs)) return false;
    this.nextMs = nowMs + 1000 / this.rate;
    return true;
  }

  /** Empty (after a swap while the old bucket was waiting, as SwapLimiter drains the new one). */
  drain(nowMs: number): void {
    if (this.rate > 0) this.nextMs = nowMs + 1000 / this.rate;
  }

  hasToken(nowMs: number): boolean {
    return this.rate > 0 && nowMs >= this.nextMs;
  }
}

interface NodeHealth {
  /** When this controller last saw the node alive (its first sight counts). */
  probeMs: number;
  /** The Ready condition's lastHeartbeatTime as last seen. */
  heartbeat: string | undefined;
  /** True once this process saw the node report (its heartbeat changed) or marked it Unknown itself. */
  observed: boolean;
}

interface ZoneRecord {
  state: ZoneState;
  size: number;
  limiter: TokenBucket;
  /** Node names waiting for the limiter, oldest first. */
  queue: string[];
}

/** What one {@link NodeLifecycleController.pass} did. */
export interface NodeLifecyclePassResult {
  /** Nodes marked NotReady in this pass. */
  markedNotReady: string[];
  /** Nodes tainted (their pods' eviction clocks started) in this pass. */
  tainted: string[];
  /** Pods whose deletion was requested in this pass. */
  evicted: EvictedPod[];
  /** Zone name ("" for unlabeled nodes) → state after this pass. */
  zones: Record<string, ZoneState>;
  /** Objects whose handling threw in this pass (recorded by name; the other nodes and pods were still handled). */
  failures: ControllerFailure[];
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function zoneOf(node: Node): string {
  return node.metadata.labels?.[ZONE_LABEL] ?? '';
}

function recordNodeEvent(store: Store, node: StoredObject, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): void {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  store.recordEvent({
    type,
    reason,
    message,
    involvedObject: { kind: 'Node', name: node.metadata.name, uid: node.metadata.uid },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    source: { component: COMPONENT },
  });
}

/**
 * One per scheduler process: call {@link pass} periodically (every second) with the current time.
 * `startedAt` is the scheduler's start: every node has a full grace period from then.
 */
export class NodeLifecycleController {
  readonly config: NodeLifecycleConfig;
  private readonly health = new Map<string, NodeHealth>();
  /** Node → when its NoExecute taint was "added" (ms). */
  private readonly tainted = new Map<string, number>();
  private readonly zones = new Map<string, ZoneRecord>();
  /** Nodes told (by an event) that their eviction is held, so the event is written once per hold. */
  private readonly held = new Set<string>();
  private allFullyDisrupted = false;
  /** Node names of the last pass (undefined before the first): orphans are looked for when one disappears. */
  private lastNodeNames: Set<string> | undefined;

  constructor(
    readonly startedAt: Date,
    config: Partial<NodeLifecycleConfig> = {},
  ) {
    this.config = { ...NODE_LIFECYCLE_DEFAULTS, ...config };
  }

  private rateFor(state: ZoneState, size: number): number {
    const c = this.config;
    if (state === 'PartialDisruption') return size > c.largeClusterSizeThreshold ? c.secondaryNodeEvictionRate : 0;
    return c.nodeEvictionRate; // Normal, and FullDisruption of one zone among healthy ones (HealthyQPSFunc)
  }

  /** Health, zones, taints and evictions at `now`. */
  pass(store: Store, now: Date): NodeLifecyclePassResult {
    const nowMs = Math.max(now.getTime(), this.startedAt.getTime());
    const result: NodeLifecyclePassResult = { markedNotReady: [], tainted: [], evicted: [], zones: {}, failures: [] };
    store.transaction(() => {
      const nodes = store.list<Node & StoredObject>('Node');
      const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
      const names = new Set(byName.keys());
      for (const name of [...this.health.keys()]) {
        if (!names.has(name)) {
          this.health.delete(name);
          this.tainted.delete(name);
          this.held.delete(name);
        }
      }
      // 1. Health: mark silent nodes NotReady (reason NodeStatusUnknown).
      const notReady = new Set<string>();
      for (const node of nodes) {
        const name = node.metadata.name;
        const ready = readyCondition(node);
        let h = this.health.get(name);
        if (h === undefined) {
          h = { probeMs: nowMs, heartbeat: ready?.lastHeartbeatTime, observed: false };
          this.health.set(name, h);
        } else if (ready?.lastHeartbeatTime !== h.heartbeat) {
          h.probeMs = nowMs;
          h.heartbeat = ready?.lastHeartbeatTime;
          h.observed = true;
        }
        const grace = ready === undefined || ready.lastHeartbeatTime === undefined ? this.config.nodeStartupGracePeriodMs : this.config.nodeMonitorGracePeriodMs;
        if (ready?.reason !== NODE_STATUS_UNKNOWN && nowMs - h.probeMs > grace) {
          isolated(store, result.failures, `Node ${name} (mark NotReady)`, () => this.markUnknown(store, node, ready, now, grace));
          result.markedNotReady.push(name);
          h.observed = true;
          notReady.add(name);
          continue;
        }
        // A NotReady status stored before this start (a previous process's NodeStatusUnknown) is not
        // judged until the monitor grace period from this start has passed: the node may be reconnecting.
        if (ready?.status !== 'True' && (h.observed || nowMs - this.startedAt.getTime() > this.config.nodeMonitorGracePeriodMs)) notReady.add(name);
      }
      // 2. Zones.
      const byZone = new Map<string, { ready: number; notReady: number }>();
      for (const node of nodes) {
        const z = byZone.get(zoneOf(node)) ?? { ready: 0, notReady: 0 };
        if (notReady.has(node.metadata.name)) z.notReady++;
        else z.ready++;
        byZone.set(zoneOf(node), z);
      }
      for (const zone of [...this.zones.keys()]) if (!byZone.has(zone)) this.zones.delete(zone);
      const states = new Map<string, ZoneState>();
      for (const [zone, counts] of byZone) states.set(zone, computeZoneState(counts.ready, counts.notReady, this.config.unhealthyZoneThreshold));
      const allFully = states.size > 0 && [...states.values()].every((s) => s === 'FullDisruption');
      if (allFully && !this.allFullyDisrupted) {
        // Entering full disruption: stop every eviction and drop the taints.
        for (const name of this.tainted.keys()) {
          const node = byName.get(name);
          if (node) recordNodeEvent(store, node, 'Warning', 'EvictionCancelled', `every zone is fully disrupted (no node is Ready): the scheduler itself is probably cut off, so no pod is evicted from node ${name}`, now);
        }
        this.tainted.clear();
        for (const z of this.zones.values()) z.queue = [];
      }
      if (!allFully && this.allFullyDisrupted) {
        // Leaving full disruption: every node gets a fresh grace period before anything is evicted.
        for (const h of this.health.values()) h.probeMs = nowMs;
        this.tainted.clear();
        for (const z of this.zones.values()) z.queue = [];
      }
      this.allFullyDisrupted = allFully;
      for (const [zone, state] of states) {
        const size = byZone.get(zone)!.ready + byZone.get(zone)!.notReady;
        const rate = this.rateFor(state, size);
        let rec = this.zones.get(zone);
        if (rec === undefined) {
          rec = { state, size, limiter: new TokenBucket(rate), queue: [] };
          this.zones.set(zone, rec);
        } else if (rec.limiter.rate !== rate) {
          const waiting = !rec.limiter.hasToken(nowMs);
          rec.limiter = new TokenBucket(rate);
          if (waiting) rec.limiter.drain(nowMs);
        }
        rec.state = state;
        rec.size = size;
        result.zones[zone] = state;
      }
      // 3. Taints: Ready nodes lose theirs; NotReady ones queue for the zone's limiter.
      for (const rec of this.zones.values()) rec.queue = rec.queue.filter((n) => byName.has(n) && notReady.has(n));
      const queued = new Set([...this.zones.values()].flatMap((z) => z.queue));
      for (const node of nodes) {
        const name = node.metadata.name;
        const rec = this.zones.get(zoneOf(node))!;
        if (!notReady.has(name)) {
          this.held.delete(name);
          if (this.tainted.delete(name)) recordNodeEvent(store, node, 'Normal', 'NodeReady', `node ${name} is Ready again: its pods are no longer evicted`, now);
          continue;
        }
        if (allFully || this.tainted.has(name) || queued.has(name)) continue;
        rec.queue.push(name);
        queued.add(name);
      }
      if (!allFully) {
        for (const [zone, rec] of this.zones) {
          while (rec.queue.length > 0 && rec.limiter.tryAccept(nowMs)) {
            const name = rec.queue.shift()!;
            const node = byName.get(name);
            if (!node) continue;
            this.tainted.set(name, nowMs);
            this.held.delete(name);
            result.tainted.push(name);
            const taint = lostNodeTaint(node);
            recordNodeEvent(
              store,
              node,
              'Warning',
              'NodeTainted',
              `node ${name} is not Ready: tainted ${taint.key}:NoExecute; its pods without a matching toleration are deleted in ${Math.round(this.config.podEvictionTimeoutMs / 1000)}s`,
              now,
            );
          }
          for (const name of rec.queue) {
            if (this.held.has(name)) continue;
            const node = byName.get(name);
            if (!node) continue;
            this.held.add(name);
            const counts = byZone.get(zone)!;
            const why =
              rec.state === 'PartialDisruption'
                ? `zone "${zone}" is partially disrupted (${counts.notReady} of ${counts.notReady + counts.ready} nodes NotReady, threshold ${this.config.unhealthyZoneThreshold}): evictions there ${rec.limiter.rate > 0 ? `slow down to ${rec.limiter.rate} nodes/s` : 'stop'}`
                : `evictions in zone "${zone}" are rate limited to ${rec.limiter.rate} nodes/s`;
            recordNodeEvent(store, node, 'Warning', 'EvictionHeld', `node ${name} is not Ready, but its pods are not evicted yet: ${why}`, now);
          }
        }
      } else {
        for (const node of nodes) {
          const name = node.metadata.name;
          if (!notReady.has(name) || this.held.has(name)) continue;
          this.held.add(name);
          recordNodeEvent(store, node, 'Warning', 'EvictionHeld', `node ${name} is not Ready, but no node of any zone is Ready (full disruption): no pod is evicted`, now);
        }
      }
      // 4. Evictions from tainted nodes.
      for (const [name, since] of this.tainted) {
        const node = byName.get(name);
        if (node) result.evicted.push(...evictPodsFromNode(store, node, since, now, this.config.podEvictionTimeoutMs, result.failures));
      }
      // 5. Terminating pods whose node is gone can never be confirmed: remove them (pod GC). Only
      // at the first pass and after a node disappeared: it reads every pod.
      if (this.lastNodeNames === undefined || [...this.lastNodeNames].some((n) => !names.has(n))) isolated(store, result.failures, 'orphaned terminating pods', () => collectOrphanedTerminatingPods(store, names, now));
      this.lastNodeNames = names;
    });
    return result;
  }

  private markUnknown(store: Store, node: Node & StoredObject, ready: NodeCondition | undefined, now: Date, graceMs: number): void {
    markNodeStatusUnknown(store, node.metadata.name, ready, now);
    recordNodeEvent(store, node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady (no heartbeat seen for ${Math.round(graceMs / 1000)}s)`, now);
  }
}

/**
 * Replaces the node's Ready condition by Ready=False, reason NodeStatusUnknown (as Kubernetes' node
 * lifecycle controller writes it), keeping the last heartbeat time of the old one.
 */
export function markNodeStatusUnknown(store: Store, nodeName: string, ready: NodeCondition | undefined, now: Date): void {
  store.mutate<Node>('Node', '', nodeName, (n) => {
    const stale: NodeCondition = {
      type: 'Ready',
      status: 'False',
      reason: NODE_STATUS_UNKNOWN,
      message: 'corelet agent stopped posting node status.',
      lastHeartbeatTime: ready?.lastHeartbeatTime,
      lastTransitionTime: now.toISOString(),
    };
    n.status.conditions = [...(n.status.conditions ?? []).filter((c) => c.type !== 'Ready'), stale];
  });
}
