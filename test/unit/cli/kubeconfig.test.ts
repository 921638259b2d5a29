/** `corelet config kubeconfig`: a kubeconfig for kubectl from the CLI config's contexts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli } from './run-cli.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('prints a kubeconfig of the current context, or of --context, with the credentials embedded', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'corelet-kubeconfig-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  await mkdir(join(home, '.corelet'));
  await writeFile(join(home, 'c.crt'), 'CERT');
  await writeFile(join(home, 'c.key'), 'KEY');
  const config = {
    currentContext: 'admin@corelet',
    clusters: [{ name: 'corelet', server: 'https://10.0.0.1:6443', caCert: 'CA PEM' }],
    users: [
      { name: 'admin', token: 'aaaaaa.0123456789abcdef' },
      { name: 'cera', clientCertificate: join(home, 'c.crt'), clientKey: join(home, 'c.key') },
    ],
    contexts: [
      { name: 'admin@corelet', cluster: 'corelet', user: 'admin' },
      { name: 'cera@corelet', cluster: 'corelet', user: 'cera', namespace: 'team' },
    ],
  };
  await writeFile(join(home, '.corelet', 'config'), JSON.stringify(config));

  const admin = await cli({ HOME: home }, ['config', 'kubeconfig']);
  assert.equal(admin.exitCode, 0, admin.stderr);
  assert.deepEqual(parse(admin.stdout), {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'corelet', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64('CA PEM') } }],
    users: [{ name: 'admin', user: { token: 'aaaaaa.0123456789abcdef' } }],
    contexts: [{ name: 'admin@corelet', context: { cluster: 'corelet', user: 'admin' } }],
    'current-context': 'admin@corelet',
    preferences: {},
  });

  const cera = parse((await cli({ HOME: home }, ['config', 'kubeconfig', '--context', 'cera@corelet'])).stdout);
  assert.deepEqual(cera.users, [{ name: 'cera', user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') } }]);
  assert.deepEqual(cera.contexts, [{ name: 'cera@corelet', context: { cluster: 'corelet', user: 'cera', namespace: 'team' } }]);
  assert.equal(cera['current-context'], 'cera@corelet');

  const missing = await cli({ HOME: home }, ['config', 'kubeconfig', '--context', 'nope']);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /no context named "nope"/);
});
