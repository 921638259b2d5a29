import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetworkManager, type PodNetworkArgs } from '../../../src/runtime/network/index.js';
import type { NetworkPort } from '../../../src/runtime/ports.js';
import { isKind } from '../../../src/lib/index.js';
import { bridgeLikeResult, FakePlugins } from './fake-plugins.js';

// Compile-time check: the manager is what the sandbox lifecycle expects of its network port.
const fitsPort = (m: NetworkManager): NetworkPort => m;
void fitsPort;

const NETNS = '/proc/self/ns/net';
const pod: PodNetworkArgs = {
  sandboxId: 'sb1',
  netnsPath: NETNS,
  podName: 'web',
  podNamespace: 'default',
  podUid: 'uid-1',
  portMappings: [
    { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '' },
    { protocol: 'UDP', containerPort: 53, hostPort: 0, hostIp: '' },
  ],
};
const CNI_ARGS = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-1;IgnoreUnknown=1';
const bridgeOut = bridgeLikeResult(NETNS, ['fd00::7/64', '10.1.0.7/24']);
// portmap passes its prevResult through; a marker tells the final result apart from the bridge's.
const finalOut = { ...bridgeOut, dns: { nameservers: ['10.1.0.1'] } };

function list(cniVersion = '1.0.0', name = 'unitnet', prefix = 'fake') {
  return {
    cniVersion,
    name,
    plugins: [
      { type: `${prefix}-bridge`, bridge: 'br0', ipam: { type: `${prefix}-ipam` } },
      { type: `${prefix}-portmap`, capabilities: { portMappings: true } },
    ],
  };
}

interface Env {
  fakes: FakePlugins;
  confDir: string;
  cacheDir: string;
  manager(): NetworkManager;
}

async function setUpEnv(t: TestContext, opts: { config?: object | undefined; plugins?: boolean; timeoutMs?: number } = {}): Promise<Env> {
  const fakes = await FakePlugins.create();
  t.after(() => fakes.cleanup());
  const confDir = join(fakes.root, 'net.d');
  const cacheDir = join(fakes.root, 'cache');
  await mkdir(confDir);
  if (opts.config !== undefined) await writeFile(join(confDir, '10-unit.conflist'), JSON.stringify(opts.config));
  if (opts.plugins !== false) {
    await fakes.add('fake-ipam');
    await fakes.add('fake-bridge', { ADD: { stdout: JSON.stringify(bridgeOut) } });
    await fakes.add('fake-portmap', { ADD: { stdout: JSON.stringify(finalOut) } });
  }
  const manager = () =>
    new NetworkManager({
      confDir,
      binDirs: [join(fakes.root, 'no-such-dir'), fakes.binDir],
      cacheDir,
      netnsDir: join(fakes.root, 'netns'),
      ipamDataDir: join(fakes.root, 'ipam'),
      defaultSubnet: '10.77.0.0/16',
      bridgeName: 'unitbr0',
      ...(opts.timeoutMs ? { pluginTimeoutMs: opts.timeoutMs } : {}),
    });
  return { fakes, confDir, cacheDir, manager };
}

test('init writes the default config list into an empty conf dir; status names the missing plugins', async (t) => {
  const env = await setUpEnv(t, { plugins: false });
  const m = env.manager();
  await m.init();
  assert.deepEqual(await readdir(env.confDir), ['10-corelet.conflist']);
  const written = JSON.parse(await readFile(join(env.confDir, '10-corelet.conflist'), 'utf8'));
  assert.equal(written.plugins[0].bridge, 'unitbr0');
  assert.deepEqual(written.plugins[0].ipam.ranges, [[{ subnet: '10.77.0.0/16' }]]);
  assert.equal(written.plugins[0].ipam.dataDir, join(env.fakes.root, 'ipam'));
  const st = await m.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, 'NetworkPluginNotReady');
  assert.match(st.message, /missing .*10-corelet\.conflist: bridge, host-local, portmap/);
  // Installing the plugins later makes the node ready without a restart.
  for (const p of ['bridge', 'host-local', 'portmap']) await env.fakes.add(p);
  assert.deepEqual(await m.status(), { ready: true, reason: '', message: '' });
});

