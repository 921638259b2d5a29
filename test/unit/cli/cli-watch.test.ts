/**
 * `corelet get -w` (the CLI in-process: run-cli.ts, against an in-process scheduler) keeps watching
 * when the scheduler ends a watch at its request timeout: it watches again and prints only what
 * changed. The test sees each watch the CLI opens (the scheduler looks its token up once per
 * request), so it makes each pod after the CLI has watched again, without waiting on the clock.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTokenRecord, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { makePki } from '../scheduler/server-helpers.js';
import { cliRunning } from './run-cli.js';

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }) as never;

it('get -w watches again after the scheduler ends a watch, printing only changes', { timeout: 60_000 }, async (t) => {
  const pki = await makePki();
  const { store } = tempStore(t);
  const records = new Map<string, TokenRecord>();
  // Every request the CLI makes (get -w makes only watches) is authenticated by a token lookup.
  let watches = 0;
  const onWatch = new Set<() => void>();
  const tokenLookup = (id: string) => {
    watches++;
    for (const w of onWatch) w();
    return records.get(id);
  };
  const watchesReach = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (watches < n) return;
        onWatch.delete(check);
        resolve();
      };
      onWatch.add(check);
      check();
    });
  // Each watch lasts 0.1-0.2 s.
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup, minRequestTimeoutSeconds: 0.1 });
  t.after(() => server.close());
  const admin = newTokenRecord('api', { user: 'root', groups: ['system:masters'] });
  records.set(admin.record.id, admin.record);
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ server: server.url, token: admin.token, caCert: pki.ca.certPem }));
  store.create('Pod', pod('first'));
  const watch = cliRunning({ CORELET_CONFIG: config, HOME: dir }, ['get', 'pods', '-w'], { rewatchDelayMs: 20 });
  t.after(() => watch.stop());
  await watch.waitFor(/first/);
  // A second pod, then a third, each made once -w has watched again.
  await watchesReach(watches + 1);
  store.create('Pod', pod('second'));
  await watch.waitFor(/second/);
  await watchesReach(watches + 1);
  store.create('Pod', pod('third'));
  await watch.waitFor(/third/);
  assert.deepEqual(await watch.stop(), { exitCode: 0, failed: false });
  const out = watch.stdout();
  assert.ok(watches >= 3, `-w watched again (${watches} watches)`);
  assert.equal(out.split('\n').filter((l) => /^first\b/.test(l)).length, 1, `"first" printed once, not again at each re-watch:\n${out}`);
  assert.equal(out.split('\n').filter((l) => /^NAME\b/.test(l)).length, 1, out);
  assert.equal(out.split('\n').filter((l) => /^second\b/.test(l)).length, 1, out);
});
