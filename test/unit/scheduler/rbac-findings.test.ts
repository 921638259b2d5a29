/**
 * Security review findings of the REST API's access control, each through the real HTTPS API (an
 * in-process scheduler server): cluster-scoped kinds under a namespace URL, binding roles that do
 * not exist yet, users created with groups the creator does not hold, refusals and creates in the
 * audit log, the audit log's defence against floods of denials, exec audited when the client hangs
 * up, and watches and log follows that end (server timeout, credentials revoked).
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Pod } from '../../../src/api/index.js';
import { newTokenRecord, serverTlsOptions, type Pki, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { AuditLog, reconcileBuiltinRbac } from '../../../src/scheduler/rbac/index.js';
import { ensureBuiltinNamespaces } from '../../../src/scheduler/admission/index.js';
import type { PodExecOptions, PodLogOptions, PodProxy } from '../../../src/scheduler/server/index.js';
import { handleApiRequest, type RestApiOptions } from '../../../src/scheduler/server/rest-api.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, podYaml } from './server-helpers.js';

/** Logs: "hello", then (follow) nothing more until aborted. Exec: waits for release() when asked to hang. */
class FakeProxy implements PodProxy {
  execs = 0;
  release: () => void = () => {};
  async logs(_p: Pod, o: PodLogOptions, out: Writable, signal: AbortSignal): Promise<void> {
    out.write('hello\n');
    if (o.follow) await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
  }
  async exec(_p: Pod, opts: PodExecOptions) {
    this.execs++;
    if (opts.command[0] === 'hang') await new Promise<void>((r) => (this.release = r));
    return { stdout: `ran ${opts.command.join(' ')}\n`, stderr: '', exitCode: 0 };
  }
}

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };

async function cluster(t: TestContext, pki: Pki, extra: Partial<RestApiOptions> = {}) {
  const { store } = tempStore(t);
  ensureBuiltinNamespaces(store);
  reconcileBuiltinRbac(store);
  for (const name of ['team', 'other']) store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as never);
  const records = new Map<string, TokenRecord>();
  const proxy = new FakeProxy();
  const sessions: any = { send() {} };
  const server = https.createServer(serverTlsOptions(pki), (req, res) => {
    void handleApiRequest(req, res, {
      store,
      sessions,
      tokenLookup: (id) => records.get(id),
      logger: silent,
      now: () => new Date(),
      podProxy: proxy,
      addToken: (r) => records.set(r.id, r),
      pki,
      ...extra,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const token = (user: string, groups: string[] = []) => {
    const { token, record } = newTokenRecord('api', { user, groups });
    records.set(record.id, record);
    return { token, id: record.id };
  };
  const admin = token('root', ['system:masters']).token;
  return { store, server: { url }, records, token, admin, proxy };
}

const RBAC = 'rbac.authorization.k8s.io';
function bind(store: Store, ns: string, role: string, user: string): void {
  store.create('RoleBinding', { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name: `${user}-${role}`, namespace: ns }, subjects: [{ kind: 'User', apiGroup: RBAC, name: user }], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role } } as any);
}
function clusterRole(store: Store, name: string, rules: unknown[]): void {
  store.create('ClusterRole', { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name }, rules } as any);
}
function clusterBind(store: Store, role: string, user: string): void {
  store.create('ClusterRoleBinding', { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name: `${user}-${role}` }, subjects: [{ kind: 'User', apiGroup: RBAC, name: user }], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role } } as any);
}

function auditDir(t: TestContext): { dir: string; path: string; lines: () => any[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rbac-findings-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.log');
  return { dir, path, lines: () => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []) };
}

const settle = () => new Promise((r) => setTimeout(r, 50)); // 'finish'/'close' run after the client has its answer