test('init keeps an existing config and uses it', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const m = env.manager();
  await m.init();
  assert.deepEqual(await readdir(env.confDir), ['10-unit.conflist']);
  assert.equal(m.config?.config.name, 'unitnet');
  assert.equal((await m.status()).ready, true);
});

test('with only a broken config the network is not ready, says why, and no default is written', async (t) => {
  const env = await setUpEnv(t);
  await writeFile(join(env.confDir, '10-bad.conf'), '{"name": "x"');
  const m = env.manager();
  await m.init();
  assert.deepEqual(await readdir(env.confDir), ['10-bad.conf']);
  const st = await m.status();
  assert.equal(st.ready, false);
  assert.match(st.message, /no usable CNI network config .*10-bad\.conf: not valid JSON/);
  await assert.rejects(m.setUp(pod), (e: unknown) => isKind(e, 'FailedPrecondition') && /not ready/.test((e as Error).message));
  assert.deepEqual(await env.fakes.calls(), []);
});

test('setUp runs the list in order, chaining prevResult and offering port mappings to portmap only', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const m = env.manager();
  await m.init();
  const r = await m.setUp(pod);
  assert.equal(r.ip, '10.1.0.7');
  assert.deepEqual(r.additionalIps, ['fd00::7']);
  assert.equal(r.interfaces.find((i) => i.name === 'eth0')?.sandbox, NETNS);

  const calls = await env.fakes.calls();
  assert.deepEqual(
    calls.map((c) => `${c.plugin} ${c.command}`),
    ['fake-bridge ADD', 'fake-portmap ADD'],
  );
  for (const c of calls) {
    assert.equal(c.env.CNI_COMMAND, 'ADD');
    assert.equal(c.env.CNI_CONTAINERID, 'sb1');
    assert.equal(c.env.CNI_NETNS, NETNS);
    assert.equal(c.env.CNI_IFNAME, 'eth0');
    assert.equal(c.env.CNI_ARGS, CNI_ARGS);
    assert.equal(c.env.CNI_PATH, `${join(env.fakes.root, 'no-such-dir')}:${env.fakes.binDir}`);
    assert.equal(c.stdin.name, 'unitnet');
    assert.equal(c.stdin.cniVersion, '1.0.0');
  }
  assert.equal(calls[0]!.stdin.prevResult, undefined);
  assert.equal(calls[0]!.stdin.runtimeConfig, undefined);
  assert.deepEqual(calls[0]!.stdin.ipam, { type: 'fake-ipam' });
  assert.deepEqual(calls[1]!.stdin.prevResult, bridgeOut);
  assert.deepEqual(calls[1]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
});

test('tearDown runs DEL in reverse with the cached result and runtimeConfig, once', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const m = env.manager();
  await m.init();
  await m.setUp(pod);
  assert.deepEqual(await readdir(env.cacheDir), ['sb1.json']);
  await env.fakes.clearCalls();

  await m.tearDown(pod);
  const calls = await env.fakes.calls();
  assert.deepEqual(
    calls.map((c) => `${c.plugin} ${c.command}`),
    ['fake-portmap DEL', 'fake-bridge DEL'],
  );
  for (const c of calls) {
    assert.equal(c.env.CNI_NETNS, NETNS);
    assert.equal(c.env.CNI_ARGS, CNI_ARGS);
    assert.deepEqual(c.stdin.prevResult, finalOut);
  }
  assert.deepEqual(calls[0]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(await readdir(env.cacheDir), []);

  // Idempotent: a second tearDown (and one for a pod never set up) runs no plugin.
  await env.fakes.clearCalls();
  await m.tearDown(pod);
  await m.tearDown({ ...pod, sandboxId: 'never' });
  assert.deepEqual(await env.fakes.calls(), []);
});

