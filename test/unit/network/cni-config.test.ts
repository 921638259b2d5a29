import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configFileNames,
  defaultNetworkConfig,
  loadNetworkConfig,
  parseNetworkConfig,
  pluginBinaryNames,
} from '../../../src/runtime/network/index.js';
import { isKind } from '../../../src/lib/index.js';

const list = {
  cniVersion: '1.0.0',
  name: 'net1',
  plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap', capabilities: { portMappings: true } }],
};

test('a .conflist document parses into its plugins', () => {
  const c = parseNetworkConfig(JSON.stringify(list), 'x.conflist');
  assert.equal(c.name, 'net1');
  assert.equal(c.cniVersion, '1.0.0');
  assert.deepEqual(
    c.plugins.map((p) => p.type),
    ['bridge', 'portmap'],
  );
});

test('a single-plugin .conf document becomes a list of one that keeps its keys', () => {
  const c = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'single', type: 'ptp', ipMasq: true }), 'x.conf');
  assert.equal(c.name, 'single');
  assert.equal(c.cniVersion, '0.4.0');
  assert.equal(c.plugins.length, 1);
  assert.equal(c.plugins[0]!.type, 'ptp');
  assert.equal(c.plugins[0]!.ipMasq, true);
});

test('invalid configs are refused with a message naming the file and the problem', () => {
  const cases: [string, RegExp][] = [
    ['{not json', /f\.conf: not valid JSON/],
    [JSON.stringify({ ...list, name: '' }), /"name" is missing/],
    [JSON.stringify({ ...list, cniVersion: '0.2.0' }), /cniVersion 0\.2\.0 is not supported/],
    [JSON.stringify({ ...list, plugins: [] }), /"plugins" must be a non-empty array/],
    [JSON.stringify({ ...list, plugins: [{ type: '../../bin/sh' }] }), /"type" must name a plugin binary/],
    [JSON.stringify({ ...list, plugins: [{ type: 'bridge', ipam: { type: '/x' } }] }), /"ipam\.type" must name a plugin binary/],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), /neither "plugins"/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseNetworkConfig(text, 'f.conf'),
      (err: unknown) => isKind(err, 'InvalidArgument') && re.test((err as Error).message),
      text,
    );
  }
});

test('config files are taken in lexical order, other files ignored', () => {
  assert.deepEqual(configFileNames(['99-b.conf', 'README', '10-a.conflist', '50-c.json', 'x.conf.bak']), [
    '10-a.conflist',
    '50-c.json',
    '99-b.conf',
  ]);
});

test('loading picks the first usable file and reports broken ones it skipped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cni-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, '05-broken.conflist'), '{');
  await writeFile(join(dir, '10-good.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'good', type: 'bridge' }));
  await writeFile(join(dir, '20-later.conflist'), JSON.stringify({ ...list, name: 'later' }));
  const r = await loadNetworkConfig(dir);
  assert.equal(r.loaded?.config.name, 'good');
  assert.equal(r.loaded?.file, join(dir, '10-good.conf'));
  assert.equal(r.skipped.length, 1);
  assert.match(r.skipped[0]!, /05-broken\.conflist: not valid JSON/);
});

test('loading a missing or empty conf dir finds nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cni-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.deepEqual(await loadNetworkConfig(join(dir, 'absent')), { skipped: [], fileCount: 0 });
  await mkdir(join(dir, 'sub.conf'));
  const r = await loadNetworkConfig(dir);
  assert.equal(r.loaded, undefined);
  assert.equal(r.fileCount, 1);
});

test('the default config list is bridge + host-local + portmap with the injected subnet, bridge and dataDir', () => {
  const c = defaultNetworkConfig({ networkName: 'corelet', bridgeName: 'br9', subnet: '10.9.0.0/24', ipamDataDir: '/r/cni/networks' });
  assert.deepEqual(c, {
    cniVersion: '1.0.0',
    name: 'corelet',
    plugins: [
      {
        type: 'bridge',
        bridge: 'br9',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/r/cni/networks' },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  });
  // It is a config this module itself accepts.
  assert.deepEqual(parseNetworkConfig(JSON.stringify(c), 'default'), c);
  const v6 = defaultNetworkConfig({ networkName: 'n', bridgeName: 'b', subnet: 'fd00:1::/64', ipamDataDir: '/d' });
  assert.deepEqual((v6.plugins[0]!.ipam as { routes: unknown }).routes, [{ dst: '::/0' }]);
});

test('the binaries a list needs are its plugins and their IPAM plugins, once each', () => {
  const c = parseNetworkConfig(
    JSON.stringify({ ...list, plugins: [...list.plugins, { type: 'bridge', ipam: { type: 'static' } }] }),
    'x',
  );
  assert.deepEqual(pluginBinaryNames(c), ['bridge', 'host-local', 'portmap', 'static']);
});
