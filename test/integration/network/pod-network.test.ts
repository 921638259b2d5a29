/**
 * Pod networking with the real CNI plugins from /usr/lib/cni (root): a netns, bridge + host-local +
 * portmap ADD, traffic to the pod directly and through its hostPort, then DEL and a check that no
 * netns, IP allocation or iptables rule is left. Uses its own bridge, subnet, dirs and network name,
 * and removes all of them afterwards even when an assertion fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { NetworkManager, ipMasqChainName, type PodNetworkArgs } from '../../../src/runtime/network/index.js';
import { newId } from '../../../src/lib/index.js';
import { freePort } from '../../helpers/free-port.js';

const BRIDGE = 'cltest0';
const SUBNET = '10.201.0.0/24';

interface Fixture {
  root: string;
  netName: string;
  manager(): NetworkManager;
}

/** A manager on temp dirs; everything it could leave on the host is removed in t.after. */
async function fixture(t: TestContext): Promise<Fixture> {
  const root = await mkdtemp('/tmp/corelet-net-it-');
  const netName = `cltest-${randomBytes(3).toString('hex')}`;
  const manager = () =>
    new NetworkManager({
      confDir: join(root, 'net.d'),
      binDirs: ['/usr/lib/cni'],
      cacheDir: join(root, 'cache'),
      netnsDir: join(root, 'netns'),
      ipamDataDir: join(root, 'ipam'),
      defaultSubnet: SUBNET,
      bridgeName: BRIDGE,
      networkName: netName,
    });
  t.after(async () => {
    // Netns files first (a mounted one would keep rm from removing the folder).
    const dir = join(root, 'netns');
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      await manager().removeNetns(join(dir, f)).catch(() => undefined);
    }
    await deleteNatRulesOf(netName);
    await execa('ip', ['link', 'del', BRIDGE], { reject: false });
    await rm(root, { recursive: true, force: true });
  });
  return { root, netName, manager };
}

/** Removes any nat rule commented with this network's name and the per-pod chains they jump to. */
async function deleteNatRulesOf(netName: string): Promise<void> {
  const needle = `name: "${netName}"`;
  const chains = new Set<string>();
  for (const chain of ['POSTROUTING', 'CNI-HOSTPORT-DNAT']) {
    for (let i = 0; i < 100; i++) {
      const listing = await execa('iptables', ['-w', '-t', 'nat', '-L', chain, '-n', '--line-numbers'], { reject: false });
      const line = String(listing.stdout)
        .split('\n')
        .find((l) => l.includes(needle));
      if (!line) break;
      const [num, target] = line.trim().split(/\s+/);
      if (target?.startsWith('CNI-') && !target.startsWith('CNI-HOSTPORT-')) chains.add(target);
      await execa('iptables', ['-w', '-t', 'nat', '-D', chain, num!], { reject: false });
    }
  }
  for (const chain of chains) {
    await execa('iptables', ['-w', '-t', 'nat', '-F', chain], { reject: false });
    await execa('iptables', ['-w', '-t', 'nat', '-X', chain], { reject: false });
  }
}

async function natRules(): Promise<string> {
  return String((await execa('iptables', ['-w', '-t', 'nat', '-S'])).stdout);
}

/** A TCP port nothing listens on right now. */

