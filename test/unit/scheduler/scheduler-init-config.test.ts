/** `corelet scheduler init` and the admin's CLI config file. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScheduler } from '../../../src/scheduler/daemon.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

it('scheduler init leaves an existing 0644 config file 0600 once it holds the admin token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'home', 'config');
  await import('node:fs').then((fs) => fs.mkdirSync(join(dir, 'home'), { mode: 0o700 }));
  writeFileSync(configFile, '{}\n', { mode: 0o644 });
  const res = await initScheduler({ dir: join(dir, 'sched'), hosts: ['127.0.0.1'], port: 6443, configFile });
  assert.ok(res.adminToken);
  assert.equal(statSync(configFile).mode & 0o777, 0o600);
});
