import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leanDaemonHeap } from '../../../src/cli/daemon-heap.js';
import { startsDaemon } from '../../../src/cli/run.js';

test('the daemon heap setting applies to `corelet runtime` and `corelet agent` runs, not to their help or other commands', () => {
  assert.equal(startsDaemon(['runtime', '--socket', '/tmp/x.sock']), true);
  assert.equal(startsDaemon(['agent', '--runtime-endpoint', 'unix:///run/x.sock']), true);
  assert.equal(startsDaemon(['runtime', '--help']), false);
  assert.equal(startsDaemon(['agent', '-h']), false);
  assert.equal(startsDaemon(['get', 'pods']), false);
  assert.equal(startsDaemon(['scheduler']), false);
  assert.equal(startsDaemon([]), false);
});

test('CORELET_DAEMON_HEAP=v8 leaves V8 alone; any other value than lean or v8 is refused, naming the variable', () => {
  assert.equal(leanDaemonHeap({ CORELET_DAEMON_HEAP: 'v8' }), '');
  assert.throws(() => leanDaemonHeap({ CORELET_DAEMON_HEAP: 'small' }), { message: 'CORELET_DAEMON_HEAP: "small" is not lean or v8' });
});
