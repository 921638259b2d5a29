import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podHostsFile, resolvConf } from '../../../src/runtime/sandbox/sandbox-files.js';

test('resolv.conf follows DNSConfig, else the host file', () => {
  assert.equal(
    resolvConf({ servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] }, 'nameserver 1.1.1.1\n'),
    'search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
  assert.equal(resolvConf(null, 'nameserver 1.1.1.1\n'), 'nameserver 1.1.1.1\n');
  assert.equal(resolvConf({ servers: [], searches: [], options: [] }, 'host\n'), 'host\n');
});

test('/etc/hosts names the pod on its IP', () => {
  const hosts = podHostsFile('web-0', '10.89.0.7');
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(hosts, /^10\.89\.0\.7\tweb-0$/m);
  assert.doesNotMatch(podHostsFile('web-0', ''), /web-0/);
});
