/**
 * The audit log: one JSON line per write, per exec and per refused request (time, user, groups,
 * verb, resource, subresource, namespace, name, code, result, and the reason of a denial). The file
 * is 0600; when it passes maxBytes it is rotated (audit.log → audit.log.1 → audit.log.2; older ones
 * are dropped), so it never holds more than (backups + 1) × maxBytes. Fields are clipped and
 * denials are rate- and size-limited (audit-limit.ts), so refused requests cannot rotate the
 * records of writes out.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync, chmodSync } from 'node:fs';
import type { UserInfo } from '../auth/index.js';
import type { RequestAttributes } from './attributes.js';
import { clipRecord, DenialLimiter, type DenialLimits } from './audit-limit.js';
import type { AuditRecord } from './audit-record.js';

export type { AuditRecord } from './audit-record.js';


/** The verbs that change something. */
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate']);

/** Whether a request belongs in the audit log: writes, exec, and anything refused. */
export function shouldAudit(a: RequestAttributes, denied: boolean): boolean {
  if (denied) return true;
  if (WRITE_VERBS.has(a.verb)) return true;
  return a.kind === 'resource' && a.subresource === 'exec';
}

/** The record of one request. */
export function auditRecord(user: UserInfo, a: RequestAttributes, code: number, now: Date, extra: { reason?: string; impersonatedBy?: string } = {}): AuditRecord {
  const r: AuditRecord = {
    time: now.toISOString(),
    user: user.username,
    groups: user.groups,
    ...(extra.impersonatedBy ? { impersonatedBy: extra.impersonatedBy } : {}),
    verb: a.verb,
    code,
    result: code === 403 ? 'denied' : code < 400 ? 'allowed' : 'failed',
  };
  if (a.kind === 'resource') {
    r.resource = a.resource;
    if (a.subresource) r.subresource = a.subresource;
    if (a.namespace) r.namespace = a.namespace;
    if (a.name) r.name = a.name;
  } else r.path = a.path;
  if (extra.reason) r.reason = extra.reason;
  return r;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): void;
}

/** An audit log file, rotated by size. */
export class AuditLog implements AuditSink {
  private fd: number;
  private size: number;
  /** Bytes of denial records in the current file. */
  private denialBytes = 0;
  private readonly denials: DenialLimiter;

  constructor(
    readonly path: string,
    private readonly maxBytes = 10 * 1024 * 1024,
    private readonly backups = 2,
    limits: DenialLimits = {},
  ) {
    this.fd = this.open();
    this.size = fstatSync(this.fd).size;
    this.denials = new DenialLimiter(limits);
    // An existing file's denials are unknown: count it all against the budget, to be safe.
    this.denialBytes = Math.min(this.size, this.maxBytes * this.denials.share);
  }

  private open(): number {
    const fd = openSync(this.path, 'a', 0o600);
    chmodSync(this.path, 0o600); // an older file may have been created with other bits
    return fd;
  }

  write(record: AuditRecord): void {
    const summary = this.denials.summary();
    if (summary) this.append(summary);
    const clipped = clipRecord(record);
    const line = `${JSON.stringify(clipped)}\n`;
    if (clipped.result === 'denied') {
      // A denial never rotates the file: only writes, execs and failures do.
      const bytes = Buffer.byteLength(line);
      const withinBudget = this.denialBytes + bytes <= this.maxBytes * this.denials.share && this.size + bytes <= this.maxBytes;
      if (!this.denials.take(clipped.user, withinBudget)) return;
      this.denialBytes += this.append(line);
      return;
    }
    this.append(line);
  }

  private append(recordOrLine: AuditRecord | string): number {
    const line = typeof recordOrLine === 'string' ? recordOrLine : `${JSON.stringify(recordOrLine)}\n`;
    if (this.size > 0 && this.size + Buffer.byteLength(line) > this.maxBytes) this.rotate();
    const n = writeSync(this.fd, line);
    this.size += n;
    return n;
  }

  private rotate(): void {
    closeSync(this.fd);
    rmSync(`${this.path}.${this.backups}`, { force: true });
    for (let i = this.backups - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (this.backups > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.fd = this.open();
    this.size = 0;
    this.denialBytes = 0;
  }

  close(): void {
    const summary = this.denials.summary(true);
    if (summary) this.append(summary);
    closeSync(this.fd);
  }
}
