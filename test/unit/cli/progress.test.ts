import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, parseDuration, pollUntil } from '../../../src/cli/progress.js';

function output(isTTY: boolean): { write(s: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

test('without a terminal, progress prints one plain line per new message', () => {
  const out = output(false);
  const p = createProgress(out);
  p.update('waiting for a');
  p.update('waiting for a');
  p.update('waiting for b');
  p.done('done');
  assert.equal(out.text, 'waiting for a\nwaiting for b\ndone\n');
});

test('on a terminal, progress is one spinner line rewritten in place, cleared at the end', () => {
  const out = output(true);
  const p = createProgress(out);
  p.update('waiting for a');
  p.update('waiting for b');
  p.done('done');
  assert.match(out.text, /^\r\x1b\[2K⠋ waiting for a \(0s\)\r\x1b\[2K⠙ waiting for b \(0s\)/);
  assert.ok(out.text.endsWith('\r\x1b[2Kdone\n'));
  assert.ok(!out.text.slice(0, -1).includes('\n'), 'no new lines until done');
});

test('durations: 90s, 5m, 1h30m, 250ms or bare seconds', () => {
  assert.equal(parseDuration('90s', '--timeout'), 90_000);
  assert.equal(parseDuration('5m', '--timeout'), 300_000);
  assert.equal(parseDuration('1h30m', '--timeout'), 5_400_000);
  assert.equal(parseDuration('250ms', '--timeout'), 250);
  assert.equal(parseDuration('10', '--timeout'), 10_000);
  assert.equal(parseDuration('0', '--timeout'), 0);
  assert.throws(() => parseDuration('5 minutes', '--timeout'), /--timeout: "5 minutes" is not a duration; use e\.g\. 30s, 5m or 1h/);
  assert.throws(() => parseDuration('', '--timeout'), /not a duration/);
});

test('polling ends when done, fails on a failure, and times out saying what it waited for', async () => {
  let n = 0;
  const quiet = { update() {}, done() {} };
  assert.equal(await pollUntil(async () => ({ done: ++n >= 3, message: `step ${n}` }), { timeoutMs: 0, intervalMs: 1, progress: quiet, what: 'x' }), 'step 3');
  await assert.rejects(pollUntil(async () => ({ done: false, failed: true, message: 'job "j" failed' }), { timeoutMs: 0, intervalMs: 1, progress: quiet, what: 'x' }), /^Error: job "j" failed$/);
  await assert.rejects(
    pollUntil(async () => ({ done: false, message: '1 of 2 ready' }), { timeoutMs: 20, intervalMs: 5, progress: quiet, what: 'the pods' }),
    /timed out after 0s waiting for the pods: 1 of 2 ready/,
  );
});