test('after a restart, tearDown replays the cached config even if the conf dir changed', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const first = env.manager();
  await first.init();
  await first.setUp(pod);

  // The operator switches to another network; its plugins are different binaries.
  await writeFile(join(env.confDir, '10-unit.conflist'), JSON.stringify(list('1.0.0', 'othernet', 'other')));
  for (const p of ['other-bridge', 'other-ipam', 'other-portmap']) await env.fakes.add(p);
  await env.fakes.clearCalls();

  const second = env.manager();
  await second.init();
  assert.equal(second.config?.config.name, 'othernet');
  // The daemon restarted and the netns is gone by now: CNI_NETNS must be empty.
  await second.tearDown({ ...pod, netnsPath: join(env.fakes.root, 'netns', 'gone'), portMappings: [] });
  const calls = await env.fakes.calls();
  assert.deepEqual(
    calls.map((c) => `${c.plugin} ${c.command}`),
    ['fake-portmap DEL', 'fake-bridge DEL'],
  );
  for (const c of calls) {
    assert.equal(c.stdin.name, 'unitnet');
    assert.equal(c.env.CNI_NETNS, '');
    assert.deepEqual(c.stdin.prevResult, finalOut);
  }
  assert.deepEqual(calls[0]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
});

test('a failed ADD is undone with DEL and reported with the plugin error', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  await env.fakes.add('fake-portmap', {
    ADD: { exitCode: 1, stdout: JSON.stringify({ cniVersion: '1.0.0', code: 999, msg: 'port 8080 taken', details: 'bind: in use' }) },
  });
  const m = env.manager();
  await m.init();
  await assert.rejects(m.setUp(pod), (err: unknown) => {
    assert.equal(
      (err as Error).message,
      'setting up network of sandbox sb1: CNI plugin fake-portmap ADD failed: port 8080 taken (bind: in use) [CNI error 999]',
    );
    return true;
  });
  assert.deepEqual(
    (await env.fakes.calls()).map((c) => `${c.plugin} ${c.command}`),
    ['fake-bridge ADD', 'fake-portmap ADD', 'fake-portmap DEL', 'fake-bridge DEL'],
  );
  assert.deepEqual(await readdir(env.cacheDir), []);
  // The same sandbox can be set up again once the cause is fixed.
  await env.fakes.add('fake-portmap', { ADD: { stdout: JSON.stringify(finalOut) } });
  assert.equal((await m.setUp(pod)).ip, '10.1.0.7');
});

test('when the undo DEL fails too, the record stays so a later tearDown finishes the job', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  await env.fakes.add('fake-bridge', { ADD: { exitCode: 1, stderr: 'link exploded' }, DEL: { exitCode: 1, stderr: 'still broken' } });
  const m = env.manager();
  await m.init();
  await assert.rejects(m.setUp(pod), /fake-bridge ADD failed with exit status 1: link exploded/);
  assert.deepEqual(await readdir(env.cacheDir), ['sb1.json']);
  await assert.rejects(m.tearDown(pod), /fake-bridge DEL failed with exit status 1: still broken/);

  await env.fakes.add('fake-bridge', { ADD: { stdout: JSON.stringify(bridgeOut) } });
  await env.fakes.clearCalls();
  await m.tearDown(pod);
  const calls = await env.fakes.calls();
  assert.deepEqual(
    calls.map((c) => `${c.plugin} ${c.command}`),
    ['fake-portmap DEL', 'fake-bridge DEL'],
  );
  // ADD never finished, so there is no result to pass.
  assert.equal(calls[0]!.stdin.prevResult, undefined);
  assert.deepEqual(await readdir(env.cacheDir), []);
});

test('a plugin printing something that is not a result fails the ADD', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  await env.fakes.add('fake-bridge', { ADD: { stdout: 'hello' } });
  const m = env.manager();
  await m.init();
  await assert.rejects(m.setUp(pod), /fake-bridge ADD failed .*printed no JSON result: hello/);
  // The list's result is the last plugin's: an IP-less one fails even if an earlier plugin had IPs.
  await env.fakes.add('fake-bridge', { ADD: { stdout: JSON.stringify(bridgeOut) } });
  await env.fakes.add('fake-portmap', { ADD: { stdout: JSON.stringify({ cniVersion: '1.0.0', ips: [] }) } });
  await assert.rejects(m.setUp(pod), /gave the pod no IP address on eth0/);
  assert.deepEqual(await readdir(env.cacheDir), []);
});

