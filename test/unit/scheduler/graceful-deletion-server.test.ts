/**
 * The running scheduler (daemon, REST API, node sessions) with a fake agent: pods created with
 * spec.nodeName reach their node; deleting a pod on a node is graceful until the agent confirms.
 */
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScheduler, startScheduler, type RunningScheduler } from '../../../src/scheduler/daemon.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import type { Message } from '../../../src/api/index.js';
import { api, FakeAgent, registerMessage } from './server-helpers.js';
import { requestedGracePeriod } from '../../../src/scheduler/server/delete-options.js';

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child() { return silent; } };

async function nextOfType<T extends Message['type']>(agent: FakeAgent, type: T): Promise<Extract<Message, { type: T }>> {
  for (;;) {
    const m = await agent.next();
    if (m.type === type) return m as Extract<Message, { type: T }>;
  }
}

function pod(name: string, nodeName?: string, grace?: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { ...(nodeName ? { nodeName } : {}), ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }), containers: [{ name: 'c', image: 'busybox' }] },
  });
}

describe('graceful deletion and pre-bound pods on a running scheduler', () => {
  let dir: string;
  let s: RunningScheduler;
  let pki: Pki;
  let admin: string;
  let bootstrap: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sched-graceful-'));
    const init = await initScheduler({ dir, hosts: ['127.0.0.1'], port: 0, configFile: join(dir, 'config') });
    admin = init.adminToken;
    bootstrap = init.bootstrapToken;
    pki = { ca: { certPem: init.caCert } } as Pki;
    s = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silent });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const req = (method: string, path: string, body?: string) =>
    api(s.server, pki, method, path, { token: admin, body, contentType: body ? 'application/json' : undefined });

  async function node(t: TestContext, name: string): Promise<FakeAgent> {
    const agent = await FakeAgent.connect(t, s.server, pki, bootstrap, name);
    agent.send(registerMessage(name));
    await nextOfType(agent, 'registered');
    return agent;
  }

  async function gone(name: string): Promise<void> {
    while ((await req('GET', `/api/v1/namespaces/default/pods/${name}`)).status !== 404) await new Promise((r) => setTimeout(r, 50));
  }

  it('a pod created with spec.nodeName is sent to that node', async (t) => {
    const agent = await node(t, 'node-a');
    const created = await req('POST', '/api/v1/namespaces/default/pods', pod('pinned', 'node-a'));
    assert.equal(created.status, 201, created.text);
    const assign = await nextOfType(agent, 'assign');
    assert.equal(assign.pod.metadata.name, 'pinned');
    assert.equal(assign.pod.metadata.uid, created.body.metadata.uid);
  });

  it('a pod bound to a node that does not exist stays Pending with a NodeNotFound event', async () => {
    const created = await req('POST', '/api/v1/namespaces/default/pods', pod('lost', 'ghost'));
    assert.equal(created.status, 201, created.text);
    for (;;) {
      const events = await req('GET', '/api/v1/namespaces/default/events');
      const e = events.body.items.find((x: any) => x.involvedObject.name === 'lost' && x.reason === 'NodeNotFound');
      if (e) {
        assert.match(e.message, /bound to node ghost \(spec.nodeName\), which does not exist: it stays Pending/);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const lost = (await req('GET', '/api/v1/namespaces/default/pods/lost')).body;
    assert.equal(lost.status?.phase ?? 'Pending', 'Pending');
    assert.equal(lost.spec.nodeName, 'ghost');
  });

  it('DELETE of a pod on a node marks it Terminating; the agent is told the grace period and its confirmation removes it', async (t) => {
    const agent = await node(t, 'node-b');
    const created = await req('POST', '/api/v1/namespaces/default/pods', pod('slow', 'node-b', 45));
    await nextOfType(agent, 'assign');
    const del = await req('DELETE', '/api/v1/namespaces/default/pods/slow');
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.metadata.deletionGracePeriodSeconds, 45);
    assert.ok(del.body.metadata.deletionTimestamp);
    const unassign = await nextOfType(agent, 'unassign');
    assert.equal(unassign.uid, created.body.metadata.uid);
    assert.equal(unassign.gracePeriodSeconds, 45);
    const still = await req('GET', '/api/v1/namespaces/default/pods/slow');
    assert.equal(still.status, 200, 'the pod object stays until its node confirms');
    // A second delete may shorten the grace period, not lengthen it.
    assert.equal((await req('DELETE', '/api/v1/namespaces/default/pods/slow?gracePeriodSeconds=60')).body.metadata.deletionGracePeriodSeconds, 45);
    const shorter = await req('DELETE', '/api/v1/namespaces/default/pods/slow?gracePeriodSeconds=5');
    assert.equal(shorter.status, 200, shorter.text);
    assert.equal(shorter.body.metadata.deletionGracePeriodSeconds, 5);
    while ((await nextOfType(agent, 'unassign')).gracePeriodSeconds !== 5);
    agent.send({ v: 1, type: 'podTerminated', uid: created.body.metadata.uid });
    await gone('slow');
  });

  it('a terminating pod is told again to its node when it reconnects', async (t) => {
    const agent = await node(t, 'node-c');
    const created = await req('POST', '/api/v1/namespaces/default/pods', pod('away', 'node-c'));
    await nextOfType(agent, 'assign');
    agent.ws.terminate();
    await agent.closed();
    await req('DELETE', '/api/v1/namespaces/default/pods/away');
    const back = await FakeAgent.connect(t, s.server, pki, bootstrap, 'node-c');
    back.send(registerMessage('node-c'));
    // A restarted agent has no worker for the pod: it gets the pod as it is (Terminating, with its
    // deletionTimestamp and grace), then the unassign, so it stops it within the time left.
    let assign = await back.next();
    while (assign.type !== 'assign' && assign.type !== 'unassign') assign = await back.next();
    assert.equal(assign.type, 'assign', 'the pod comes before its unassign');
    if (assign.type !== 'assign') return;
    assert.equal(assign.pod.metadata.uid, created.body.metadata.uid);
    assert.ok(assign.pod.metadata.deletionTimestamp, 'the assign carries the deletionTimestamp');
    assert.equal(assign.pod.metadata.deletionGracePeriodSeconds, 30);
    const unassign = await nextOfType(back, 'unassign');
    assert.equal(unassign.uid, created.body.metadata.uid);
    assert.equal(unassign.gracePeriodSeconds, 30, 'terminationGracePeriodSeconds defaults to 30');
    back.send({ v: 1, type: 'podTerminated', uid: created.body.metadata.uid });
    await gone('away');
  });

  it('gracePeriodSeconds=0 (delete --grace-period=0 --force) and unbound pods are removed at once', async (t) => {
    const agent = await node(t, 'node-d');
    await req('POST', '/api/v1/namespaces/default/pods', pod('forced', 'node-d'));
    await nextOfType(agent, 'assign');
    const del = await req('DELETE', '/api/v1/namespaces/default/pods/forced?gracePeriodSeconds=0');
    assert.equal(del.status, 200, del.text);
    assert.equal((await req('GET', '/api/v1/namespaces/default/pods/forced')).status, 404);
    // The store's watch tells the node the pod is gone; the API adds that it is to be killed now.
    while ((await nextOfType(agent, 'unassign')).gracePeriodSeconds !== 0);
    const bad = await req('DELETE', '/api/v1/namespaces/default/pods/x?gracePeriodSeconds=-3');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /gracePeriodSeconds: must be a whole number of seconds/);
    // A grace period too large for a date is a 400 naming the parameter, not a 500.
    const huge = await req('DELETE', '/api/v1/namespaces/default/pods/x?gracePeriodSeconds=9999999999999');
    assert.equal(huge.status, 400);
    assert.match(huge.text, /gracePeriodSeconds: must be a whole number of seconds between 0 and 9223372036/);
  });
});

