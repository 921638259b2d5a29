import { memoryBytes } from '../../api/index.js';
import { invalidArgument, wrap } from '../../lib/index.js';

/** The eviction signals the kubelet knows; corelet acts on memory.available, nodefs.available and imagefs.available. */
export const EVICTION_SIGNALS = [
  'memory.available',
  'nodefs.available',
  'nodefs.inodesFree',
  'imagefs.available',
  'imagefs.inodesFree',
  'pid.available',
] as const;
export type EvictionSignal = (typeof EVICTION_SIGNALS)[number];

/** The kubelet's default --eviction-hard (its nodefs.inodesFree<5% is not acted on here). */
export const DEFAULT_EVICTION_HARD = 'memory.available<100Mi,nodefs.available<10%,imagefs.available<15%';

/** "signal < value": met when the observed available amount drops below value. */
export interface EvictionThreshold {
  signal: EvictionSignal;
  /** An absolute amount (bytes, inodes or pids). */
  quantity?: number;
  /** A fraction of capacity in (0, 1), from "10%". */
  percentage?: number;
  /** The value as written ("100Mi", "10%"). */
  value: string;
}

/**
 * Parses --eviction-hard: "memory.available<100Mi,nodefs.available<10%". Only "<" exists for hard
 * thresholds. As in the kubelet, "0%" and "100%" disable a signal (it is left out), a quantity must
 * be positive, a percentage within [0%, 100%], and a signal may appear once. Throws InvalidArgument.
 */
export function parseEvictionHard(text: string): EvictionThreshold[] {
  const out: EvictionThreshold[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const stmt = raw.trim();
    if (stmt === '') continue;
    const lt = stmt.indexOf('<');
    if (lt <= 0) throw invalidArgument(`eviction threshold ${JSON.stringify(stmt)} must be signal<value`);
    const signal = stmt.slice(0, lt).trim();
    const value = stmt.slice(lt + 1).trim();
    if (!(EVICTION_SIGNALS as readonly string[]).includes(signal)) {
      throw invalidArgument(`unknown eviction signal ${JSON.stringify(signal)} (known: ${EVICTION_SIGNALS.join(', ')})`);
    }
    if (seen.has(signal)) throw invalidArgument(`found duplicate eviction threshold for signal ${signal}`);
    seen.add(signal);
    const t = parseValue(signal as EvictionSignal, value);
    if (t) out.push(t);
  }
  return out;
}

function parseValue(signal: EvictionSignal, value: string): EvictionThreshold | undefined {
  if (value.endsWith('%')) {
    const num = value.slice(0, -1).trim();
    const pct = Number(num);
    if (num === '' || !Number.isFinite(pct)) throw invalidArgument(`eviction threshold ${signal}: invalid percentage ${JSON.stringify(value)}`);
    if (pct < 0) throw invalidArgument(`eviction percentage threshold ${signal} must be >= 0%: ${value}`);
    if (pct > 100) throw invalidArgument(`eviction percentage threshold ${signal} must be <= 100%: ${value}`);
    // 0% never triggers and 100% always would: the kubelet ignores both.
    if (pct === 0 || pct === 100) return undefined;
    return { signal, percentage: pct / 100, value };
  }
  let quantity: number;
  try {
    quantity = memoryBytes(value);
  } catch (err) {
    throw wrap(err, `eviction threshold ${signal}`);
  }
  if (quantity <= 0) throw invalidArgument(`eviction threshold ${signal} must be positive: ${value}`);
  return { signal, quantity, value };
}

/** The threshold in absolute units for a resource of the given capacity (percentages are of capacity). */
export function thresholdBytes(t: EvictionThreshold, capacity: number): number {
  if (t.quantity !== undefined) return t.quantity;
  return Math.floor(capacity * (t.percentage ?? 0));
}
