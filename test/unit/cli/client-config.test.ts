import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configPath, resolveClientConfig, type ConfigSources } from '../../../src/cli/client-config.js';

/** Sources with the given files (path → text) and environment. */
function sources(files: Record<string, string>, env: Record<string, string> = {}): ConfigSources {
  return { env, home: '/home/u', readFile: (p) => files[p] };
}

const FILE = '/home/u/.corelet/config';
const written = JSON.stringify({ server: 'https://10.0.0.1:6443', token: 'abc.def', caCert: 'CA-PEM' });

test('the config file written by scheduler init is used as is', () => {
  assert.equal(configPath({ env: {}, home: '/home/u' }), FILE);
  assert.deepEqual(resolveClientConfig({}, sources({ [FILE]: written })), {
    server: 'https://10.0.0.1:6443',
    token: 'abc.def',
    caCert: 'CA-PEM',
    insecureSkipTlsVerify: false,
  });
});

test('$CORELET_CONFIG names another file', () => {
  const src = sources({ '/etc/other': JSON.stringify({ server: '10.0.0.2:6443', token: 't' }) }, { CORELET_CONFIG: '/etc/other' });
  assert.equal(configPath(src), '/etc/other');
  const c = resolveClientConfig({}, src);
  assert.equal(c.server, 'https://10.0.0.2:6443', 'HOST:PORT becomes an https URL');
  assert.equal(c.caCert, undefined);
});

test('flags override the file field by field; --ca-cert reads a PEM file', () => {
  const c = resolveClientConfig({ token: 'flag-token', caCert: '/tmp/ca.pem' }, sources({ [FILE]: written, '/tmp/ca.pem': 'OTHER-CA' }));
  assert.equal(c.server, 'https://10.0.0.1:6443');
  assert.equal(c.token, 'flag-token');
  assert.equal(c.caCert, 'OTHER-CA');
  const insecure = resolveClientConfig({ server: 'https://127.0.0.1:7000/', insecureSkipTlsVerify: true }, sources({ [FILE]: written }));
  assert.equal(insecure.server, 'https://127.0.0.1:7000');
  assert.equal(insecure.insecureSkipTlsVerify, true);
  assert.throws(() => resolveClientConfig({ caCert: '/nope.pem' }, sources({ [FILE]: written })), /--ca-cert \/nope\.pem: no such file/);
});

test('without a file, --server and --token are enough', () => {
  const c = resolveClientConfig({ server: 'https://h:1', token: 't' }, sources({}));
  assert.deepEqual(c, { server: 'https://h:1', token: 't', caCert: undefined, insecureSkipTlsVerify: false });
});

test('a missing or broken config says what to do', () => {
  assert.throws(() => resolveClientConfig({}, sources({})), /no cluster configured \(\/home\/u\/\.corelet\/config does not exist\): run `corelet scheduler init` or pass --server and --token/);
  assert.throws(() => resolveClientConfig({ server: 'https://h:1' }, sources({})), /pass --server and --token/);
  assert.throws(() => resolveClientConfig({}, sources({}, { CORELET_CONFIG: '/x' })), /\$CORELET_CONFIG names \/x, which does not exist/);
  assert.throws(() => resolveClientConfig({}, sources({ [FILE]: '{oops' })), /is not valid JSON/);
  assert.throws(() => resolveClientConfig({}, sources({ [FILE]: '[]' })), /should hold a JSON object/);
  assert.throws(() => resolveClientConfig({}, sources({ [FILE]: '{"server": 1}' })), /"server" must be a string/);
  assert.throws(() => resolveClientConfig({}, sources({ [FILE]: '{"server": "https://h:1"}' })), /no API token: pass --token/);
  assert.throws(() => resolveClientConfig({ server: 'http://h:1', token: 't' }, sources({})), /not an https:\/\/ address/);
});
