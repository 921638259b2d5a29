/**
 * What keeps refused requests from wiping the audit log: any authenticated user can send denied
 * requests as fast as the network allows, and each one is a record. Three defences:
 *  - every field of a record is clipped (names, namespaces, paths, groups: 256 characters; the
 *    reason: 1024), so a record is at most a few KiB whatever the request;
 *  - denials are rate-limited per user and overall, per window (default 60 per user and 600 in all
 *    per minute); what is dropped is counted and reported once per window in one summary record
 *    ("N more denials suppressed", naming the users);
 *  - denials have their own size budget: at most half of each log file. Once it is spent, further
 *    denials in that file are only counted. Rotation happens when the file is full, so a flood of
 *    denials alone can never rotate a file: writes, execs and failures can only be pushed out by
 *    other writes, execs and failures.
 */
import type { AuditRecord } from './audit-record.js';

export interface DenialLimits {
  /** Denial records per user per window (default 60). */
  perUser?: number;
  /** Denial records of all users per window (default 600). */
  total?: number;
  /** The window, in ms (default 60 s). */
  windowMs?: number;
  /** The share of each file denials may fill (default 0.5). */
  share?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

export const MAX_AUDIT_FIELD = 256;
export const MAX_AUDIT_REASON = 1024;
const MAX_GROUPS = 32;

/** s cut to max characters, saying how much was cut. */
export function clipField(s: string, max = MAX_AUDIT_FIELD): string {
  return s.length <= max ? s : `${s.slice(0, max)}...(${s.length - max} more characters)`;
}

/** The record with every field clipped. */
export function clipRecord(r: AuditRecord): AuditRecord {
  const out: AuditRecord = { ...r, user: clipField(r.user), verb: clipField(r.verb) };
  out.groups = r.groups.slice(0, MAX_GROUPS).map((g) => clipField(g));
  if (r.groups.length > MAX_GROUPS) out.groups.push(`...(${r.groups.length - MAX_GROUPS} more groups)`);
  for (const k of ['impersonatedBy', 'resource', 'subresource', 'namespace', 'name', 'path'] as const) {
    if (typeof r[k] === 'string') out[k] = clipField(r[k] as string);
  }
  if (typeof r.reason === 'string') out.reason = clipField(r.reason, MAX_AUDIT_REASON);
  return out;
}

/** Counts denials per window; decides which are recorded, and summarizes the rest. */
export class DenialLimiter {
  private readonly perUser: number;
  private readonly total: number;
  private readonly windowMs: number;
  readonly share: number;
  private readonly now: () => number;
  private windowStart: number;
  private recorded = new Map<string, number>();
  private recordedTotal = 0;
  private suppressed = new Map<string, number>();
  private suppressedSince: number | undefined;

  constructor(limits: DenialLimits = {}) {
    this.perUser = limits.perUser ?? 60;
    this.total = limits.total ?? 600;
    this.windowMs = limits.windowMs ?? 60_000;
    this.share = limits.share ?? 0.5;
    this.now = limits.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** Whether a denial of user may be recorded now (within the rates); counts it either way. */
  take(user: string, withinBudget: boolean): boolean {
    this.roll();
    const mine = this.recorded.get(user) ?? 0;
    if (withinBudget && mine < this.perUser && this.recordedTotal < this.total) {
      this.recorded.set(user, mine + 1);
      this.recordedTotal++;
      return true;
    }
    this.suppress(user);
    return false;
  }

  private suppress(user: string): void {
    if (this.suppressedSince === undefined) this.suppressedSince = this.now();
    this.suppressed.set(user, (this.suppressed.get(user) ?? 0) + 1);
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart < this.windowMs) return;
    this.windowStart = now;
    this.recorded.clear();
    this.recordedTotal = 0;
  }

  /**
   * The summary of the denials suppressed so far, once a window has passed since the first of them
   * (or always, with force: at close); undefined when there is none due.
   */
  summary(force = false): AuditRecord | undefined {
    if (this.suppressedSince === undefined) return undefined;
    const now = this.now();
    if (!force && now - this.suppressedSince < this.windowMs) return undefined;
    const byUser = [...this.suppressed.entries()].sort((a, b) => b[1] - a[1]);
    const n = byUser.reduce((sum, [, c]) => sum + c, 0);
    const named = byUser.slice(0, 10).map(([u, c]) => `${clipField(u, 64)}: ${c}`);
    const others = byUser.length > 10 ? `, and ${byUser.length - 10} more users` : '';
    const since = new Date(this.suppressedSince).toISOString();
    this.suppressed.clear();
    this.suppressedSince = undefined;
    return {
      time: new Date(now).toISOString(),
      user: byUser.length === 1 ? clipField(byUser[0][0]) : '(several users)',
      groups: [],
      verb: 'audit-suppressed',
      code: 403,
      result: 'denied',
      reason: `${n} more denials suppressed since ${since} (audit log rate and size limits for denials), by user: ${named.join(', ')}${others}`,
    };
  }
}
