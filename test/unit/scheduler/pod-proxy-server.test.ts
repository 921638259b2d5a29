/**
 * Pod logs and exec end to end inside the scheduler: a real server, a fake agent on a real
 * WebSocket that answers logsRequest / execRequest, and the REST API's log and exec routes.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { decodeObjects, type Message } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import type { SchedulerServer } from '../../../src/scheduler/server/index.js';
import type { ObjectInput } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { FakeAgent, api, makePki, makeTokens, podYaml, registerMessage, startServer } from './server-helpers.js';

/** A GET whose body is text; resolves once the headers are in, with the body so far and its end. */
function getText(server: SchedulerServer, pki: Pki, path: string, token: string) {
  return new Promise<{ status: number; body: () => string; ended: Promise<void>; destroy: () => void }>((resolve, reject) => {
    const req = https.request(`${server.url}${path}`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const ended = new Promise<void>((r) => {
        res.on('end', () => r());
        res.on('close', () => r());
      });
      resolve({ status: res.statusCode ?? 0, body: () => text, ended, destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits for check to hold (a guard against hanging, not a time limit). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 2000) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Answers the scheduler's requests as an agent would; records what it was asked. */
function answer(agent: FakeAgent): Message[] {
  const seen: Message[] = [];
  void (async () => {
    for (;;) {
      const m = await agent.next();
      seen.push(m);
      if (m.type === 'logsRequest') {
        if (m.previous) {
          agent.send({ v: 1, type: 'logsEnd', id: m.id, error: { code: 'FailedPrecondition', message: `container ${m.container} in pod default/web has not restarted: there is no previous log` } });
          continue;
        }
        agent.send({ v: 1, type: 'logsData', id: m.id, data: '' });
        agent.send({ v: 1, type: 'logsData', id: m.id, data: m.timestamps ? '2026-01-01T00:00:00Z hello\n' : 'hello\n' });
        if (!m.follow) agent.send({ v: 1, type: 'logsEnd', id: m.id });
        // Followed: nothing more until the scheduler cancels.
      } else if (m.type === 'execRequest') {
        const exitCode = m.command[0] === 'sh' ? 3 : 0;
        agent.send({ v: 1, type: 'execResult', id: m.id, stdout: exitCode === 0 ? 'hi\n' : '', stderr: '', exitCode });
      }
    }
  })().catch(() => undefined); // the socket closes when the test ends
  return seen;
}

describe('pod logs and exec through the scheduler server', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('serves a pod\'s log and exec from its node\'s agent, and cancels a followed log the client left', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const agent = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-a');
    agent.send(registerMessage('node-a'));
    assert.equal((await agent.next()).type, 'registered');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node-a');
    const seen = answer(agent);
    const base = '/api/v1/namespaces/default/pods/web';

    const plain = await getText(server, pki, `${base}/log?tailLines=5&timestamps=true`, tokens.api);
    await plain.ended;
    assert.equal(plain.status, 200);
    assert.equal(plain.body(), '2026-01-01T00:00:00Z hello\n');
    const asked = seen.find((m) => m.type === 'logsRequest');
    assert.ok(asked?.type === 'logsRequest');
    assert.deepEqual({ ...asked, id: 'x' }, { v: 1, type: 'logsRequest', id: 'x', uid: store.get<any>('Pod', 'default', 'web').metadata.uid, container: 'c', follow: false, tailLines: 5, timestamps: true });

    const previous = await api(server, pki, 'GET', `${base}/log?previous=true`, { token: tokens.api });
    assert.equal(previous.status, 400); // as the kubelet answers it
    assert.equal(previous.body.reason, 'BadRequest');
    assert.equal(previous.body.message, 'container c in pod default/web has not restarted: there is no previous log');

    // sinceTime is decided from the lines' timestamps (asked of the agent, cut off again); limitBytes cuts the text.
    const since = await getText(server, pki, `${base}/log?sinceTime=2025-12-31T23:59:59Z`, tokens.api);
    await since.ended;
    assert.equal(since.body(), 'hello\n');
    const sinceAsked = seen.filter((m) => m.type === 'logsRequest').at(-1);
    assert.equal(sinceAsked?.type === 'logsRequest' && sinceAsked.timestamps, true);
    const later = await getText(server, pki, `${base}/log?sinceTime=2026-01-01T00:00:01Z&timestamps=true`, tokens.api);
    await later.ended;
    assert.equal(later.body(), '');
    const limited = await getText(server, pki, `${base}/log?limitBytes=3`, tokens.api);
    await limited.ended;
    assert.equal(limited.body(), 'hel');
    const both = await api(server, pki, 'GET', `${base}/log?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z`, { token: tokens.api });
    assert.equal(both.status, 400);
    assert.equal(both.body.message, 'sinceSeconds, sinceTime: at most one of them may be given');

    const followed = await getText(server, pki, `${base}/log?follow=true`, tokens.api);
    assert.equal(followed.status, 200);
    await until(() => followed.body() === 'hello\n');
    const followId = seen.filter((m) => m.type === 'logsRequest').at(-1)!.id;
    followed.destroy();
    await until(() => seen.some((m) => m.type === 'logsCancel' && m.id === followId));

    const hi = await api(server, pki, 'POST', `${base}/exec`, { token: tokens.api, body: JSON.stringify({ command: ['echo', 'hi'] }) });
    assert.equal(hi.status, 200);
    assert.deepEqual(hi.body, { stdout: 'hi\n', stderr: '', exitCode: 0 });
    const three = await api(server, pki, 'POST', `${base}/exec`, { token: tokens.api, body: JSON.stringify({ command: ['sh', '-c', 'exit 3'], timeoutSeconds: 10 }) });
    assert.deepEqual(three.body, { stdout: '', stderr: '', exitCode: 3 });
    const execAsked = seen.filter((m) => m.type === 'execRequest').at(-1);
    assert.equal(execAsked?.type === 'execRequest' && execAsked.timeoutSeconds, 10);

    // Through the server's proxy directly, too.
    const pod = store.get<any>('Pod', 'default', 'web');
    assert.deepEqual(await server.podProxy.exec(pod, { command: ['echo', 'hi'] }), { stdout: 'hi\n', stderr: '', exitCode: 0 });
  });

  it('answers 503 when the pod\'s node is not connected, and fails a followed log when the node goes', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const agent = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-a');
    agent.send(registerMessage('node-a'));
    assert.equal((await agent.next()).type, 'registered');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node-a');
    answer(agent);
    const base = '/api/v1/namespaces/default/pods/web';

    const followed = await getText(server, pki, `${base}/log?follow=true`, tokens.api);
    await until(() => followed.body() === 'hello\n');
    agent.ws.close();
    await followed.ended; // cut short: the node is gone
    await until(() => server.sessions.names().length === 0);

    const log = await api(server, pki, 'GET', `${base}/log`, { token: tokens.api });
    assert.equal(log.status, 503);
    assert.match(log.body.message, /^node node-a is not connected/);
    const exec = await api(server, pki, 'POST', `${base}/exec`, { token: tokens.api, body: JSON.stringify({ command: ['true'] }) });
    assert.equal(exec.status, 503);
  });
});
