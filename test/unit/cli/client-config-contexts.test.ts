/** The CLI config's contexts: the shape `scheduler init` writes, --context, certificate users, --as. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveClientConfig, type ConfigSources } from '../../../src/cli/client-config.js';
import { toContextShape, withUserContext } from '../../../src/cli/contexts.js';
import { withInitContext } from '../../../src/scheduler/init-config.js';
import { canIAttributes, parseResource, roleRules, bindingSubjects } from '../../../src/cli/rbac-objects.js';

const FILE = '/home/u/.corelet/config';
const sources = (files: Record<string, string>): ConfigSources => ({ env: {}, home: '/home/u', readFile: (p) => files[p] });

test('init writes contexts; the current one is used; --context picks another; certificate users send no token', () => {
  const init = withInitContext(undefined, { server: 'https://10.0.0.1:6443', token: 'aaaaaa.0123456789abcdef', caCert: 'CA' });
  assert.deepEqual(init, {
    currentContext: 'admin@corelet',
    clusters: [{ name: 'corelet', server: 'https://10.0.0.1:6443', caCert: 'CA' }],
    users: [{ name: 'admin', token: 'aaaaaa.0123456789abcdef' }],
    contexts: [{ name: 'admin@corelet', cluster: 'corelet', user: 'admin' }],
  });
  const { config } = withUserContext(init as never, { name: 'cera', clientCertificate: '/c.crt', clientKey: '/c.key' });
  const files = { [FILE]: JSON.stringify(config), '/c.crt': 'CERT', '/c.key': 'KEY' };
  assert.deepEqual(resolveClientConfig({}, sources(files)), { server: 'https://10.0.0.1:6443', token: 'aaaaaa.0123456789abcdef', caCert: 'CA', insecureSkipTlsVerify: false });
  assert.deepEqual(resolveClientConfig({ context: 'cera@corelet' }, sources(files)), { server: 'https://10.0.0.1:6443', caCert: 'CA', insecureSkipTlsVerify: false, clientCert: 'CERT', clientKey: 'KEY' });
  assert.throws(() => resolveClientConfig({ context: 'nope' }, sources(files)), /no context named "nope"/);
  assert.throws(() => resolveClientConfig({ context: 'cera@corelet' }, sources({ [FILE]: JSON.stringify(config) })), /clientCertificate \/c\.crt: no such file/);
  assert.deepEqual(resolveClientConfig({ as: 'bob', asGroup: ['devs'] }, sources(files)).impersonateGroups, ['devs']);
  assert.throws(() => resolveClientConfig({ asGroup: ['devs'] }, sources(files)), /--as-group needs --as/);
  // Re-running init keeps the other entries.
  const again = withInitContext(JSON.stringify(config), { server: 'https://10.0.0.1:6443', token: 'bbbbbb.0123456789abcdef', caCert: 'CA' }) as any;
  assert.deepEqual(again.users.map((u: any) => u.name), ['cera', 'admin']);
  assert.equal(again.users[1].token, 'bbbbbb.0123456789abcdef');
});

test('the old flat file converts to one context', () => {
  assert.deepEqual(toContextShape({ server: 'https://h:1', token: 't', caCert: 'CA' }), {
    currentContext: 'admin@corelet',
    clusters: [{ name: 'corelet', server: 'https://h:1', caCert: 'CA' }],
    users: [{ name: 'admin', token: 't' }],
    contexts: [{ name: 'admin@corelet', cluster: 'corelet', user: 'admin' }],
  });
});

test('kubectl-style flags become rules, subjects and access-review attributes', () => {
  assert.deepEqual(parseResource('deploy/scale'), { resource: 'deployments', subresource: 'scale', group: 'apps' });
  assert.deepEqual(parseResource('deployments.apps'), { resource: 'deployments', group: 'apps' });
  assert.deepEqual(parseResource('pod'), { resource: 'pods', group: '' });
  assert.deepEqual(roleRules({ verbs: ['get', 'list'], resources: ['pods', 'pods/log', 'deployments.apps'], resourceNames: [] }), [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] },
    { verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'] },
  ]);
  assert.throws(() => roleRules({ verbs: ['read'], resources: ['pods'], resourceNames: [] }), /--verb: unknown verb "read"/);
  assert.throws(() => bindingSubjects({ users: [], groups: [], serviceAccounts: ['ci'] }), /--serviceaccount "ci": expected NAMESPACE:NAME/);
  assert.deepEqual(canIAttributes('get', 'nodes', 'n1', 'team'), { verb: 'get', resource: 'nodes', group: '', name: 'n1' });
  assert.deepEqual(canIAttributes('get', 'namespaces', 'team', 'default'), { verb: 'get', resource: 'namespaces', group: '', name: 'team', namespace: 'team' });
  assert.deepEqual(canIAttributes('create', 'pods/exec', 'web', 'team'), { verb: 'create', resource: 'pods', group: '', subresource: 'exec', name: 'web', namespace: 'team' });
});
