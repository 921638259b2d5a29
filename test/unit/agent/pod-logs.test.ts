import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MAX_EXEC_OUTPUT_BYTES, MAX_MESSAGE_BYTES } from '../../../src/api/index.js';
import { failedPrecondition } from '../../../src/lib/errors.js';
import { CriLogDecoder, LastLines, parseCriLogLine, readContainerLog, splitUtf8 } from '../../../src/agent/cluster/pod-logs.js';
import { fitExecOutput, requestErrorOf, truncateUtf8 } from '../../../src/agent/cluster/pod-exec.js';

const T1 = '2026-11-27T11:32:39.341100660+00:00';
const T2 = '2026-11-27T11:32:40.000000001+00:00';

/** The lines a decoder prints for the given file text, pushed in pieces of `step` bytes. */
function decode(text: string, step = Infinity, timestamps = false): string {
  const d = new CriLogDecoder({ timestamps });
  const bytes = Buffer.from(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += Math.min(step, bytes.length)) out += d.push(bytes.subarray(i, i + step)).join('');
  return out + d.flush().join('');
}

async function tempLog(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-pod-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  await writeFile(path, content);
  return path;
}

/** Runs readContainerLog collecting what it writes. */
function collect(opts: Partial<Parameters<typeof readContainerLog>[0]> & { path: string }) {
  const chunks: string[] = [];
  const control = new AbortController();
  const done = readContainerLog({
    follow: false,
    isRunning: async () => true,
    signal: control.signal,
    pollMs: 5,
    runningCheckMs: 0,
    write: async (text) => {
      chunks.push(text);
    },
    ...opts,
  });
  return { chunks, text: () => chunks.join(''), control, done };
}

