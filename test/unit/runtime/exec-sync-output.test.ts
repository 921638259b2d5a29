import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capExecSyncOutput, EXEC_SYNC_OUTPUT_BUDGET, EXEC_SYNC_MESSAGE_LIMIT } from '../../../src/runtime/container/exec-sync-output.js';

const MIB = 1024 * 1024;

test('small output passes whole', () => {
  const r = capExecSyncOutput(Buffer.from('out'), Buffer.from('err'));
  assert.equal(r.stdout.toString(), 'out');
  assert.equal(r.stderr.toString(), 'err');
  assert.equal(r.truncated, false);
});

test('20 MiB of stdout keeps its first bytes and the whole reply fits a 16 MiB message', () => {
  const stdout = Buffer.alloc(20 * MIB, 'y');
  stdout.write('first', 0);
  const r = capExecSyncOutput(stdout, Buffer.from('warning'));
  assert.equal(r.truncated, true);
  assert.equal(r.stderr.toString(), 'warning');
  assert.equal(r.stdout.subarray(0, 5).toString(), 'first');
  assert.equal(r.stdout.length + r.stderr.length, EXEC_SYNC_OUTPUT_BUDGET);
  assert.ok(EXEC_SYNC_OUTPUT_BUDGET < EXEC_SYNC_MESSAGE_LIMIT);
});

test('both streams full: each keeps half of the budget', () => {
  const r = capExecSyncOutput(Buffer.alloc(16 * MIB), Buffer.alloc(16 * MIB));
  assert.equal(r.stderr.length, Math.floor(EXEC_SYNC_OUTPUT_BUDGET / 2));
  assert.equal(r.stdout.length + r.stderr.length, EXEC_SYNC_OUTPUT_BUDGET);
});

test('a big stderr with little stdout keeps all of the stdout', () => {
  const r = capExecSyncOutput(Buffer.alloc(100), Buffer.alloc(20 * MIB));
  assert.equal(r.stdout.length, 100);
  assert.equal(r.stderr.length, EXEC_SYNC_OUTPUT_BUDGET - 100);
});