/** Reads a streamed answer to its end: status and text. */
function readStream(server: { url: string }, pki: Pki, path: string, token: string, onData?: (text: string) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}${path}`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        onData?.(text);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('review findings', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('1: cluster-scoped kinds under a namespace URL are not found, and RBAC in the namespace does not reach them', async (t) => {
    const c = await cluster(t, pki);
    bind(c.store, 'team', 'view', 'vera');
    const vera = c.token('vera').token;
    const listed = await api(c.server, pki, 'GET', '/api/v1/namespaces/team/namespaces', { token: vera });
    assert.notEqual(listed.status, 200, listed.text);
    clusterRole(c.store, 'everything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    bind(c.store, 'team', 'everything', 'tess');
    const tess = c.token('tess').token;
    const bodies: Record<string, unknown> = {
      namespaces: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sneaky' } },
      clusterroles: { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'sneaky' }, rules: [] },
      clusterrolebindings: { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'sneaky' }, subjects: [{ kind: 'User', name: 'tess' }], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' } },
    };
    for (const [resource, body] of Object.entries(bodies)) {
      const made = await api(c.server, pki, 'POST', `/api/v1/namespaces/team/${resource}`, { token: tess, body: JSON.stringify(body) });
      assert.ok([403, 404].includes(made.status), `${resource}: ${made.status} ${made.text}`);
      // Even cluster-admin finds no such collection there (Kubernetes answers 404).
      const asAdmin = await api(c.server, pki, 'POST', `/api/v1/namespaces/team/${resource}`, { token: c.admin, body: JSON.stringify(body) });
      assert.equal(asAdmin.status, 404, `${resource}: ${asAdmin.text}`);
    }
    assert.equal(c.store.get('Namespace', '', 'sneaky'), undefined);
    assert.equal(c.store.get('ClusterRole', '', 'sneaky'), undefined);
    assert.equal(c.store.get('ClusterRoleBinding', '', 'sneaky'), undefined);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/namespaces/team/namespaces', { token: c.admin })).status, 404);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/namespaces/team/clusterroles/view', { token: c.admin })).status, 404);
    // The namespaced routes still work.
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods', { token: vera })).status, 200);
    assert.equal((await api(c.server, pki, 'GET', '/api/v1/namespaces/team', { token: c.admin })).status, 200);
  });

  it('2: binding a role that does not exist needs the "bind" verb on it', async (t) => {
    const c = await cluster(t, pki);
    bind(c.store, 'team', 'admin', 'ada');
    const ada = c.token('ada').token;
    const binding = (name: string, role: string) => JSON.stringify({ apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name, namespace: 'team' }, subjects: [{ kind: 'User', apiGroup: RBAC, name: 'ada' }], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role } });
    const early = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/rolebindings', { token: ada, body: binding('pre', 'not-yet') });
    assert.equal(early.status, 403, early.text);
    assert.match(early.body.message, /"not-yet"/);
    assert.match(early.body.message, /bind/);
    assert.equal(c.store.get('RoleBinding', 'team', 'pre'), undefined);
    // Through apply too.
    const applied = await api(c.server, pki, 'POST', '/api/v1/apply', { token: ada, body: binding('pre', 'not-yet') });
    assert.equal(applied.status, 403, applied.text);
    // An existing role she holds is still fine, and so is a missing one she may bind.
    assert.equal((await api(c.server, pki, 'POST', '/api/v1/namespaces/team/rolebindings', { token: ada, body: binding('v', 'view') })).status, 201);
    clusterRole(c.store, 'binder', [{ apiGroups: [RBAC], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['not-yet'] }]);
    clusterBind(c.store, 'binder', 'ada');
    assert.equal((await api(c.server, pki, 'POST', '/api/v1/namespaces/team/rolebindings', { token: ada, body: binding('pre', 'not-yet') })).status, 201);
  });

  it('7: creating a user with groups needs "impersonate" on each group (or membership)', async (t) => {
    const c = await cluster(t, pki);
    clusterRole(c.store, 'user-maker', [{ apiGroups: ['corelet.io'], resources: ['users'], verbs: ['create'] }]);
    clusterBind(c.store, 'user-maker', 'uma');
    const uma = c.token('uma', ['devs']).token;
    const user = (name: string, groups: string[]) => JSON.stringify({ apiVersion: 'corelet.io/v1', kind: 'User', metadata: { name }, spec: { groups } });
    const masters = await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: uma, body: user('evil', ['system:masters']) });
    assert.equal(masters.status, 403, masters.text);
    assert.match(masters.body.message, /system:masters/);
    assert.match(masters.body.message, /impersonate/);
    assert.equal((await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: uma, body: user('plain', []) })).status, 201);
    assert.equal((await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: uma, body: user('dev', ['devs']) })).status, 201);
    const ops = await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: uma, body: user('op', ['devs', 'ops']) });
    assert.equal(ops.status, 403);
    assert.match(ops.body.message, /"ops"/);
    clusterRole(c.store, 'ops-impersonator', [{ apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['ops'] }]);
    clusterBind(c.store, 'ops-impersonator', 'uma');
    assert.equal((await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: uma, body: user('op', ['devs', 'ops']) })).status, 201);
    assert.equal((await api(c.server, pki, 'POST', '/apis/corelet.io/v1/users', { token: c.admin, body: user('boss', ['system:masters']) })).status, 201);
  });

  it('6: Pod Security and protected-namespace refusals are audited; creates carry the name; a rolled-back apply is not "allowed"', async (t) => {
    const a = auditDir(t);
    const audit = new AuditLog(a.path);
    t.after(() => audit.close());
    const c = await cluster(t, pki, { audit });
    c.store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } as never);
    const psa = await api(c.server, pki, 'POST', '/api/v1/namespaces/locked/pods', { token: c.admin, body: podYaml('p').replace('name: p', 'name: p\n  namespace: locked') });
    assert.equal(psa.status, 403, psa.text);
    const def = await api(c.server, pki, 'DELETE', '/api/v1/namespaces/default', { token: c.admin });
    assert.equal(def.status, 403, def.text);
    const made = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/pods', { token: c.admin, body: podYaml('named').replace('name: named', 'name: named\n  namespace: team') });
    assert.equal(made.status, 201, made.text);
    // The second object fails: the whole apply is rolled back, the first was never stored.
    const manifest = `${podYaml('first').replace('name: first', 'name: first\n  namespace: team')}---\n${podYaml('second').replace('name: second', 'name: second\n  namespace: nowhere')}`;
    const rolled = await api(c.server, pki, 'POST', '/api/v1/apply', { token: c.admin, body: manifest });
    assert.equal(rolled.status, 404, rolled.text);
    assert.equal(c.store.get('Pod', 'team', 'first'), undefined);
    await settle();
    const lines = a.lines().map((l) => `${l.verb} ${l.resource} ${l.namespace ?? ''}/${l.name ?? ''} ${l.code} ${l.result}`);
    assert.ok(lines.includes('create pods locked/p 403 denied'), lines.join('\n'));
    assert.ok(lines.includes('delete namespaces default/default 403 denied'), lines.join('\n'));
    assert.ok(lines.includes('create pods team/named 201 allowed'), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('team/first') && l.includes('allowed')), lines.join('\n'));
    const psaLine = a.lines().find((l) => l.namespace === 'locked');
    assert.match(psaLine.reason, /violates PodSecurity|restricted/);
  });
});

describe('review finding 5: exec audited when its client hangs up', () => {
  it('records the exec when it starts and when it ends, also after the client went away', async (t) => {
    const pki = await makePki();
    const a = auditDir(t);
    const audit = new AuditLog(a.path);
    t.after(() => audit.close());
    const c = await cluster(t, pki, { audit });
    c.store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } as never);
    bind(c.store, 'team', 'edit', 'eve');
    const eve = c.token('eve').token;
    const req = https.request(`${c.server.url}/api/v1/namespaces/team/pods/p/exec`, { method: 'POST', ca: pki.ca.certPem, headers: { authorization: `Bearer ${eve}` }, agent: false });
    req.on('error', () => {});
    req.end(JSON.stringify({ command: ['hang'] }));
    while (c.proxy.execs === 0) await new Promise((r) => setTimeout(r, 10));
    const started = a.lines();
    assert.deepEqual(started.map((l) => `${l.user} ${l.verb} ${l.resource}/${l.subresource} ${l.namespace}/${l.name} ${l.result}`), ['eve create pods/exec team/p started']);
    req.destroy(); // the client hangs up mid-exec
    await settle();
    c.proxy.release();
    await settle();
    const lines = a.lines();
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.equal(lines[1].result, 'allowed');
    assert.equal(lines[1].code, 200);
    assert.match(lines[1].reason, /client went away/);
  });
});

describe('review finding 4: the audit log under a flood of denials', () => {
  it('1,700 denials with 7,000-character names cannot rotate an earlier write out; fields are clipped; what is dropped is summarized', (t) => {
    const a = auditDir(t);
    let clock = 0;
    const log = new AuditLog(a.path, 64 * 1024, 2, { now: () => clock });
    const write = { time: 't', user: 'ed', groups: ['system:authenticated'], verb: 'create', resource: 'pods', namespace: 'team', name: 'kept', code: 201, result: 'allowed' as const };
    log.write(write);
    const long = 'x'.repeat(7000);
    for (let i = 0; i < 1700; i++) {
      log.write({ time: 't', user: 'mallory', groups: ['system:authenticated'], verb: 'delete', resource: 'pods', namespace: 'team', name: `${long}${i}`, code: 403, result: 'denied', reason: `User "mallory" cannot delete pods ${long}` });
    }
    const all = () => [a.path, `${a.path}.1`, `${a.path}.2`].filter((f) => existsSync(f)).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    assert.ok(all().some((r) => r.user === 'ed' && r.name === 'kept'), 'the write is still in the log');
    const denials = all().filter((r) => r.user === 'mallory');
    assert.ok(denials.length > 0 && denials.length <= 60, `${denials.length} denials recorded`);
    for (const r of denials) {
      assert.ok(r.name.length < 320, 'names are clipped');
      assert.match(r.name, /more characters\)$/);
      assert.ok(r.reason.length < 1100, 'reasons are clipped');
    }
    // A minute later, the next record brings the summary of what was dropped.
    clock += 61_000;
    log.write({ ...write, name: 'later' });
    log.close();
    const summary = all().find((r) => r.verb === 'audit-suppressed');
    assert.ok(summary, 'a summary record');
    assert.match(summary.reason, new RegExp(`^${1700 - denials.length} more denials suppressed .*mallory: ${1700 - denials.length}`));
    assert.ok(all().some((r) => r.name === 'later'));
  });

  it('writes still rotate the log as before, and other users keep their own denial quota', (t) => {
    const a = auditDir(t);
    const clock = 0;
    const log = new AuditLog(a.path, 64 * 1024, 2, { now: () => clock, perUser: 5 });
    for (let i = 0; i < 20; i++) log.write({ time: 't', user: 'mallory', groups: [], verb: 'get', resource: 'secrets', code: 403, result: 'denied' });
    log.write({ time: 't', user: 'olga', groups: [], verb: 'get', resource: 'secrets', code: 403, result: 'denied' });
    log.close();
    const lines = a.lines();
    assert.equal(lines.filter((r) => r.user === 'mallory' && r.verb === 'get').length, 5);
    assert.equal(lines.filter((r) => r.user === 'olga').length, 1);
    assert.match(lines.find((r) => r.verb === 'audit-suppressed').reason, /^15 more denials suppressed/);
  });
});

describe('review finding 3: watches and log follows end', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('a watch and a followed log end cleanly at the server timeout; ?timeoutSeconds= is checked', { timeout: 20_000 }, async (t) => {
    const c = await cluster(t, pki, { minRequestTimeoutSeconds: 0.05 });
    c.store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } as never);
    const watched = await readStream(c.server, pki, '/api/v1/namespaces/team/pods?watch=true&allowWatchBookmarks=true', c.admin);
    assert.equal(watched.status, 200);
    const events = watched.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
    const followed = await readStream(c.server, pki, '/api/v1/namespaces/team/pods/p/log?follow=true', c.admin);
    assert.deepEqual([followed.status, followed.text], [200, 'hello\n']);
    const bad = await api(c.server, pki, 'GET', '/api/v1/namespaces/team/pods?watch=true&timeoutSeconds=soon', { token: c.admin });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /timeoutSeconds must be a non-negative whole number/);
  });

  it('a watch ends at its ?timeoutSeconds= before the server timeout', { timeout: 20_000 }, async (t) => {
    const c = await cluster(t, pki, { minRequestTimeoutSeconds: 3600 });
    const watched = await readStream(c.server, pki, '/api/v1/namespaces/team/pods?watch=true&timeoutSeconds=1', c.admin);
    assert.equal(watched.status, 200);
  });

  it("a watch and a follow end when the caller's token or ServiceAccount is deleted; nothing more is sent", { timeout: 20_000 }, async (t) => {
    const c = await cluster(t, pki, { minRequestTimeoutSeconds: 3600, streamRecheckMs: 20 });
    c.store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } as never);
    bind(c.store, 'team', 'view', 'vera');
    const vera = c.token('vera');
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    const watching = readStream(c.server, pki, '/api/v1/namespaces/team/pods?watch=true&allowWatchBookmarks=true', vera.token, (text) => text.includes('BOOKMARK') && started());
    let followStarted!: () => void;
    const followFirst = new Promise<void>((r) => (followStarted = r));
    const following = readStream(c.server, pki, '/api/v1/namespaces/team/pods/p/log?follow=true', vera.token, () => followStarted());
    await Promise.all([first, followFirst]);
    c.records.delete(vera.id); // the token is revoked
    await new Promise((r) => setTimeout(r, 40)); // past the recheck: the next send checks again anyway
    c.store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'after', namespace: 'team' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);
    const watched = await watching;
    assert.doesNotMatch(watched.text, /"after"/);
    assert.equal((await following).text, 'hello\n');

    // A ServiceAccount's token: deleting the ServiceAccount ends its streams.
    c.store.create('ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ci', namespace: 'team' } } as never);
    c.store.create('RoleBinding', { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name: 'ci-view', namespace: 'team' }, subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'team' }], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' } } as any);
    const tr = await api(c.server, pki, 'POST', '/api/v1/namespaces/team/serviceaccounts/ci/token', { token: c.admin, body: '{}' });
    assert.equal(tr.status, 201, tr.text);
    let saStarted!: () => void;
    const saFirst = new Promise<void>((r) => (saStarted = r));
    const saWatch = readStream(c.server, pki, '/api/v1/namespaces/team/pods?watch=true&allowWatchBookmarks=true', tr.body.status.token, (text) => text.includes('BOOKMARK') && saStarted());
    await saFirst;
    c.store.delete('ServiceAccount', 'team', 'ci');
    assert.equal((await saWatch).status, 200);
  });
});
