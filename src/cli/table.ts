/**
 * Aligned text tables and human ages, the way kubectl prints them: columns left-aligned, three
 * spaces apart, the last column unpadded; ages like 5s, 3m20s, 2d (api/print-cells.ts).
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

export { age, humanDuration } from '../api/index.js';
