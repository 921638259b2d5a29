import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistriesConfig, parseRegistriesConfig } from '../../../src/runtime/image/index.js';
import { isKind } from '../../../src/lib/index.js';

test('parses k3s registries.yaml: mirrors with endpoints and rewrites, configs with auth and tls', () => {
  const c = parseRegistriesConfig(`
mirrors:
  registry.k8s.io:
    endpoint: ["http://127.0.0.1:5000"]
  docker.io:
    endpoint:
      - "https://mirror.example.com:5000/"
      - "mirror2.example.com"
      - "127.0.0.2:5001"
    rewrite:
      "^rancher/(.*)": "mirrorproject/rancher-images/\${1}"
  "*":
    endpoint: ["https://any.example.com/custom/v2"]
configs:
  "mirror.example.com:5000":
    auth:
      username: u
      password: p
    tls:
      insecure_skip_verify: true
  "other.example.com":
    auth:
      auth: ${Buffer.from('a:b:c').toString('base64')}
      identity_token: tok
`);
  assert.deepEqual(c.mirrors.get('registry.k8s.io')?.endpoints, ['http://127.0.0.1:5000']);
  assert.deepEqual(c.mirrors.get('docker.io')?.endpoints, [
    'https://mirror.example.com:5000',
    'https://mirror2.example.com',
    'http://127.0.0.2:5001',
  ]);
  const rw = c.mirrors.get('docker.io')!.rewrites[0]!;
  assert.equal('rancher/coredns'.replace(rw.pattern, rw.replacement), 'mirrorproject/rancher-images/coredns');
  assert.deepEqual(c.mirrors.get('*')?.endpoints, ['https://any.example.com/custom/v2']);
  assert.deepEqual(c.configs.get('mirror.example.com:5000'), {
    auth: { username: 'u', password: 'p', auth: undefined, identityToken: undefined },
    tls: { caFile: undefined, certFile: undefined, keyFile: undefined, insecureSkipVerify: true },
  });
  assert.equal(c.configs.get('other.example.com')?.auth?.identityToken, 'tok');
});

test('empty documents are an empty configuration', () => {
  for (const text of ['', '# nothing\n', 'mirrors:\nconfigs:\n']) {
    const c = parseRegistriesConfig(text);
    assert.equal(c.mirrors.size, 0);
    assert.equal(c.configs.size, 0);
  }
});

test('validation errors name the field', () => {
  const cases: [string, RegExp][] = [
    ['- a\n- b\n', /\(top level\): must be a mapping/],
    ['mirror: {}\n', /\(top level\)\.mirror: unknown field/],
    ['mirrors: []\n', /mirrors: must be a mapping/],
    ['mirrors:\n  docker.io:\n    endpoints: ["https://x"]\n', /mirrors\["docker.io"\]\.endpoints: unknown field/],
    ['mirrors:\n  docker.io:\n    endpoint: "https://x"\n', /mirrors\["docker.io"\]\.endpoint: must be a list/],
    ['mirrors:\n  docker.io:\n    endpoint: ["ftp://x"]\n', /mirrors\["docker.io"\]\.endpoint\[0\]: URL scheme must be http or https/],
    ['mirrors:\n  docker.io:\n    endpoint: ["https://u:p@x"]\n', /endpoint\[0\]: URL must not carry credentials/],
    ['mirrors:\n  docker.io:\n    endpoint: [3]\n', /endpoint\[0\]: must be a non-empty URL string/],
    ['mirrors:\n  docker.io:\n    rewrite: {"(": "x"}\n', /rewrite\["\("\]: invalid regular expression/],
    ['mirrors:\n  "bad host!":\n    endpoint: []\n', /mirrors\["bad host!"\]: key must be a registry host/],
    ['configs:\n  x.io:\n    auth:\n      user: a\n', /configs\["x.io"\]\.auth\.user: unknown field/],
    ['configs:\n  x.io:\n    auth:\n      username: 3\n', /configs\["x.io"\]\.auth\.username: must be a string/],
    ['configs:\n  x.io:\n    auth:\n      auth: "!!notbase64"\n', /configs\["x.io"\]\.auth\.auth: must be base64/],
    ['configs:\n  x.io:\n    tls:\n      insecure_skip_verify: "yes"\n', /configs\["x.io"\]\.tls\.insecure_skip_verify: must be true or false/],
    ['configs:\n  x.io:\n    tls:\n      cert_file: /c\n', /configs\["x.io"\]\.tls: cert_file and key_file must be given together/],
    ['mirrors: [unclosed\n', /not valid YAML/],
  ];
  for (const [text, why] of cases) {
    assert.throws(
      () => parseRegistriesConfig(text, '/etc/corelet/registries.yaml'),
      (err: unknown) => isKind(err, 'InvalidArgument') && why.test((err as Error).message) && (err as Error).message.startsWith('/etc/corelet/registries.yaml: '),
      text,
    );
  }
});

test('loadRegistriesConfig: missing file is empty; TLS files are read; unreadable ones are named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-regcfg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const missing = await loadRegistriesConfig(join(dir, 'nope.yaml'));
  assert.equal(missing.mirrors.size, 0);

  await writeFile(join(dir, 'ca.pem'), 'CA-BYTES');
  await writeFile(join(dir, 'c.pem'), 'CERT');
  await writeFile(join(dir, 'k.pem'), 'KEY');
  const path = join(dir, 'registries.yaml');
  await writeFile(path, `configs:\n  "reg.example:443":\n    tls:\n      ca_file: ${dir}/ca.pem\n      cert_file: ${dir}/c.pem\n      key_file: ${dir}/k.pem\n`);
  const c = await loadRegistriesConfig(path);
  const tls = c.configs.get('reg.example:443')!.tls!;
  assert.equal(tls.ca?.toString(), 'CA-BYTES');
  assert.equal(tls.cert?.toString(), 'CERT');
  assert.equal(tls.key?.toString(), 'KEY');
  assert.equal(tls.insecureSkipVerify, false);

  await writeFile(path, `configs:\n  "reg.example":\n    tls:\n      ca_file: ${dir}/missing.pem\n`);
  await assert.rejects(loadRegistriesConfig(path), (err: unknown) =>
    isKind(err, 'InvalidArgument') && /configs\["reg.example"\]\.tls\.ca_file: cannot read .*missing\.pem/.test((err as Error).message),
  );
});