/** Waits for check to hold (a guard against hanging, not a time limit on the code). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 4000) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('CRI log lines', () => {
  it('parses timestamp, stream, tag and text (which may be empty or hold spaces)', () => {
    assert.deepEqual(parseCriLogLine(`${T1} stdout F hello  world `), { timestamp: T1, stream: 'stdout', partial: false, text: 'hello  world ' });
    assert.deepEqual(parseCriLogLine(`${T1} stderr P part`), { timestamp: T1, stream: 'stderr', partial: true, text: 'part' });
    assert.deepEqual(parseCriLogLine(`${T1} stdout F`), { timestamp: T1, stream: 'stdout', partial: false, text: '' });
    assert.equal(parseCriLogLine('just text'), undefined);
    assert.equal(parseCriLogLine(`${T1} stdin F x`), undefined);
  });

  it('prints the text of each line, joining partial entries of one stream', () => {
    const file = [
      `${T1} stdout F first`,
      `${T1} stdout P long `,
      `${T1} stderr F an error`,
      `${T2} stdout P line `,
      `${T2} stdout F ends here`,
      `${T2} stdout F`,
      '',
    ].join('\n');
    assert.equal(decode(file), 'first\nan error\nlong line ends here\n\n');
  });

  it('gives the same output whatever pieces the file is read in, multi-byte characters included', () => {
    const file = `${T1} stdout F héllo wörld ✓\n${T1} stdout P 日本\n${T2} stdout F 語\n`;
    const whole = decode(file);
    assert.equal(whole, 'héllo wörld ✓\n日本語\n');
    for (const step of [1, 2, 3, 7, 50]) assert.equal(decode(file, step), whole, `pieces of ${step} bytes`);
  });

  it('prefixes the time of a line\'s first part with timestamps, in UTC with Z', () => {
    const file = `${T1} stdout P a\n${T2} stdout F b\n${T2} stderr F c\n`;
    assert.equal(decode(file, Infinity, true), '2026-11-27T11:32:39.341100660Z ab\n2026-11-27T11:32:40.000000001Z c\n');
  });

  it('keeps an unfinished last line until the end, then prints what is left as it is', () => {
    const d = new CriLogDecoder();
    assert.deepEqual(d.push(Buffer.from(`${T1} stdout F one\n${T1} stdout F tw`)), ['one\n']);
    assert.deepEqual(d.push(Buffer.from(`o\n${T1} stdout P no newline`)), ['two\n']);
    assert.deepEqual(d.flush(), ['no newline']);
  });

  it('prints a line that is not a CRI entry as it is rather than dropping it', () => {
    assert.equal(decode(`garbage here\n${T1} stdout F ok\n`), 'garbage here\nok\n');
  });

  it('keeps the last N lines', () => {
    const last = new LastLines(3);
    for (let i = 0; i < 20; i++) last.push([`${i}\n`]);
    assert.deepEqual(last.take(), ['17\n', '18\n', '19\n']);
    const none = new LastLines(0);
    none.push(['a\n']);
    assert.deepEqual(none.take(), []);
    const few = new LastLines(5);
    few.push(['a\n', 'b\n']);
    assert.deepEqual(few.take(), ['a\n', 'b\n']);
  });

  it('splits text into pieces of at most N bytes without cutting a character', () => {
    assert.deepEqual(splitUtf8('', 4), []);
    assert.deepEqual(splitUtf8('abc', 4), ['abc']);
    const text = 'aé✓日本語x'.repeat(50);
    for (const max of [4, 5, 7, 64]) {
      const pieces = splitUtf8(text, max);
      assert.equal(pieces.join(''), text);
      for (const p of pieces) assert.ok(Buffer.byteLength(p) <= max, `${JSON.stringify(p)} fits in ${max}`);
    }
  });
});

describe('reading a container log file', () => {
  it('writes the whole log, or its last lines with tailLines', async (t) => {
    const lines = Array.from({ length: 10 }, (_, i) => `${T1} stdout F line ${i}\n`).join('');
    const path = await tempLog(t, lines);
    const all = collect({ path });
    await all.done;
    assert.equal(all.text(), Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(''));
    const tail = collect({ path, tailLines: 2, timestamps: true });
    await tail.done;
    assert.equal(tail.text(), '2026-11-27T11:32:39.341100660Z line 8\n2026-11-27T11:32:39.341100660Z line 9\n');
    const zero = collect({ path, tailLines: 0 });
    await zero.done;
    assert.equal(zero.text(), '');
  });

  it('says which file is missing', async (t) => {
    const path = join(await tempLog(t, ''), '..', 'gone.log');
    await assert.rejects(collect({ path }).done, (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'NotFound');
      assert.match(err.message, /gone\.log does not exist/);
      return true;
    });
  });

  it('follows the file as it grows until the container stops, then ends with what it wrote last', async (t) => {
    const path = await tempLog(t, `${T1} stdout F one\n${T1} stdout F two\n`);
    let running = true;
    const log = collect({ path, follow: true, tailLines: 1, isRunning: async () => running });
    await until(() => log.text() === 'two\n');
    await appendFile(path, `${T2} stdout F three\n${T2} stdout P no newline\n${T2} stdout F  th`);
    await until(() => log.text() === 'two\nthree\n');
    await appendFile(path, `en\n${T2} stdout F last words\n`);
    running = false;
    await log.done;
    assert.equal(log.text(), 'two\nthree\nno newline then\nlast words\n');
  });

  it('goes on with the new file when the log is replaced at its path, and stops when aborted', async (t) => {
    const path = await tempLog(t, `${T1} stdout F old\n`);
    const log = collect({ path, follow: true });
    await until(() => log.text() === 'old\n');
    await rename(path, `${path}.1`);
    await writeFile(path, `${T2} stdout F new\n`);
    await until(() => log.text() === 'old\nnew\n');
    log.control.abort();
    await log.done;
    assert.equal(log.text(), 'old\nnew\n');
  });
});

describe('exec helpers', () => {
  it('cuts text at a character boundary', () => {
    assert.equal(truncateUtf8('abc', 10), 'abc');
    assert.equal(truncateUtf8('a✓b', 2), 'a');
    assert.equal(truncateUtf8('a✓b', 4), 'a✓');
  });

  it('cuts the output so one execResult carries both streams', () => {
    const small = fitExecOutput(Buffer.from('hi\n'), Buffer.from(''));
    assert.deepEqual(small, { stdout: 'hi\n', stderr: '', truncated: false });
    const big = fitExecOutput(Buffer.alloc(3 * MAX_EXEC_OUTPUT_BYTES, 'x'), Buffer.from('err'));
    assert.equal(big.stdout.length, MAX_EXEC_OUTPUT_BYTES);
    assert.equal(big.stderr, 'err');
    assert.equal(big.truncated, true);
    // Control characters grow sixfold in JSON: the cut makes room for that.
    const binary = fitExecOutput(Buffer.alloc(MAX_EXEC_OUTPUT_BYTES, 1), Buffer.alloc(MAX_EXEC_OUTPUT_BYTES, 2));
    assert.ok(Buffer.byteLength(JSON.stringify(binary)) < MAX_MESSAGE_BYTES);
    assert.equal(binary.truncated, true);
  });

  it('turns failures into error codes: CoreletError kinds, CRI gRPC statuses, anything else Internal', () => {
    assert.deepEqual(requestErrorOf(failedPrecondition('container c is not running')), { code: 'FailedPrecondition', message: 'container c is not running' });
    const grpcErr = Object.assign(new Error('4 DEADLINE_EXCEEDED: ...'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'command ["sleep","9"] timed out after 1s' });
    assert.deepEqual(requestErrorOf(grpcErr, 'exec in c'), { code: 'DeadlineExceeded', message: 'exec in c: command ["sleep","9"] timed out after 1s' });
    assert.equal(requestErrorOf(Object.assign(new Error('x'), { code: grpc.status.NOT_FOUND })).code, 'NotFound');
    assert.deepEqual(requestErrorOf(new Error('boom')), { code: 'Internal', message: 'boom' });
  });
});
