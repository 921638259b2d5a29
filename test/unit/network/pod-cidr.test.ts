import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkManager } from '../../../src/runtime/network/index.js';
import { isKind } from '../../../src/lib/index.js';

/** Bridge re-addressing asked for, as "bridge subnet [pod IPs]" (never a real bridge in unit tests). */
const readdressed: string[] = [];

async function manager(dir: string) {
  const m = new NetworkManager({
    confDir: join(dir, 'net.d'),
    binDirs: [dir],
    cacheDir: join(dir, 'cache'),
    ipamDataDir: join(dir, 'ipam'),
    defaultSubnet: '10.89.0.0/16',
    bridgeAddresses: { ensureGateway: async (b, s, inUse) => (readdressed.push(`${b} ${s} [${inUse.join(',')}]`), true) },
  });
  await m.init();
  return m;
}

const subnetOf = async (file: string) => JSON.parse(await readFile(file, 'utf8')).plugins[0].ipam.ranges[0][0].subnet;

test("UpdateRuntimeConfig's pod CIDR rewrites corelet's own default config", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cidr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  readdressed.length = 0;
  await mkdir(join(dir, 'ipam', 'corelet'), { recursive: true });
  await writeFile(join(dir, 'ipam', 'corelet', '10.89.0.7'), 'sandbox-id');
  await writeFile(join(dir, 'ipam', 'corelet', 'last_reserved_ip.0'), '10.89.0.7');
  const m = await manager(dir);
  const file = join(dir, 'net.d', '10-corelet.conflist');
  assert.equal(await subnetOf(file), '10.89.0.0/16');
  assert.equal(await m.setPodCidr('10.244.3.0/24'), true);
  assert.equal(await subnetOf(file), '10.244.3.0/24');
  // The bridge is re-addressed for the new range, knowing which pod IPs still hold the old one.
  assert.deepEqual(readdressed, ['corelet0 10.244.3.0/24 [10.89.0.7]']);
  assert.equal(await m.setPodCidr('10.244.3.0/24'), false, 'same CIDR: nothing to do');
  await assert.rejects(m.setPodCidr('not-a-cidr'), (e) => isKind(e, 'InvalidArgument'));
});

test("a network add-on's config is left alone", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cidr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'net.d'));
  const addon = join(dir, 'net.d', '05-addon.conflist');
  const text = JSON.stringify({ cniVersion: '1.0.0', name: 'addon', plugins: [{ type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/16' }]] } }] });
  await writeFile(addon, text);
  readdressed.length = 0;
  const m = await manager(dir);
  assert.equal(await m.setPodCidr('10.244.3.0/24'), false);
  assert.equal(await readFile(addon, 'utf8'), text);
  assert.deepEqual(readdressed, [], "an add-on's bridge is not ours to re-address");
});
