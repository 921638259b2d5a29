/**
 * What /proc/<pid>/stat says about a recorded process: only a certain answer ("no such process",
 * a zombie, another start time, another boot) makes it gone; a failed read is "unknown".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTimeReader, stoppedReader, type NamespacePort } from '../../../src/runtime/sandbox/namespace-pins.js';
import { liveness } from '../../../src/runtime/process-liveness.js';

const errno = (code: string) => Object.assign(new Error(code), { code });
const stat = (state: string, start: string) => `42 (my (odd) comm) ${state} 1 ${'0 '.repeat(17)}${start} 0 0\n`;

test('the start time is field 22 of /proc/<pid>/stat, counted after the last ")" of the command name', async () => {
  assert.equal(await startTimeReader(async () => stat('S', '12345'))(42), '12345');
});

test('a process is gone for the start-time reader only on ENOENT, ESRCH or a zombie/dead state', async () => {
  for (const code of ['ENOENT', 'ESRCH']) {
    assert.equal(
      await startTimeReader(async () => {
        throw errno(code);
      })(42),
      undefined,
      code,
    );
  }
  assert.equal(await startTimeReader(async () => stat('Z', '1'))(42), undefined);
  assert.equal(await startTimeReader(async () => stat('X', '1'))(42), undefined);
  for (const code of ['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EACCES']) {
    await assert.rejects(
      startTimeReader(async () => {
        throw errno(code);
      })(42),
      { code },
    );
  }
});

const port = (startTime: NamespacePort['startTime']) => ({ startTime }) as NamespacePort;

test('liveness: gone only when /proc is certain; unreadable is unknown; another boot is gone', async () => {
  const me = { pid: 42, startTime: '7', bootId: 'b1' };
  assert.equal(await liveness(port(async () => '7'), me, 'b1'), 'alive');
  assert.equal(await liveness(port(async () => '8'), me, 'b1'), 'gone', 'the pid is another process now');
  assert.equal(await liveness(port(async () => undefined), me, 'b1'), 'gone');
  assert.equal(
    await liveness(
      port(async () => {
        throw errno('EMFILE');
      }),
      me,
      'b1',
    ),
    'unknown',
  );
  assert.equal(await liveness(port(async () => '7'), me, 'b2'), 'gone', 'same pid and start time in another boot');
  assert.equal(await liveness(port(async () => '7'), { ...me, bootId: undefined }, 'b2'), 'alive', 'an older record: pid and start time only');
  assert.equal(await liveness(port(async () => '7'), me, undefined), 'alive', 'boot id unreadable: pid and start time only');
  assert.equal(await liveness(port(async () => '7'), { pid: 0, startTime: undefined, bootId: undefined }, 'b1'), 'unknown');
});

test('a process is stopped for the state reader only in state T or t; unreadable is not stopped', async () => {
  assert.equal(await stoppedReader(async () => stat('T', '1'))(42), true);
  assert.equal(await stoppedReader(async () => stat('t', '1'))(42), true);
  assert.equal(await stoppedReader(async () => stat('S', '1'))(42), false);
  assert.equal(await stoppedReader(async () => stat('D', '1'))(42), false);
  assert.equal(
    await stoppedReader(async () => {
      throw errno('EMFILE');
    })(42),
    false,
  );
});
