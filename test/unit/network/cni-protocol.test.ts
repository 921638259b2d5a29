import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCniArgs,
  cniEnv,
  CniPluginError,
  ipMasqChainName,
  ipMasqComment,
  parseCniResult,
  parseNetworkConfig,
  pluginFailure,
  pluginStdin,
  podIps,
  portMappingsCapability,
  runtimeConfigFor,
} from '../../../src/runtime/network/index.js';
import { isKind } from '../../../src/lib/index.js';

const pod = { podNamespace: 'default', podName: 'web-1', sandboxId: 'abc123', podUid: '6f1c-11' };

test('CNI_ARGS carries the pod namespace, name, infra container id and UID, then IgnoreUnknown', () => {
  assert.equal(
    buildCniArgs(pod),
    'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=6f1c-11;IgnoreUnknown=1',
  );
  assert.throws(() => buildCniArgs({ ...pod, podName: 'a;b' }), (e: unknown) => isKind(e, 'InvalidArgument'));
  assert.throws(() => buildCniArgs({ ...pod, podNamespace: 'x=y' }), /must not contain/);
});

test('the plugin environment has every CNI variable, CNI_PATH joining the bin dirs', () => {
  const env = cniEnv('DEL', { containerId: 'c1', netns: '', ifName: 'eth0', args: 'A=1', runtimeConfig: {} }, ['/opt/cni/bin', '/usr/lib/cni']);
  assert.deepEqual(env, {
    CNI_COMMAND: 'DEL',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'A=1',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  });
});

test('port mappings become the portMappings capability: host-published only, lower-case protocol', () => {
  assert.deepEqual(
    portMappingsCapability([
      { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '' },
      { protocol: 'UDP', containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' },
      { protocol: 'SCTP', containerPort: 9, hostPort: 0, hostIp: '' },
    ]),
    [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ],
  );
  assert.deepEqual(runtimeConfigFor([]), {});
  assert.deepEqual(runtimeConfigFor([{ protocol: 'TCP', containerPort: 1, hostPort: 0, hostIp: '' }]), {});
  assert.throws(() => portMappingsCapability([{ protocol: 'ICMP' as 'TCP', containerPort: 1, hostPort: 1, hostIp: '' }]), /TCP, UDP or SCTP/);
  assert.throws(() => portMappingsCapability([{ protocol: 'TCP', containerPort: 0, hostPort: 1, hostIp: '' }]), /container port 0/);
  assert.throws(() => portMappingsCapability([{ protocol: 'TCP', containerPort: 1, hostPort: 70000, hostIp: '' }]), /host port 70000/);
  assert.throws(() => portMappingsCapability([{ protocol: 'TCP', containerPort: 1, hostPort: 1, hostIp: 'localhost' }]), /not an IP/);
});

test('a chained plugin gets the list name and version, prevResult, and only the capabilities it declares', () => {
  const list = parseNetworkConfig(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'net1',
      plugins: [{ type: 'bridge', bridge: 'br0' }, { type: 'portmap', capabilities: { portMappings: true, bandwidth: false } }],
    }),
    'x',
  );
  const rc = { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } };
  assert.deepEqual(pluginStdin(list, list.plugins[0]!, undefined, rc), { type: 'bridge', bridge: 'br0', name: 'net1', cniVersion: '1.0.0' });
  const prev = { cniVersion: '1.0.0', ips: [] };
  assert.deepEqual(pluginStdin(list, list.plugins[1]!, prev, rc), {
    type: 'portmap',
    capabilities: { portMappings: true, bandwidth: false },
    name: 'net1',
    cniVersion: '1.0.0',
    prevResult: prev,
    runtimeConfig: { portMappings: rc.portMappings },
  });
  // No values for its capability: no runtimeConfig at all.
  assert.equal(pluginStdin(list, list.plugins[1]!, prev, {}).runtimeConfig, undefined);
});

test('results of 0.3.1/0.4.0/1.0.0 parse; the pod IPs are those on eth0 in the sandbox, IPv4 first', () => {
  const r = parseCniResult(
    {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'cni0', mac: 'aa' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { version: '6', interface: 1, address: 'fd00::5/64' },
        { version: '4', interface: 0, address: '10.0.0.1/24' },
        { version: '4', interface: 1, address: '10.0.0.5/24', gateway: '10.0.0.1' },
        { address: '10.0.1.9/24' },
      ],
    },
    'test',
  );
  assert.equal(r.cniVersion, '0.4.0');
  assert.deepEqual(podIps(r, 'eth0'), ['10.0.0.5', '10.0.1.9', 'fd00::5']);
  assert.deepEqual(podIps(parseCniResult({ cniVersion: '1.0.0' }, 't'), 'eth0'), []);
  for (const bad of [null, [], { ips: [] }, { cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, { cniVersion: '1.0.0', interfaces: [{}] }]) {
    assert.throws(() => parseCniResult(bad, 'plugin x'), /plugin x: invalid CNI result/);
  }
});

test('a plugin error JSON becomes a clear error carrying code, msg and details', () => {
  const err = pluginFailure('bridge', 'ADD', {
    exitCode: 1,
    stdout: JSON.stringify({ cniVersion: '1.0.0', code: 7, msg: 'bad bridge', details: 'name too long' }),
    stderr: '',
    timedOut: false,
  });
  assert.ok(err instanceof CniPluginError);
  assert.equal(err.message, 'CNI plugin bridge ADD failed: bad bridge (name too long) [CNI error 7: invalid network config]');
  assert.equal(err.code, 7);
  assert.equal(err.details, 'name too long');
  assert.equal(err.kind, 'Internal');
  assert.equal(pluginFailure('x', 'DEL', { exitCode: 1, stdout: '{"code":11,"msg":"busy"}', stderr: '', timedOut: false }).kind, 'Unavailable');
  const crash = pluginFailure('portmap', 'DEL', { exitCode: 2, stdout: '', stderr: 'panic: oops\n', timedOut: false });
  assert.equal(crash.message, 'CNI plugin portmap DEL failed with exit status 2: panic: oops');
  assert.equal(pluginFailure('x', 'ADD', { exitCode: undefined, stdout: '', stderr: '', timedOut: true }).kind, 'DeadlineExceeded');
});

test('the ipMasq chain name and comment match what the bridge plugin creates', () => {
  // Observed on this host: bridge ADD for network "cbtest", container "cb1abc".
  assert.equal(ipMasqChainName('cbtest', 'cb1abc'), 'CNI-8a585efe3ecc0d14bf211bac');
  assert.equal(ipMasqComment('cbtest', 'cb1abc'), 'name: "cbtest" id: "cb1abc"');
});
