/**
 * The node-side cleanup of the Services data plane: deleting the conntrack entries of every cluster
 * IP and node port goes on past a failed deletion (no root: a stand-in conntrack).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flushServiceConntrack } from '../../../src/agent/services/index.js';

describe('flushServiceConntrack (agent --cleanup)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-svccleanup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tries every deletion when one fails, then reports the failure', async () => {
    const log = join(dir, 'runs');
    const script = join(dir, 'conntrack');
    // fails for the first cluster IP, deletes the rest
    writeFileSync(script, `#!/bin/sh\necho "$*" >> '${log}'\ncase "$*" in *10.96.0.1\\ *|*10.96.0.1) echo "conntrack: operation failed: Invalid argument" >&2; exit 2;; esac\nexit 0\n`);
    chmodSync(script, 0o755);
    await assert.rejects(
      flushServiceConntrack({ clusterIPs: ['10.96.0.1', '10.96.0.2'], nodePorts: [{ protocol: 'udp', port: 30053 }] }, [script]),
      /1 of 3 conntrack deletions failed: .*--orig-dst 10\.96\.0\.1 failed \(exit 2\): conntrack: operation failed: Invalid argument/,
    );
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['-D --orig-dst 10.96.0.1', '-D --orig-dst 10.96.0.2', '-D -p udp --orig-port-dst 30053 --status DST_NAT']);
  });
});
