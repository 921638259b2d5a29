/**
 * The registry client over real HTTP(S) on 127.0.0.1: the bearer-token flow, basic auth,
 * per-pull CRI credentials, redirects, and TLS options (custom CA, client certificates,
 * insecure_skip_verify), against the fake registry behind node:http / node:https servers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ImageStore, loadRegistriesConfig, parseRegistriesConfig, type RegistriesConfig } from '../../../src/runtime/image/index.js';
import { isKind, type ErrorKind } from '../../../src/lib/index.js';
import { buildImage, FakeRegistry, makeTar } from './fixtures.js';

type Cleanup = { after: (fn: () => Promise<void> | void) => void };

interface Served {
  host: string;
  port: number;
}

function handler(reg: FakeRegistry): http.RequestListener {
  return (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = String(v);
      const r = reg.handle(req.method ?? 'GET', req.url ?? '/', headers, body || undefined);
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
  };
}

async function listen(t: Cleanup, server: http.Server | https.Server): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { host: `127.0.0.1:${port}`, port };
}

async function tempDir(t: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function store(t: Cleanup, registries?: RegistriesConfig): Promise<ImageStore> {
  const s = new ImageStore({ root: await tempDir(t, 'corelet-images-'), registries, preserveOwner: false, platform: { os: 'linux', architecture: 'amd64' } });
  await s.init();
  return s;
}

const kind = (k: ErrorKind, re?: RegExp) => (err: unknown) => isKind(err, k) && (re === undefined || re.test((err as Error).message));

const image = buildImage([makeTar([{ path: 'hello', data: 'world' }])], { Cmd: ['/hello'] });

function registryWithImage(): FakeRegistry {
  const reg = new FakeRegistry();
  reg.addImage('team/app', 'v1', image);
  reg.addImage('team/app', 'v2', image);
  return reg;
}

test('bearer flow: token realm with basic credentials, token cached, per-pull CRI credentials', async (t) => {
  const reg = registryWithImage();
  const { host } = await listen(t, http.createServer(handler(reg)));
  reg.auth = { kind: 'bearer', realm: `http://${host}/token`, service: 'fake-registry', username: 'alice', password: 's3cret', token: 'TOKEN-1' };

  const anon = await store(t);
  await assert.rejects(anon.pull(`${host}/team/app:v1`), kind('FailedPrecondition', /authentication failed \(HTTP 401\); no credentials were given/));
  await assert.rejects(anon.pull(`${host}/team/app:v1`, { username: 'alice', password: 'wrong' }), kind('FailedPrecondition', /authentication failed/));

  const s = await store(t);
  reg.requests.length = 0;
  const rec = await s.pull(`${host}/team/app:v1`, { username: 'alice', password: 's3cret' });
  assert.equal(await readFile(join(rec.rootfs, 'hello'), 'utf8'), 'world');
  const tokenReqs = reg.requests.filter((r) => r.path.startsWith('/token'));
  assert.equal(tokenReqs.length, 1);
  const q = new URL(tokenReqs[0]!.path, 'http://x').searchParams;
  assert.equal(q.get('service'), 'fake-registry');
  assert.equal(q.get('scope'), 'repository:team/app:pull');
  assert.equal(tokenReqs[0]!.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  const authorized = reg.requests.filter((r) => r.path.startsWith('/v2/') && r.authorization === 'Bearer TOKEN-1');
  assert.ok(authorized.some((r) => r.path.includes('/manifests/v1')));
  assert.ok(authorized.some((r) => r.path.includes('/blobs/')));

  await s.pull(`${host}/team/app:v2`, { username: 'alice', password: 's3cret' });
  assert.equal(reg.requests.filter((r) => r.path.startsWith('/token')).length, 1, 'token reused');

  // The CRI `auth` field (base64 user:pass) works the same.
  const viaAuth = await store(t);
  await viaAuth.pull(`${host}/team/app:v1`, { auth: Buffer.from('alice:s3cret').toString('base64') });
});

test('registry_token is sent as is; identity_token is exchanged with a POST to the realm', async (t) => {
  const reg = registryWithImage();
  const { host } = await listen(t, http.createServer(handler(reg)));
  reg.auth = { kind: 'bearer', realm: `http://${host}/token`, service: 'svc', refreshToken: 'REFRESH', token: 'TOKEN-2' };

  await (await store(t)).pull(`${host}/team/app:v1`, { registryToken: 'TOKEN-2' });
  assert.equal(reg.requests.filter((r) => r.path.startsWith('/token')).length, 0);

  await (await store(t)).pull(`${host}/team/app:v1`, { identityToken: 'REFRESH' });
  const post = reg.requests.find((r) => r.path.startsWith('/token') && r.method === 'POST');
  assert.ok(post, 'a POST to the token endpoint');
  const form = new URLSearchParams(post.body);
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('refresh_token'), 'REFRESH');
  assert.equal(form.get('service'), 'svc');
  assert.equal(form.get('scope'), 'repository:team/app:pull');
  await assert.rejects((await store(t)).pull(`${host}/team/app:v1`, { identityToken: 'WRONG' }), kind('FailedPrecondition'));
});

test('basic auth from registries.yaml; per-pull credentials for another server_address are not used', async (t) => {
  const reg = registryWithImage();
  const { host } = await listen(t, http.createServer(handler(reg)));
  reg.auth = { kind: 'basic', username: 'bob', password: 'pw' };

  await assert.rejects((await store(t)).pull(`${host}/team/app:v1`), kind('FailedPrecondition', /pull access denied/));
  const configured = parseRegistriesConfig(`configs:\n  "${host}":\n    auth:\n      username: bob\n      password: pw\n`);
  const s = await store(t, configured);
  await s.pull(`${host}/team/app:v1`, { username: 'eve', password: 'nope', serverAddress: 'https://other.example' });
  assert.ok(reg.requests.every((r) => r.authorization !== `Basic ${Buffer.from('eve:nope').toString('base64')}`));
  // Per-pull credentials for this host take precedence over the configured ones.
  await assert.rejects(
    (await store(t, configured)).pull(`${host}/team/app:v1`, { username: 'eve', password: 'nope', serverAddress: host }),
    kind('FailedPrecondition'),
  );
});

test('blob redirects to another host do not carry the registry credentials', async (t) => {
  const reg = registryWithImage();
  const storage = registryWithImage();
  const { host } = await listen(t, http.createServer(handler(reg)));
  const { host: storageHost } = await listen(t, http.createServer(handler(storage)));
  reg.auth = { kind: 'bearer', realm: `http://${host}/token`, service: 's', username: 'a', password: 'b', token: 'SECRET' };
  reg.redirectBlobsTo = `http://${storageHost}`;
  const rec = await (await store(t)).pull(`${host}/team/app:v1`, { username: 'a', password: 'b' });
  assert.equal(await readFile(join(rec.rootfs, 'hello'), 'utf8'), 'world');
  assert.ok(storage.requests.length >= 2, 'blobs came from the storage host');
  assert.ok(storage.requests.every((r) => r.authorization === undefined));
});

test('network failures are Unavailable', async (t) => {
  const server = http.createServer();
  const { host } = await listen(t, server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assert.rejects((await store(t)).pull(`${host}/team/app:v1`), kind('Unavailable', /ECONNREFUSED/));
});

test('TLS: custom CA and client certificate from registries.yaml, insecure_skip_verify', async (t) => {
  const dir = await tempDir(t, 'corelet-tls-');
  const sh = (cmd: string) => execa('sh', ['-c', cmd], { cwd: dir });
  await writeFile(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  await sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=corelet-test-ca 2>/dev/null');
  for (const name of ['server', 'client']) {
    await sh(`openssl req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj /CN=${name} 2>/dev/null`);
    await sh(`openssl x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${name}.crt -days 2 -extfile ext 2>/dev/null`);
  }
  const reg = registryWithImage();
  const server = https.createServer(
    {
      key: await readFile(join(dir, 'server.key')),
      cert: await readFile(join(dir, 'server.crt')),
      ca: await readFile(join(dir, 'ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    handler(reg),
  );
  const { host } = await listen(t, server);
  const config = async (tls: string) => {
    const path = join(dir, `registries-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, `configs:\n  "${host}":\n    tls:\n${tls}`);
    return loadRegistriesConfig(path);
  };
  const full = `      ca_file: ${dir}/ca.crt\n      cert_file: ${dir}/client.crt\n      key_file: ${dir}/client.key\n`;
  const rec = await (await store(t, await config(full))).pull(`${host}/team/app:v1`);
  assert.equal(await readFile(join(rec.rootfs, 'hello'), 'utf8'), 'world');

  // Without the CA, the server certificate is not trusted...
  const noCa = `      cert_file: ${dir}/client.crt\n      key_file: ${dir}/client.key\n`;
  await assert.rejects((await store(t, await config(noCa))).pull(`${host}/team/app:v1`), kind('Unavailable', /certificate/));
  // ...unless verification is skipped.
  await (await store(t, await config(`${noCa}      insecure_skip_verify: true\n`))).pull(`${host}/team/app:v1`);
  // Without a client certificate the server refuses the connection.
  await assert.rejects((await store(t, await config(`      ca_file: ${dir}/ca.crt\n`))).pull(`${host}/team/app:v1`), kind('Unavailable'));
});
