/**
 * `corelet get -w` (the real binary against an in-process scheduler) keeps watching when the
 * scheduler ends a watch at its request timeout: it watches again and prints only what changed.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { newTokenRecord, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { makePki } from '../scheduler/server-helpers.js';

const CORELET = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }) as never;

it('get -w watches again after the scheduler ends a watch, printing only changes', { timeout: 60_000 }, async (t) => {
  const pki = await makePki();
  const { store } = tempStore(t);
  const records = new Map<string, TokenRecord>();
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: (id) => records.get(id), minRequestTimeoutSeconds: 0.2 });
  t.after(() => server.close());
  const admin = newTokenRecord('api', { user: 'root', groups: ['system:masters'] });
  records.set(admin.record.id, admin.record);
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ server: server.url, token: admin.token, caCert: pki.ca.certPem }));
  store.create('Pod', pod('first'));
  const child = execa(process.execPath, [CORELET, 'get', 'pods', '-w'], { env: { CORELET_CONFIG: config, HOME: dir }, extendEnv: false, reject: false });
  t.after(() => {
    child.kill();
  });
  let out = '';
  const waiting = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    for (const w of waiting) w();
  });
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!re.test(out)) return;
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      check();
    });
  await waitFor(/first/);
  // Each watch lasts 0.2-0.4 s: by the time a second pod is made, and then a third, -w has watched again.
  await new Promise((r) => setTimeout(r, 1500));
  store.create('Pod', pod('second'));
  await waitFor(/second/);
  await new Promise((r) => setTimeout(r, 1500));
  store.create('Pod', pod('third'));
  await waitFor(/third/);
  child.kill();
  await child;
  const watches = out.split('\n').filter((l) => /^first\b/.test(l)).length;
  assert.equal(watches, 1, `"first" printed once, not again at each re-watch:\n${out}`);
  assert.equal(out.split('\n').filter((l) => /^NAME\b/.test(l)).length, 1, out);
  assert.equal(out.split('\n').filter((l) => /^second\b/.test(l)).length, 1, out);
});
