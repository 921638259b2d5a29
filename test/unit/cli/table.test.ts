import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, columnWidths, formatRow, formatTable, humanDuration } from '../../../src/cli/table.js';

test('tables align every column on its widest cell, three spaces apart, with no trailing spaces', () => {
  const text = formatTable([
    ['NAME', 'READY', 'STATUS'],
    ['web-1', '1/1', 'Running'],
    ['a-much-longer-name', '0/1', ''],
  ]);
  assert.equal(
    text,
    ['NAME                 READY   STATUS', 'web-1                1/1     Running', 'a-much-longer-name   0/1'].join('\n'),
  );
});

test('a row printed later with the first widths keeps alignment, and a wider cell pushes the rest right', () => {
  const widths = columnWidths([['NAME', 'AGE'], ['web', '5s']]);
  assert.equal(formatRow(['db', '1m'], widths), 'db     1m');
  assert.equal(formatRow(['a-long-name', '1m'], widths), 'a-long-name   1m');
});

test('ages read like kubectl: seconds, minutes, hours, days, years', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const cases: [number, string][] = [
    [0, '0s'],
    [-500, '0s'],
    [-5 * s, '<invalid>'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 20 * s, '3m20s'],
    [10 * m + 5 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [5 * h + 30 * m, '5h30m'],
    [8 * h + 30 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [3 * d + 4 * h, '3d4h'],
    [8 * d + 4 * h, '8d'],
    [400 * d, '400d'],
    [2 * 365 * d + 10 * d, '2y10d'],
    [9 * 365 * d, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  const now = new Date('2026-01-01T00:05:00Z');
  assert.equal(age('2026-01-01T00:00:00Z', now), '5m');
  assert.equal(age(undefined, now), '<unknown>');
  assert.equal(age('yesterday', now), '<unknown>');
});