test('a plugin that hangs is killed and reported as a timeout; one killed by a signal says so', async (t) => {
  // The limit holds for every plugin, also the bridge's ADD and undo DEL: at 300 ms a busy machine
  // (load 11) let the undo DEL time out too, and the cache record stayed.
  const env = await setUpEnv(t, { config: list(), timeoutMs: 1500 });
  await env.fakes.add('fake-portmap', { ADD: { script: 'exec sleep 30' } });
  const m = env.manager();
  await m.init();
  await assert.rejects(m.setUp(pod), (e: unknown) => isKind(e, 'DeadlineExceeded') && /fake-portmap ADD timed out/.test((e as Error).message));
  assert.deepEqual(await readdir(env.cacheDir), []);
  await env.fakes.add('fake-portmap', { ADD: { script: 'kill -9 $$' } });
  await assert.rejects(m.setUp(pod), /fake-portmap ADD failed with exit status unknown: .*SIGKILL/);
});

test('CNI 0.3.1 lists get no prevResult on DEL', async (t) => {
  const env = await setUpEnv(t, { config: list('0.3.1') });
  const m = env.manager();
  await m.init();
  await m.setUp(pod);
  await env.fakes.clearCalls();
  await m.tearDown(pod);
  const calls = await env.fakes.calls();
  assert.equal(calls.length, 2);
  for (const c of calls) {
    assert.equal(c.stdin.prevResult, undefined);
    assert.equal(c.stdin.cniVersion, '0.3.1');
  }
});

test('setUp refuses a path that is not a netns, a bad sandbox id, and a second setUp of one sandbox', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const m = env.manager();
  await m.init();
  await assert.rejects(m.setUp({ ...pod, netnsPath: env.confDir }), (e: unknown) => isKind(e, 'InvalidArgument'));
  await assert.rejects(m.setUp({ ...pod, sandboxId: '../etc' }), (e: unknown) => isKind(e, 'InvalidArgument'));
  assert.deepEqual(await env.fakes.calls(), []);
  await m.setUp(pod);
  await assert.rejects(m.setUp(pod), (e: unknown) => isKind(e, 'FailedPrecondition'));
});

test('a missing plugin binary fails setUp with the plugin named, and a damaged cache entry still tears down', async (t) => {
  const env = await setUpEnv(t, { config: list() });
  const m = env.manager();
  await m.init();
  await rm(join(env.fakes.binDir, 'fake-portmap'));
  const st = await m.status();
  assert.equal(st.ready, false);
  assert.match(st.message, /missing .*: fake-portmap/);
  await assert.rejects(m.setUp(pod), /not ready.*fake-portmap/);

  await env.fakes.add('fake-portmap', { ADD: { stdout: JSON.stringify(finalOut) } });
  await m.status();
  await m.setUp(pod);
  await writeFile(join(env.cacheDir, 'sb1.json'), '{ torn');
  await env.fakes.clearCalls();
  await m.tearDown(pod);
  // Without a usable record, DEL runs with the current config and the caller's arguments.
  const calls = await env.fakes.calls();
  assert.deepEqual(
    calls.map((c) => `${c.plugin} ${c.command}`),
    ['fake-portmap DEL', 'fake-bridge DEL'],
  );
  assert.equal(calls[0]!.env.CNI_ARGS, CNI_ARGS);
  assert.deepEqual(await readdir(env.cacheDir), []);
});

test('options are validated when the manager is built', () => {
  const base = { cacheDir: '/c', ipamDataDir: '/i' };
  assert.throws(() => new NetworkManager({ ...base, defaultSubnet: '10.0.0.0' }), /pod subnet must be a CIDR/);
  assert.throws(() => new NetworkManager({ ...base, defaultSubnet: '10.0.0.0/33' }), /pod subnet must be a CIDR/);
  assert.throws(() => new NetworkManager({ ...base, bridgeName: 'a-very-long-bridge-name' }), /bridge name/);
  assert.throws(() => new NetworkManager({ ...base, cacheDir: 'relative' }), /cacheDir must be an absolute path/);
  const m = new NetworkManager(base);
  assert.deepEqual(m.settings.binDirs, ['/opt/cni/bin', '/usr/lib/cni']);
  assert.equal(m.settings.confDir, '/etc/cni/net.d');
  assert.equal(m.settings.netnsDir, '/run/netns');
  assert.equal(m.settings.defaultSubnet, '10.89.0.0/16');
  assert.equal(m.settings.bridgeName, 'corelet0');
});
