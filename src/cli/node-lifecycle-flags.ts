/**
 * The scheduler's node lifecycle flags, named and defaulted as kube-controller-manager's
 * (see scheduler/controllers/node-lifecycle.ts for what they do).
 */
import type { Command } from 'commander';
import { NODE_LIFECYCLE_DEFAULTS, type NodeLifecycleConfig } from '../scheduler/index.js';
import { parseDuration } from './progress.js';

export interface NodeLifecycleFlags {
  nodeMonitorGracePeriod: string;
  nodeStartupGracePeriod: string;
  nodeEvictionRate: string;
  secondaryNodeEvictionRate: string;
  largeClusterSizeThreshold: string;
  unhealthyZoneThreshold: string;
}

const seconds = (ms: number) => `${ms / 1000}s`;

/** Adds the flags (--pod-eviction-timeout stays with the command). */
export function withNodeLifecycleOptions(cmd: Command): Command {
  const d = NODE_LIFECYCLE_DEFAULTS;
  return cmd
    .option('--node-monitor-grace-period <duration>', 'a node without heartbeats this long is marked NotReady (counted from the scheduler\'s start at the earliest)', seconds(d.nodeMonitorGracePeriodMs))
    .option('--node-startup-grace-period <duration>', 'the same for a node that never posted Ready', seconds(d.nodeStartupGracePeriodMs))
    .option('--node-eviction-rate <nodes/s>', 'NotReady nodes whose pods start being evicted, per second, in a healthy zone', String(d.nodeEvictionRate))
    .option('--secondary-node-eviction-rate <nodes/s>', 'the same in a partially disrupted zone larger than --large-cluster-size-threshold (smaller ones stop)', String(d.secondaryNodeEvictionRate))
    .option('--large-cluster-size-threshold <nodes>', 'zones of more nodes keep evicting (slowly) when partially disrupted', String(d.largeClusterSizeThreshold))
    .option('--unhealthy-zone-threshold <fraction>', 'fraction of NotReady nodes (and more than 2) that makes a zone partially disrupted', String(d.unhealthyZoneThreshold));
}

function number(text: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new Error(`${flag} must be a number from 0 to ${max}, got ${text}`);
  return n;
}

/** The controller's settings from the flags (errors name the flag). */
export function nodeLifecycleConfig(opts: NodeLifecycleFlags): Omit<NodeLifecycleConfig, 'podEvictionTimeoutMs'> {
  const threshold = number(opts.largeClusterSizeThreshold, '--large-cluster-size-threshold');
  if (!Number.isInteger(threshold)) throw new Error(`--large-cluster-size-threshold must be a whole number of nodes, got ${opts.largeClusterSizeThreshold}`);
  return {
    nodeMonitorGracePeriodMs: parseDuration(opts.nodeMonitorGracePeriod, '--node-monitor-grace-period'),
    nodeStartupGracePeriodMs: parseDuration(opts.nodeStartupGracePeriod, '--node-startup-grace-period'),
    nodeEvictionRate: number(opts.nodeEvictionRate, '--node-eviction-rate'),
    secondaryNodeEvictionRate: number(opts.secondaryNodeEvictionRate, '--secondary-node-eviction-rate'),
    largeClusterSizeThreshold: threshold,
    unhealthyZoneThreshold: number(opts.unhealthyZoneThreshold, '--unhealthy-zone-threshold', 1),
  };
}
