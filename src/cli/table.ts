/**
 * Aligned text tables and human ages, the way kubectl prints them: columns left-aligned, three
 * spaces apart, the last column unpadded; ages like 5s, 3m20s, 2d.
 */

/** Space between columns. */
const GAP = 3;

/** Column widths that fit every row (headers included). */
export function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

/**
 * One row padded to widths (a cell wider than its column pushes the rest right, as kubectl's watch
 * output does for rows printed after the header). No trailing spaces.
 */
export function formatRow(row: readonly string[], widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(Math.max(widths[i] ?? 0, cell.length) + GAP)))
    .join('')
    .trimEnd();
}

/** The rows (the first is usually the header) as aligned lines, without a final newline. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = columnWidths(rows);
  return rows.map((r) => formatRow(r, widths)).join('\n');
}

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
