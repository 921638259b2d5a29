/**
 * Big manifests do not stop the scheduler: a request body over the limit (3 MiB, kube-apiserver's)
 * is refused with a 413 naming it, and a 1 MiB manifest is decoded off the event loop, so a request
 * sent while it is being decoded is answered before the apply (ordering, not timing).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScheduler, startScheduler, type InitResult, type RunningScheduler } from '../../../src/scheduler/index.js';
import { MAX_REQUEST_BODY_BYTES } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { bigManifest } from './manifest-helpers.js';
import { useTestKeys } from '../../helpers/test-keys.js';

useTestKeys();

async function scheduler(t: { after: (fn: () => Promise<void>) => void }): Promise<{ init: InitResult; running: RunningScheduler }> {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-bigapply-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const init = await initScheduler({ dir, hosts: ['127.0.0.1'], port: 0, configFile: join(dir, 'config') });
  const running = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silentLogger });
  t.after(() => running.close());
  return { init, running };
}

interface Answer {
  status: number;
  json: any;
}

/** Starts a request; `send` writes its body (all of it by default) and ends it. */
function request(url: string, init: InitResult, method: string, path: string, body?: string, send?: (req: ClientRequest) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${path}`, { method, ca: init.caCert, agent: false, headers: { authorization: `Bearer ${init.adminToken}`, ...(body ? { 'content-type': 'application/yaml' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    if (send) send(req);
    else req.end(body);
  });
}

describe('big manifests', () => {
  it('refuses a request body over the limit with 413 naming the limit', async (t) => {
    const { init, running } = await scheduler(t);
    const body = `# padding\n${'#'.repeat(MAX_REQUEST_BODY_BYTES + 1024)}\n`;
    const r = await request(running.server.url, init, 'POST', '/api/v1/apply', body);
    assert.equal(r.status, 413);
    assert.equal(r.json.reason, 'RequestEntityTooLarge');
    assert.match(r.json.message, /3 MiB/);
    // The connection was not the only casualty: the scheduler still answers.
    assert.equal((await request(running.server.url, init, 'GET', '/api/v1/namespaces')).status, 200);
  });

  it('answers a request sent while a 1 MiB manifest is being decoded before answering the apply', async (t) => {
    const { init, running } = await scheduler(t);
    const url = running.server.url;
    const order: string[] = [];
    const body = bigManifest(1024 * 1024);
    let get: Promise<void> | undefined;
    const apply = request(url, init, 'POST', '/api/v1/apply', body, (req) => {
      // All but the last byte, then a round trip so the scheduler has read them; then the last byte
      // (the scheduler starts decoding when it has the whole body) and at once a small request.
      req.write(body.slice(0, -1), () => {
        void request(url, init, 'GET', '/api/v1/namespaces').then(() => {
          req.end(body.slice(-1), () => {
            get = request(url, init, 'GET', '/api/v1/namespaces/default').then((r) => {
              assert.equal(r.status, 200);
              order.push('get');
            });
          });
        });
      });
    }).then((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.json)?.slice(0, 300));
      assert.ok(r.json.items.length > 1000, `applied ${r.json.items.length} objects`);
      order.push('apply');
    });
    await apply;
    while (!get) await new Promise((r) => setImmediate(r));
    await get;
    assert.deepEqual(order, ['get', 'apply']);
  });
});
