import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalizeReference,
  parseAuthChallenges,
  parseRegistriesConfig,
  registryAuthFromCri,
  resolveEndpoints,
  selectCredentials,
  emptyRegistriesConfig,
  isLoopbackHost,
} from '../../../src/runtime/image/index.js';
import { isKind } from '../../../src/lib/index.js';

const summary = (eps: ReturnType<typeof resolveEndpoints>) => eps.map((e) => `${e.apiRoot} ${e.repository}${e.mirror ? ' (mirror)' : ''}`);

test('default endpoints: Docker Hub API host, HTTPS, plain HTTP for loopback registries', () => {
  const none = emptyRegistriesConfig();
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('busybox'))), ['https://registry-1.docker.io/v2 library/busybox']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('quay.io/a/b'))), ['https://quay.io/v2 a/b']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('127.0.0.1:5000/x/y'))), ['http://127.0.0.1:5000/v2 x/y']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('127.9.8.7:5000/x'))), ['http://127.9.8.7:5000/v2 x']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('localhost:5000/x'))), ['http://localhost:5000/v2 x']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('[::1]:5000/x'))), ['http://[::1]:5000/v2 x']);
  assert.deepEqual(summary(resolveEndpoints(none, normalizeReference('128.0.0.1:5000/x'))), ['https://128.0.0.1:5000/v2 x']);
  for (const h of ['localhost', '127.0.0.1', '127.255.0.1:80', '[::1]:5000', '::1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', '127.0.0.256', 'localhost.example.com', '1.127.0.0.1']) assert.ok(!isLoopbackHost(h), h);
});

test('loopback registries with TLS configured use HTTPS', () => {
  const c = parseRegistriesConfig('configs:\n  "127.0.0.1:5443":\n    tls:\n      insecure_skip_verify: true\n');
  const [ep] = resolveEndpoints(c, normalizeReference('127.0.0.1:5443/x'));
  assert.equal(ep!.apiRoot, 'https://127.0.0.1:5443/v2');
  assert.equal(ep!.tls?.insecureSkipVerify, true);
});

test('mirrors are tried in order, rewrites apply to mirrors only, then the registry itself', () => {
  const c = parseRegistriesConfig(`
mirrors:
  registry.k8s.io:
    endpoint: ["http://127.0.0.1:5000", "https://m2.example/prefix"]
  docker.io:
    endpoint: ["https://mirror.example"]
    rewrite:
      "^library/(.*)": "hub/$1"
  "*":
    endpoint: ["https://catchall.example"]
configs:
  "mirror.example":
    auth: {username: mu, password: mp}
  docker.io:
    auth: {username: du, password: dp}
`);
  assert.deepEqual(summary(resolveEndpoints(c, normalizeReference('registry.k8s.io/pause:3.9'))), [
    'http://127.0.0.1:5000/v2 pause (mirror)',
    'https://m2.example/prefix pause (mirror)',
    'https://registry.k8s.io/v2 pause',
  ]);
  const hub = resolveEndpoints(c, normalizeReference('busybox'));
  assert.deepEqual(summary(hub), ['https://mirror.example/v2 hub/busybox (mirror)', 'https://registry-1.docker.io/v2 library/busybox']);
  assert.equal(hub[0]!.configAuth?.username, 'mu');
  assert.equal(hub[1]!.configAuth?.username, 'du', 'configs keyed by docker.io apply to its API host');
  // "*" applies to registries without their own entry.
  assert.deepEqual(summary(resolveEndpoints(c, normalizeReference('quay.io/a/b'))), ['https://catchall.example/v2 a/b (mirror)', 'https://quay.io/v2 a/b']);
});

test('a mirror list naming the registry itself keeps its place', () => {
  const c = parseRegistriesConfig('mirrors:\n  reg.example:\n    endpoint: ["https://reg.example", "https://m.example"]\n');
  assert.deepEqual(summary(resolveEndpoints(c, normalizeReference('reg.example/a'))), ['https://reg.example/v2 a', 'https://m.example/v2 a (mirror)']);
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseAuthChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseAuthChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseAuthChallenges('Basic realm="a, b", Bearer realm="https://x/t", error=invalid_token'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'https://x/t', error: 'invalid_token' } },
  ]);
  assert.deepEqual(parseAuthChallenges('Bearer realm="q\\"uote"'), [{ scheme: 'bearer', params: { realm: 'q"uote' } }]);
  assert.deepEqual(parseAuthChallenges(''), []);
  assert.deepEqual(parseAuthChallenges('=,,"'), []);
});

test('CRI AuthConfig translation', () => {
  assert.equal(registryAuthFromCri(undefined), undefined);
  assert.equal(registryAuthFromCri({ username: '', password: '' }), undefined);
  assert.deepEqual(registryAuthFromCri({ username: 'u', password: 'p', server_address: 'r.example', auth: '', identity_token: '', registry_token: '' }), {
    username: 'u', password: 'p', auth: undefined, serverAddress: 'r.example', identityToken: undefined, registryToken: undefined,
  });
});

test('credential selection: per-pull credentials scoped by server_address, else registries.yaml', () => {
  const c = parseRegistriesConfig('mirrors:\n  docker.io:\n    endpoint: ["https://mirror.example"]\nconfigs:\n  mirror.example:\n    auth: {username: mu, password: mp}\n');
  const [mirror, hub] = resolveEndpoints(c, normalizeReference('busybox'));
  const b64 = Buffer.from('bob:s3:cret').toString('base64');
  // No server address: the pull's credentials go everywhere (containerd does the same).
  assert.deepEqual(selectCredentials(hub!, 'docker.io', { username: 'a', password: 'b' }), { identityToken: undefined, username: 'a', password: 'b' });
  assert.deepEqual(selectCredentials(mirror!, 'docker.io', { auth: b64 }), { identityToken: undefined, username: 'bob', password: 's3:cret' });
  // Server address naming Docker Hub (any alias) applies to its own endpoint, not to the mirror.
  const hubOnly = { username: 'a', password: 'b', serverAddress: 'https://index.docker.io/v1/' };
  assert.equal(selectCredentials(hub!, 'docker.io', hubOnly)?.username, 'a');
  assert.equal(selectCredentials(mirror!, 'docker.io', hubOnly)?.username, 'mu', 'the mirror falls back to its configured auth');
  assert.equal(selectCredentials(hub!, 'docker.io', undefined), undefined);
  assert.deepEqual(selectCredentials(hub!, 'docker.io', { registryToken: 'rt' }), { identityToken: undefined, registryToken: 'rt' });
  assert.deepEqual(selectCredentials(hub!, 'docker.io', { identityToken: 'it' }), { identityToken: 'it' });
  assert.throws(() => selectCredentials(hub!, 'docker.io', { auth: 'bm9jb2xvbg==' }), (e: unknown) => isKind(e, 'InvalidArgument'));
});
