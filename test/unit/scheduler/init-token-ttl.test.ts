/** `corelet scheduler init --token-ttl`: the bootstrap token init makes lives as long as asked (kubeadm init --token-ttl). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScheduler } from '../../../src/scheduler/index.js';
import { parseToken, TokenStore } from '../../../src/scheduler/auth/index.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

async function initWith(t: { after: (fn: () => Promise<void>) => void }, tokenTtlSeconds?: number): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-init-ttl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await initScheduler({ dir, hosts: ['127.0.0.1'], port: 6443, configFile: join(dir, 'config'), tokenTtlSeconds });
  const store = Store.open(join(dir, 'state.db'));
  try {
    const record = new TokenStore(store).lookup(parseToken(r.bootstrapToken).id);
    assert.ok(record);
    return record.expires;
  } finally {
    store.close();
  }
}

test('init makes a bootstrap token of 24 h by default, of --token-ttl when given, and one that never expires with 0', async (t) => {
  const day = Date.parse((await initWith(t))!) - Date.now();
  assert.ok(day > 23.9 * 3600_000 && day <= 24 * 3600_000, `default lifetime ${day} ms`);
  const short = Date.parse((await initWith(t, 20))!) - Date.now();
  assert.ok(short > 15_000 && short <= 20_000, `20 s asked, ${short} ms left`);
  assert.equal(await initWith(t, 0), undefined);
});
