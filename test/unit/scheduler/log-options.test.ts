/** pods/log's query and the since/limitBytes filter over the agent's text (pure). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogFilter, podLogOptions } from '../../../src/scheduler/server/log-options.js';

const q = (s: string) => new URLSearchParams(s);
const NOW = new Date('2026-01-01T00:01:00Z');

describe('pods/log options', () => {
  it('reads kubectl logs\' parameters', () => {
    assert.deepEqual(podLogOptions(q('container=c&follow=true&tailLines=10&previous=1&timestamps=true&limitBytes=100'), NOW), {
      follow: true,
      previous: true,
      timestamps: true,
      container: 'c',
      tailLines: 10,
      limitBytes: 100,
    });
    assert.deepEqual(podLogOptions(q('sinceSeconds=30'), NOW), { follow: false, previous: false, timestamps: false, sinceTime: Date.parse('2026-01-01T00:00:30Z') });
    assert.deepEqual(podLogOptions(q('sinceTime=2026-01-01T00:00:10.5Z'), NOW).sinceTime, Date.parse('2026-01-01T00:00:10.500Z'));
  });

  it('refuses bad values, naming the parameter', () => {
    assert.throws(() => podLogOptions(q('tailLines=-1'), NOW), /tailLines must be a whole number, got "-1"/);
    assert.throws(() => podLogOptions(q('sinceSeconds=0'), NOW), /sinceSeconds must be at least 1, got 0/);
    assert.throws(() => podLogOptions(q('limitBytes=0'), NOW), /limitBytes must be at least 1, got 0/);
    assert.throws(() => podLogOptions(q('sinceTime=yesterday'), NOW), /sinceTime must be an RFC 3339 time/);
    assert.throws(() => podLogOptions(q('sinceTime=2026-01-01T00:00:00Z&sinceSeconds=1'), NOW), /at most one of them/);
  });
});

describe('the log filter', () => {
  const log = '2026-01-01T00:00:01.000000001Z one\n2026-01-01T00:00:02Z two\n2026-01-01T00:00:03Z thr';

  it('keeps the lines at or after since, across pieces, with or without their timestamps', () => {
    const f = new LogFilter({ sinceTime: Date.parse('2026-01-01T00:00:02Z'), keepTimestamps: false });
    assert.equal(f.push(log.slice(0, 40)), '');
    assert.equal(f.push(log.slice(40)), 'two\n');
    assert.equal(f.end(), 'thr');
    const kept = new LogFilter({ sinceTime: Date.parse('2026-01-01T00:00:03Z'), keepTimestamps: true });
    assert.equal(kept.push(`${log}ee\n`), '2026-01-01T00:00:03Z three\n');
  });

  it('stops at limitBytes, never inside a character', () => {
    const f = new LogFilter({ keepTimestamps: false, limitBytes: 5 });
    assert.equal(f.push('abc'), 'abc');
    assert.equal(f.done, false);
    assert.equal(f.push('dé!'), 'd'); // é is two bytes: it would end at byte 6
    assert.equal(f.done, true);
    assert.equal(f.push('more'), '');
  });

  it('asks the agent for timestamps when since needs them', () => {
    assert.equal(LogFilter.needsTimestamps({ sinceTime: 1 }), true);
    assert.equal(LogFilter.needsTimestamps({ timestamps: false }), false);
  });
});
