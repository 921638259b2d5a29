/** The scheduler's folder and database are private at every start, also on an older install. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScheduler } from '../../../src/scheduler/daemon.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child() { return silent; } };

it('startScheduler makes a 0755 folder 0700 and state.db, -wal and -shm 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sched-private-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // An older install: a world-readable folder and database.
  const old = Store.open(join(dir, 'state.db'));
  old.close();
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'state.db'), 0o644);
  const s = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silent });
  t.after(() => s.close());
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) {
    if (f !== 'state.db' && !existsSync(join(dir, f))) continue;
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  }
  assert.ok(existsSync(join(dir, 'state.db-wal')), 'the store runs in WAL mode');
});
