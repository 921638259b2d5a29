/**
 * The soak's report: every fault with its times and its recovery, every invariant violation, the
 * measurements (API latency under a 1 MiB apply, certificate rotations, log sizes), as text (printed
 * and written to a file) and as JSON beside it. Times are seconds since the run started.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FaultRecord {
  kind: string;
  target: string;
  detail?: string;
  /** When it was injected, when it ended (the daemon restarted, the link back up). */
  start: number;
  end?: number;
  /** When every Deployment was back at its replicas and every node Ready again (undefined: never). */
  recovered?: number;
}

export interface Violation {
  invariant: string;
  at: number;
  detail: string;
}

export class SoakReport {
  readonly started = Date.now();
  readonly faults: FaultRecord[] = [];
  readonly violations: Violation[] = [];
  readonly notes: { at: number; text: string }[] = [];
  readonly measurements: Record<string, unknown> = {};
  private readonly seen = new Set<string>();

  constructor(readonly settings: Record<string, unknown>) {}

  /** Seconds since the start, to 0.1 s. */
  now(): number {
    return Math.round((Date.now() - this.started) / 100) / 10;
  }

  note(text: string): void {
    this.notes.push({ at: this.now(), text });
    console.log(`[soak ${this.now().toFixed(1).padStart(6)} s] ${text}`);
  }

  fault(kind: string, target: string, detail?: string): FaultRecord {
    const f: FaultRecord = { kind, target, detail, start: this.now() };
    this.faults.push(f);
    this.note(`FAULT ${kind} ${target}${detail ? ` (${detail})` : ''}`);
    return f;
  }

  /**
   * Records a violation. `key` makes it count once (an episode that the checker sees on every poll);
   * without one every call counts.
   */
  violation(invariant: string, detail: string, key?: string): void {
    if (key !== undefined) {
      if (this.seen.has(`${invariant} ${key}`)) return;
      this.seen.add(`${invariant} ${key}`);
    }
    this.violations.push({ invariant, at: this.now(), detail });
    this.note(`VIOLATION ${invariant}: ${detail}`);
  }

  measure(key: string, value: unknown): void {
    this.measurements[key] = value;
  }

  text(): string {
    const lines: string[] = [];
    const s = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(1)}`);
    lines.push(`corelet soak report — ${new Date(this.started).toISOString()}, wall time ${s(this.now())} s`);
    lines.push(`settings: ${JSON.stringify(this.settings)}`);
    lines.push(`replay: CORELET_SOAK_SEED=${String(this.settings.seed)}${this.settings.form === 'long' ? ` CORELET_SOAK_MINUTES=${String(this.settings.minutes)}` : ''} npm run test:soak`);
    lines.push('');
    lines.push(`faults (${this.faults.length}):  start     end  recovered  recovery-s  kind / target`);
    for (const f of this.faults) {
      const rec = f.recovered !== undefined && f.end !== undefined ? s(f.recovered - f.end) : 'NOT RECOVERED';
      lines.push(`  ${s(f.start).padStart(18)} ${s(f.end).padStart(7)} ${s(f.recovered).padStart(10)} ${rec.padStart(11)}  ${f.kind} ${f.target}${f.detail ? ` (${f.detail})` : ''}`);
    }
    lines.push('');
    lines.push(`measurements:`);
    for (const [k, v] of Object.entries(this.measurements)) lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    lines.push('');
    const byKind = new Map<string, number>();
    for (const v of this.violations) byKind.set(v.invariant, (byKind.get(v.invariant) ?? 0) + 1);
    lines.push(`invariant violations: ${this.violations.length}${byKind.size ? ` (${[...byKind].map(([k, n]) => `${k} ×${n}`).join(', ')})` : ''}`);
    for (const v of this.violations) lines.push(`  ${s(v.at).padStart(7)} s  ${v.invariant}: ${v.detail}`);
    return lines.join('\n') + '\n';
  }

  /** Writes the text report to path and the JSON one to path with .json; returns both paths. */
  async write(path: string): Promise<string[]> {
    await mkdir(dirname(path), { recursive: true });
    const json = path.replace(/\.txt$/, '') + '.json';
    await writeFile(path, this.text());
    const body = { started: new Date(this.started).toISOString(), wallSeconds: this.now(), settings: this.settings, faults: this.faults, violations: this.violations, measurements: this.measurements, notes: this.notes };
    await writeFile(json, JSON.stringify(body, null, 2) + '\n');
    return [path, json];
  }
}
