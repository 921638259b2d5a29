/**
 * The CLI's access commands as a user runs them (the CLI in-process, run-cli.ts, against an
 * in-process scheduler): create serviceaccount/role/rolebinding/user/token, auth can-i (yes/no,
 * exit 0/1, --as), a 403 printed with exit 1, contexts (create user --set-context, config get-contexts/use-context), a user
 * with a client certificate, get/describe/delete of RBAC objects.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTokenRecord, type Pki, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { startSchedulerServer } from '../../../src/scheduler/server/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { makePki, podYaml } from '../scheduler/server-helpers.js';
import { cli } from './run-cli.js';

async function setup(t: TestContext, pki: Pki) {
  const { store } = tempStore(t);
  // Namespaces must exist before objects go in them (NamespaceLifecycle).
  for (const name of ['team']) store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as never);
  const records = new Map<string, TokenRecord>();
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: (id) => records.get(id), addToken: (r) => records.set(r.id, r) });
  t.after(() => server.close());
  // An old-style admin token (user "admin", no groups): still an admin.
  const admin = newTokenRecord('api', { user: 'admin' });
  records.set(admin.record.id, admin.record);
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-rbac-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ server: server.url, token: admin.token, caCert: pki.ca.certPem }));
  return { store, env: { CORELET_CONFIG: config, HOME: dir }, config, dir };
}

describe('corelet create / auth can-i / config', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('grants a user view in a namespace and answers can-i for it; a refusal exits 1 with the 403 message', async (t) => {
    const { env, config } = await setup(t, pki);
    const made = await cli(env, ['create', 'user', 'bob', '--group', 'devs', '--set-context']);
    assert.equal(made.exitCode, 0, made.stderr);
    assert.match(made.stdout, /context "bob@corelet" added/);
    const file = JSON.parse(readFileSync(config, 'utf8'));
    assert.equal(file.currentContext, 'admin@corelet', 'the flat file became contexts; the admin stays current');
    assert.equal(statSync(config).mode & 0o777, 0o600);

    assert.equal((await cli(env, ['create', 'rolebinding', 'bob-view', '--clusterrole', 'view', '--user', 'bob', '-n', 'team'])).exitCode, 0);
    const contexts = await cli(env, ['config', 'get-contexts']);
    assert.match(contexts.stdout, /\*\s+admin@corelet\s+corelet\s+admin/);
    assert.match(contexts.stdout, /bob@corelet\s+corelet\s+bob/);

    assert.equal((await cli(env, ['config', 'use-context', 'bob@corelet'])).exitCode, 0);
    assert.equal((await cli(env, ['config', 'current-context'])).stdout.trim(), 'bob@corelet');
    const yes = await cli(env, ['auth', 'can-i', 'get', 'pods/log', '-n', 'team']);
    assert.deepEqual([yes.stdout.trim(), yes.exitCode], ['yes', 0]);
    const no = await cli(env, ['auth', 'can-i', 'create', 'pods', '-n', 'team']);
    assert.deepEqual([no.stdout.trim(), no.exitCode], ['no', 1]);
    const refused = await cli(env, ['apply', '-f', '-', '-n', 'team'], podYaml('x').replace('name: x', 'name: x\n  namespace: team'));
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "team"/);
    const listed = await cli(env, ['get', 'pods', '-n', 'team']);
    assert.equal(listed.exitCode, 0, listed.stderr);

    // --as needs the impersonate verb: bob has none; the admin has.
    const asAdmin = await cli(env, ['auth', 'can-i', 'create', 'pods', '-n', 'team', '--as', 'admin']);
    assert.equal(asAdmin.exitCode, 1);
    assert.match(asAdmin.stderr, /cannot impersonate resource "users"/);
    assert.equal((await cli(env, ['config', 'use-context', 'admin@corelet'])).exitCode, 0);
    const asBob = await cli(env, ['auth', 'can-i', 'delete', 'pods', '-n', 'team', '--as', 'bob']);
    assert.deepEqual([asBob.stdout.trim(), asBob.exitCode], ['no', 1]);
  });

  it('creates roles, service accounts and their tokens; gets, describes and deletes them', async (t) => {
    const { env, dir } = await setup(t, pki);
    const ok = async (args: string[]) => {
      const r = await cli(env, args);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await ok(['create', 'role', 'pod-reader', '--verb', 'get,list', '--resource', 'pods,pods/log,deployments.apps', '-n', 'team']), /role.rbac.authorization.k8s.io\/pod-reader created/);
    await ok(['create', 'serviceaccount', 'ci', '-n', 'team']);
    await ok(['create', 'rolebinding', 'ci-reads', '--role', 'pod-reader', '--serviceaccount', 'team:ci', '-n', 'team']);
    await ok(['create', 'clusterrole', 'node-reader', '--verb', 'get', '--resource', 'nodes']);
    await ok(['create', 'clusterrolebinding', 'ops-nodes', '--clusterrole', 'node-reader', '--group', 'ops']);
    const token = (await ok(['create', 'token', 'ci', '-n', 'team', '--duration', '30m'])).trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const ciEnv = { HOME: dir, CORELET_CONFIG: env.CORELET_CONFIG };
    const can = await cli(ciEnv, ['auth', 'can-i', 'list', 'deployments', '-n', 'team', '--token', token]);
    assert.equal(can.stdout.trim(), 'yes');
    const cannot = await cli(ciEnv, ['auth', 'can-i', 'list', 'deployments', '-n', 'other', '--token', token]);
    assert.equal(cannot.stdout.trim(), 'no');

    assert.match(await ok(['get', 'roles', '-n', 'team']), /pod-reader/);
    assert.match(await ok(['get', 'sa', '-n', 'team']), /ci/);
    assert.match(await ok(['get', 'clusterroles']), /node-reader/);
    const described = await ok(['describe', 'role', 'pod-reader', '-n', 'team']);
    assert.match(described, /PolicyRule:/);
    assert.match(described, /pods, pods\/log\s+\[\]\s+\[\]\s+\[get list\]/);
    assert.match(described, /deployments\.apps/);
    assert.match(await ok(['describe', 'rolebinding', 'ci-reads', '-n', 'team']), /ServiceAccount\s+ci\s+team/);
    await ok(['delete', 'clusterrolebinding', 'ops-nodes']);
    await ok(['delete', 'role', 'pod-reader', '-n', 'team']);
    assert.doesNotMatch(await ok(['get', 'roles', '-n', 'team']), /pod-reader/);
  });

  it('makes a user a client certificate for a key made locally (0600), and the context authenticates with it', async (t) => {
    const { env, dir, config } = await setup(t, pki);
    // Files left by an earlier run with looser bits are made 0600 too.
    mkdirSync(join(dir, 'certs'), { recursive: true });
    for (const f of ['cera.key', 'cera.crt']) writeFileSync(join(dir, 'certs', f), 'old', { mode: 0o644 });
    const made = await cli(env, ['create', 'user', 'cera', '--group', 'ops', '--client-certificate', '--set-context', '--cert-dir', join(dir, 'certs')]);
    assert.equal(made.exitCode, 0, made.stderr);
    assert.equal(statSync(join(dir, 'certs', 'cera.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'certs', 'cera.crt')).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(config, 'utf8'));
    assert.deepEqual(file.users.find((u: any) => u.name === 'cera'), { name: 'cera', clientCertificate: join(dir, 'certs', 'cera.crt'), clientKey: join(dir, 'certs', 'cera.key') });
    const review = await cli(env, ['auth', 'can-i', 'list', 'pods', '--context', 'cera@corelet']);
    assert.deepEqual([review.stdout.trim(), review.exitCode], ['no', 1], review.stderr);
    assert.equal((await cli(env, ['create', 'clusterrolebinding', 'ops-view', '--clusterrole', 'view', '--group', 'ops'])).exitCode, 0);
    const again = await cli(env, ['auth', 'can-i', 'list', 'pods', '--context', 'cera@corelet']);
    assert.deepEqual([again.stdout.trim(), again.exitCode], ['yes', 0], again.stderr);
  });
});