describe('DeleteOptions', () => {
  it('takes gracePeriodSeconds from the query or a DeleteOptions body (the body wins) and names a bad value', () => {
    assert.equal(requestedGracePeriod(new URLSearchParams(''), ''), undefined);
    assert.equal(requestedGracePeriod(new URLSearchParams('gracePeriodSeconds=7'), ''), 7);
    assert.equal(requestedGracePeriod(new URLSearchParams('gracePeriodSeconds=7'), '{"kind":"DeleteOptions","gracePeriodSeconds":0}'), 0);
    assert.equal(requestedGracePeriod(new URLSearchParams(''), '{"propagationPolicy":"Background"}'), undefined);
    assert.throws(() => requestedGracePeriod(new URLSearchParams('gracePeriodSeconds=soon'), ''), /gracePeriodSeconds: must be a whole number of seconds between 0 and 9223372036, got "soon"/);
    // Larger grace periods overflow the deletion date (and a Go time.Duration in Kubernetes): refused.
    assert.throws(() => requestedGracePeriod(new URLSearchParams('gracePeriodSeconds=9999999999999'), ''), /gracePeriodSeconds: must be a whole number of seconds between 0 and 9223372036, got "9999999999999"/);
    assert.throws(() => requestedGracePeriod(new URLSearchParams(''), '{"gracePeriodSeconds":9007199254740991}'), /DeleteOptions.gracePeriodSeconds: must be a whole number/);
    assert.throws(() => requestedGracePeriod(new URLSearchParams(''), '{"gracePeriodSeconds":-1}'), /DeleteOptions.gracePeriodSeconds: must be a whole number/);
    assert.throws(() => requestedGracePeriod(new URLSearchParams(''), '[1]'), /DeleteOptions body: expected an object/);
  });
});
