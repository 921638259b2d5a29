/**
 * The REST API's streams and pod routes: ?watch=true (Kubernetes' newline-delimited watch events),
 * field selectors, and pod logs and exec through a PodProxy (a fake one here).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { Writable } from 'node:stream';
import type { Pod } from '../../../src/api/index.js';
import { notFound } from '../../../src/lib/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import type { PodExecOptions, PodLogOptions, PodProxy } from '../../../src/scheduler/server/index.js';
import { startWatchHistory } from '../../../src/scheduler/server/watch-history.js';
import { tempStore, pod } from './store-helpers.js';
import { api, makePki, makeTokens, openWatch, startApiServer } from './server-helpers.js';

const summary = (e: any) => `${e.type} ${e.object.kind === 'Event' ? e.object.reason : e.object.metadata?.name}`;

/** A PodProxy that records calls and answers as told. */
class FakeProxy implements PodProxy {
  logCalls: { pod: string; opts: PodLogOptions }[] = [];
  execCalls: { pod: string; opts: PodExecOptions }[] = [];
  /** Set by a followed logs call: write more, or see the abort. */
  live?: { out: Writable; signal: AbortSignal; finish(): void };
  logsError?: Error;

  async logs(p: Pod, opts: PodLogOptions, out: Writable, signal: AbortSignal): Promise<void> {
    this.logCalls.push({ pod: p.metadata.name, opts });
    if (this.logsError) throw this.logsError;
    out.write('');
    out.write('line 1\nline 2\n');
    if (!opts.follow) return;
    await new Promise<void>((resolve) => {
      this.live = { out, signal, finish: resolve };
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  async exec(p: Pod, opts: PodExecOptions) {
    this.execCalls.push({ pod: p.metadata.name, opts });
    return { stdout: `ran ${opts.command.join(' ')}\n`, stderr: 'warn\n', exitCode: 3 };
  }
}

describe('scheduler REST API: watches and pod streams', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('watches pods: current ones as ADDED, a bookmark, then every change in the namespace', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    store.create('Pod', pod('a', 'default', { app: 'x' }));
    store.create('Pod', pod('other-ns', 'team', { app: 'x' }));

    const w = await openWatch(server, pki, '/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true', tokens.api);
    t.after(() => w.close());
    assert.equal(w.status, 200);
    const [added, bookmark] = await w.next(2);
    assert.equal(summary(added), 'ADDED a');
    assert.equal(added.object.kind, 'Pod');
    assert.equal(bookmark.type, 'BOOKMARK');
    assert.equal(bookmark.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
    assert.equal(bookmark.object.metadata.resourceVersion, store.resourceVersion());

    store.create('Pod', pod('b', 'default'));
    store.create('Pod', pod('c', 'team'));
    store.mutate('Pod', 'default', 'a', (p: any) => {
      p.status = { phase: 'Running' };
    });
    store.delete('Pod', 'default', 'b');
    const events = await w.next(5);
    assert.deepEqual(events.slice(2).map(summary), ['ADDED b', 'MODIFIED a', 'DELETED b']);
    assert.equal(events[3].object.status.phase, 'Running');
  });

  it('a watch with a label selector sends DELETED when an object stops matching and ADDED when it starts', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    store.create('Pod', pod('a', 'default', { app: 'x' }));
    store.create('Pod', pod('b', 'default', { app: 'y' }));
    const w = await openWatch(server, pki, '/api/v1/pods?watch=true&labelSelector=app%3Dx', tokens.api);
    t.after(() => w.close());
    await w.next(1);
    store.mutate('Pod', 'default', 'a', (p) => {
      p.metadata.labels = { app: 'y' };
    });
    store.mutate('Pod', 'default', 'b', (p) => {
      p.metadata.labels = { app: 'x' };
    });
    store.delete('Pod', 'default', 'a'); // no longer selected: nothing to say
    store.delete('Pod', 'default', 'b');
    assert.deepEqual((await w.next(4)).map(summary), ['ADDED a', 'DELETED a', 'ADDED b', 'DELETED b']);
  });

  it('watches nodes and events, and filters lists and watches by field selectors', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const nodes = await openWatch(server, pki, '/api/v1/nodes?watch=1', tokens.api);
    t.after(() => nodes.close());
    const events = await openWatch(server, pki, '/api/v1/namespaces/default/events?watch=true&fieldSelector=involvedObject.name%3Da', tokens.api);
    t.after(() => events.close());
    store.create('Node', { metadata: { name: 'n1' }, spec: { unschedulable: false } } as never);
    const event = (name: string, namespace: string) => ({
      type: 'Normal' as const,
      reason: `About-${name}`,
      message: 'm',
      involvedObject: { kind: 'Pod', namespace, name },
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
      count: 1,
    });
    store.recordEvent(event('b', 'default'));
    store.recordEvent(event('a', 'team'));
    store.recordEvent(event('a', 'default'));
    assert.deepEqual((await nodes.next(1)).map(summary), ['ADDED n1']);
    assert.deepEqual((await events.next(1)).map(summary), ['ADDED About-a']);
    assert.equal(events.events[0].object.involvedObject.namespace, 'default');

    for (const name of ['a', 'b']) store.create('Pod', pod(name));
    store.bindPod('default', 'a', 'n1');
    const bound = await api(server, pki, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1', { token: tokens.api });
    assert.deepEqual(bound.body.items.map((p: any) => p.metadata.name), ['a']);
    const unbound = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3D', { token: tokens.api });
    assert.deepEqual(unbound.body.items.map((p: any) => p.metadata.name), ['b']);
    const notA = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name!%3Da', { token: tokens.api });
    assert.deepEqual(notA.body.items.map((p: any) => p.metadata.name), ['b']);
    const bad = await api(server, pki, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName~n1', { token: tokens.api });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /fieldSelector/);
  });

  it('stops delivering to a watch once its client has gone', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const listeners = () => (store as unknown as { listeners: Set<unknown> }).listeners.size;
    startWatchHistory(store); // the API's own listener (resumable watches), there for good
    const base = listeners();
    const w = await openWatch(server, pki, '/api/v1/pods?watch=true', tokens.api);
    store.create('Pod', pod('a'));
    await w.next(1);
    assert.equal(listeners(), base + 1);
    w.close();
    for (let i = 0; i < 100 && listeners() > base; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listeners(), base, 'the store listener is gone');
    store.create('Pod', pod('b')); // nobody to tell; must not fail
  });

  it('answers logs and exec with 501 without a pod proxy, 404 for a missing pod, 400 for an unbound one', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const plain = await startApiServer(t, store, pki, tokens.lookup);
    store.create('Pod', pod('waiting'));
    const noProxy = await api(plain, pki, 'GET', '/api/v1/namespaces/default/pods/waiting/log', { token: tokens.api });
    assert.equal(noProxy.status, 501);
    assert.match(noProxy.body.message, /cannot reach pods/);

    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: new FakeProxy() });
    const missing = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/nope/log', { token: tokens.api });
    assert.equal(missing.status, 404);
    const unbound = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/waiting/log', { token: tokens.api });
    assert.equal(unbound.status, 400);
    assert.match(unbound.body.message, /not scheduled to a node yet/);
    const unboundExec = await api(server, pki, 'POST', '/api/v1/namespaces/default/pods/waiting/exec', { token: tokens.api, body: '{"command":["ls"]}' });
    assert.equal(unboundExec.status, 400);
  });

  it('streams logs with the options given, and maps a proxy refusal to a Status', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const proxy = new FakeProxy();
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: proxy });
    store.create('Pod', pod('web'));
    store.bindPod('default', 'web', 'n1');

    const log = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/web/log?container=c&tailLines=5&previous=true', { token: tokens.api });
    assert.equal(log.status, 200);
    assert.match(String(log.headers['content-type']), /text\/plain/);
    assert.equal(log.text, 'line 1\nline 2\n');
    assert.deepEqual(proxy.logCalls[0], { pod: 'web', opts: { follow: false, previous: true, timestamps: false, tailLines: 5, container: 'c' } });
    const badTail = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/web/log?tailLines=-1', { token: tokens.api });
    assert.equal(badTail.status, 400);

    proxy.logsError = notFound('container nope is not in pod default/web');
    const refused = await api(server, pki, 'GET', '/api/v1/namespaces/default/pods/web/log?container=nope', { token: tokens.api });
    assert.equal(refused.status, 404);
    assert.match(refused.body.message, /container nope/);
  });

  it('follows a log until the client hangs up, which aborts the proxy', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const proxy = new FakeProxy();
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: proxy });
    store.create('Pod', pod('web'));
    store.bindPod('default', 'web', 'n1');

    let received = '';
    const waiters: (() => void)[] = [];
    const req = https.request(`${server.url}/api/v1/namespaces/default/pods/web/log?follow=true`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${tokens.api}` } }, (res) => {
      res.on('data', (c: Buffer) => {
        received += c.toString('utf8');
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
    t.after(() => req.destroy());
    const until = async (text: string) => {
      while (!received.includes(text)) await new Promise<void>((r) => waiters.push(r));
    };
    await until('line 2\n');
    proxy.live!.out.write('line 3\n');
    await until('line 3\n');
    assert.equal(proxy.live!.signal.aborted, false);
    req.destroy();
    for (let i = 0; i < 100 && !proxy.live!.signal.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(proxy.live!.signal.aborted, true, 'the proxy was told the reader went away');
  });

  it('runs exec through the proxy and returns output and exit code', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const proxy = new FakeProxy();
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: proxy });
    store.create('Pod', pod('web'));
    store.bindPod('default', 'web', 'n1');
    const path = '/api/v1/namespaces/default/pods/web/exec';

    const ran = await api(server, pki, 'POST', path, { token: tokens.api, body: JSON.stringify({ command: ['echo', 'hi'], container: 'c', timeoutSeconds: 5 }), contentType: 'application/json' });
    assert.equal(ran.status, 200, ran.text);
    assert.deepEqual(ran.body, { stdout: 'ran echo hi\n', stderr: 'warn\n', exitCode: 3 });
    assert.deepEqual(proxy.execCalls[0], { pod: 'web', opts: { command: ['echo', 'hi'], container: 'c', timeoutSeconds: 5 } });

    for (const body of ['', '[]', '{"command":[]}', '{"command":"ls"}', '{"command":["ls"],"timeoutSeconds":0}', '{"command":["ls"],"container":1}']) {
      const bad = await api(server, pki, 'POST', path, { token: tokens.api, body, contentType: 'application/json' });
      assert.equal(bad.status, 400, body);
    }
    // kubectl's exec, attach and port-forward are upgrades: without one, 400 as kube-apiserver answers.
    const plainGet = await api(server, pki, 'GET', path, { token: tokens.api });
    assert.equal(plainGet.status, 400);
    assert.match(plainGet.body.message, /^Upgrade request required: pods\/exec streams over a WebSocket/);
    assert.equal((await api(server, pki, 'GET', path.replace(/exec$/, 'portforward'), { token: tokens.api })).status, 400);
  });
});
