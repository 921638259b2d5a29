/** One line of the audit log (audit.ts writes it; audit-limit.ts clips and rate-limits it). */
export interface AuditRecord {
  time: string;
  user: string;
  groups: string[];
  /** The user who asked, when it acted as another (impersonation). */
  impersonatedBy?: string;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string;
  code: number;
  /** started: an exec when authorized (its outcome follows in a second record). */
  result: 'allowed' | 'denied' | 'failed' | 'started';
  reason?: string;
}