/** Sends msg to host:port and returns what comes back before the peer closes. */
function echoOnce(host: string, port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let got = '';
    sock.on('connect', () => sock.end(msg));
    sock.on('data', (d) => (got += d.toString()));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

/** echoOnce, retrying while the server in the pod is not listening yet. */
async function echo(host: string, port: number, msg: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await echoOnce(host, port, msg);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function podArgs(sandboxId: string, netnsPath: string, hostPort: number): PodNetworkArgs {
  return {
    sandboxId,
    netnsPath,
    podName: 'echo',
    podNamespace: 'default',
    podUid: 'c0ffee00-0000-4000-8000-000000000001',
    portMappings: [{ protocol: 'TCP', containerPort: 8080, hostPort, hostIp: '' }],
  };
}

/** Checks nothing of this pod is left: IPAM allocation, iptables rules, cache entry, netns file. */
async function assertNothingLeft(f: Fixture, sandboxId: string, ip: string, netnsPath: string): Promise<void> {
  await assert.rejects(stat(netnsPath), { code: 'ENOENT' });
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(netnsPath), 'netns still mounted');
  const ipamDir = join(f.root, 'ipam', f.netName);
  for (const file of await readdir(ipamDir)) {
    assert.notEqual(file, ip, 'IP still allocated');
    assert.ok(!(await readFile(join(ipamDir, file), 'utf8')).includes(sandboxId), `IPAM file ${file} still names the pod`);
  }
  const nat = await natRules();
  assert.ok(!nat.includes(sandboxId), 'nat rules still name the pod');
  assert.ok(!nat.includes(ipMasqChainName(f.netName, sandboxId)), 'ipMasq chain left');
  assert.ok(!nat.includes(`${ip}:8080`), 'DNAT to the pod left');
  assert.deepEqual(await readdir(join(f.root, 'cache')), []);
}

test('a pod gets eth0 with an IP and lo up, is reachable directly and via hostPort, and leaves nothing behind', async (t) => {
  const f = await fixture(t);
  const m = f.manager();
  await m.init();
  assert.deepEqual(await m.status(), { ready: true, reason: '', message: '' });

  const sandboxId = newId();
  const hostPort = await freePort();
  const started = performance.now();
  const netns = await m.createNetns(`${f.netName}-pod`);
  const args = podArgs(sandboxId, netns, hostPort);
  const res = await m.setUp(args);
  t.diagnostic(`createNetns + setUp took ${(performance.now() - started).toFixed(1)} ms`);

  assert.match(res.ip, /^10\.201\.0\.\d+$/);
  assert.deepEqual(res.additionalIps, []);
  const links = JSON.parse(String((await execa('nsenter', [`--net=${netns}`, 'ip', '-j', 'addr'])).stdout)) as {
    ifname: string;
    flags: string[];
    addr_info: { local: string; prefixlen: number }[];
  }[];
  const eth0 = links.find((l) => l.ifname === 'eth0');
  assert.ok(eth0, 'no eth0 in the pod netns');
  assert.ok(eth0.addr_info.some((a) => a.local === res.ip && a.prefixlen === 24), `eth0 lacks ${res.ip}/24`);
  assert.ok(links.find((l) => l.ifname === 'lo')?.flags.includes('UP'), 'lo is not up');

  // An echo server in the pod: reachable on the pod IP and through the host port on localhost.
  const server = execa('nsenter', [`--net=${netns}`, 'busybox', 'nc', '-ll', '-p', '8080', '-e', '/bin/cat'], { reject: false });
  t.after(() => server.kill('SIGKILL'));
  assert.equal(await echo(res.ip, 8080, 'direct'), 'direct');
  assert.equal(await echo('127.0.0.1', hostPort, 'via host port'), 'via host port');
  const nat = await natRules();
  assert.ok(nat.includes(`--to-destination ${res.ip}:8080`), 'no DNAT rule for the host port');
  assert.ok(nat.includes(`--dport ${hostPort}`), 'no rule for the host port');

  server.kill('SIGKILL');
  await server;
  await m.tearDown(args);
  await m.removeNetns(netns);
  await assertNothingLeft(f, sandboxId, res.ip, netns);
  // Both are idempotent.
  await m.tearDown(args);
  await m.removeNetns(netns);
});

test('after a restart, tearDown of a pod whose netns is already gone still releases everything', async (t) => {
  const f = await fixture(t);
  const first = f.manager();
  await first.init();
  const sandboxId = newId();
  const netns = await first.createNetns(`${f.netName}-gone`);
  const args = podArgs(sandboxId, netns, await freePort());
  const res = await first.setUp(args);
  const masqChain = ipMasqChainName(f.netName, sandboxId);
  assert.ok((await natRules()).includes(masqChain), 'bridge created no ipMasq chain');

  await first.removeNetns(netns);
  const second = f.manager();
  await second.init();
  await second.tearDown(args);
  await assertNothingLeft(f, sandboxId, res.ip, netns);
  // The IP is free again: the next pod can be set up.
  const netns2 = await second.createNetns(`${f.netName}-next`);
  const args2 = podArgs(newId(), netns2, await freePort());
  const res2 = await second.setUp(args2);
  assert.match(res2.ip, /^10\.201\.0\.\d+$/);
  await second.tearDown(args2);
  await second.removeNetns(netns2);
  await assertNothingLeft(f, args2.sandboxId, res2.ip, netns2);
});
