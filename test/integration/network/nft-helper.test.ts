/**
 * corelet-nft (native-scripts/corelet-nft.c), the service proxy's long-lived libnftables process,
 * and NftProxy over it (root), in the netns nl-nfthelper (deleted in after(), with its tables); the
 * malformed requests go to a helper in a netns of its own made by `unshare -n`, gone with it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { DEFAULT_NFT_HELPER, NftHelperLost, NftHelperRunner, NftProxy, type ProxyState } from '../../../src/agent/proxy/index.js';
import { runAllSteps } from '../../helpers/cleanup.js';

const NS = 'nl-nfthelper';
const runners: NftHelperRunner[] = [];
/** A runner in NS (a killed helper's table stays there for the next one); nlh is flushed away first. */
const runner = async () => {
  await execa('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: 'add table inet nlh\ndelete table inet nlh\n' });
  const r = new NftHelperRunner(['ip', 'netns', 'exec', NS, DEFAULT_NFT_HELPER], 30_000);
  runners.push(r);
  return r;
};

/** Sends raw bytes to a fresh corelet-nft; its answer bytes and exit code. */
function raw(input: Buffer): Promise<{ out: Buffer; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', DEFAULT_NFT_HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out: Buffer.concat(chunks), code }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

const frame = (len: number, body: Buffer) => Buffer.concat([Buffer.from([len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255]), body]);
const answerText = (out: Buffer) => ({ status: out[4], text: out.subarray(9).toString() });

/** A transaction of n map elements (big enough to be under way when the process is killed). */
function bigTransaction(n: number): string {
  const elems = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} : 10.1.0.1`);
  return `add table inet nlh\nadd map inet nlh m { type ipv4_addr : ipv4_addr ; }\nadd element inet nlh m { ${elems.join(', ')} }\n`;
}

before(async () => {
  await execa('ip', ['netns', 'del', NS], { reject: false });
  await execa('ip', ['netns', 'add', NS]);
});
after(async () => {
  await runAllSteps([...runners.map((r) => () => r.close()), () => execa('ip', ['netns', 'del', NS], { reject: false })]);
});

describe('corelet-nft', { skip: existsSync(DEFAULT_NFT_HELPER) ? false : `${DEFAULT_NFT_HELPER} not built (libnftables-dev)` }, () => {

  it('applies transactions and lists the table as JSON, one process for every call', async () => {
    const r = await runner();
    assert.deepEqual(await r.run('add table inet nlh\nadd chain inet nlh c\n'), { ok: true, stdout: '', stderr: '' });
    assert.equal((await r.run('add rule inet nlh c counter\n')).ok, true);
    const list = await r.run('list table inet nlh', { json: true });
    assert.equal(list.ok, true);
    const doc = JSON.parse(list.stdout) as { nftables: Record<string, { name?: string }>[] };
    assert.deepEqual(doc.nftables.flatMap((o) => (o.chain ? [o.chain.name] : [])), ['c']);
    assert.ok(doc.nftables.some((o) => o.rule !== undefined));
    const terse = await r.run('list table inet nlh', { json: true, terse: true });
    assert.equal(terse.ok, true);
    assert.equal(r.starts, 1);
  });

  it("returns nft's error naming the line of a refused transaction, and applies none of it", async () => {
    const r = await runner();
    const out = await r.run('add table inet nlh\nadd chain inet nlh a\nadd rule inet nlh a bogus here\nadd chain inet nlh b\n');
    assert.equal(out.ok, false);
    assert.match(out.stderr, /^\/dev\/stdin:3:\d+-\d+: Error: /m);
    assert.match(out.stderr, /bogus here/);
    const missing = await r.run('list table inet nlh');
    assert.equal(missing.ok, false);
    assert.match(missing.stderr, /No such file or directory/);
    // the process goes on
    assert.equal((await r.run('add table inet nlh\n')).ok, true);
    assert.equal(r.starts, 1);
  });

  it('killed in the middle of a transaction: the call fails as lost, the kernel has all of it or none, the next call starts a new process', async () => {
    const r = await runner();
    assert.equal((await r.run('add table inet nlh\n')).ok, true);
    const pid = r.pid!;
    const pending = r.run(bigTransaction(60_000));
    setTimeout(() => process.kill(pid, 'SIGKILL'), 20);
    let lost = false;
    try {
      await pending;
    } catch (err) {
      assert.ok(err instanceof NftHelperLost, String(err));
      assert.match((err as Error).message, /killed \(SIGKILL\)/);
      lost = true;
    }
    // (when it finished before the kill, the call succeeded: the map is whole either way)
    const list = await r.run('list table inet nlh', { json: true });
    assert.equal(list.ok, true, list.stderr);
    const map = (JSON.parse(list.stdout) as { nftables: { map?: { elem?: unknown[] } }[] }).nftables.find((o) => o.map)?.map;
    assert.ok(map === undefined || map.elem?.length === 60_000, `a half-applied map: ${map?.elem?.length} elements`);
    assert.equal(r.starts, lost ? 2 : 1);
  });

  it('answers a malformed request with its reason and exits, whatever the length says', async () => {
    const over = await raw(frame(64 * 1024 * 1024 + 1, Buffer.from([0])));
    assert.deepEqual(answerText(over.out), { status: 2, text: 'corelet-nft: bad request: length over 64 MiB\n' });
    assert.equal(over.code, 3);
    const zero = await raw(frame(0, Buffer.alloc(0)));
    assert.match(answerText(zero.out).text, /length 0/);
    const flags = await raw(frame(5, Buffer.from('\x08list')));
    assert.match(answerText(flags.out).text, /unknown flags/);
    const nul = await raw(frame(6, Buffer.from('\x00li\x00st')));
    assert.match(answerText(nul.out).text, /a NUL byte/);
    const short = await raw(frame(100, Buffer.from('\x00add table inet x')));
    assert.match(answerText(short.out).text, /the stream ended inside a request/);
    assert.equal(short.code, 3);
    // EOF between requests is the normal end
    const done = await raw(Buffer.alloc(0));
    assert.deepEqual(done, { out: Buffer.alloc(0), code: 0 });
  });

  it('refuses to send what it cannot frame, naming why', async () => {
    const r = await runner();
    await assert.rejects(r.run('add table inet a\0b\n'), /nft input: a NUL byte/);
    assert.equal(r.starts, 0, 'nothing was started for it');
  });
});

describe('NftProxy over corelet-nft', { skip: existsSync(DEFAULT_NFT_HELPER) ? false : 'corelet-nft not built' }, () => {
  const state = (ips: string[]): ProxyState => ({
    services: [{ namespace: 'default', name: 'web', clusterIP: '10.71.200.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
    endpoints: [{ namespace: 'default', service: 'web', portName: 'http', protocol: 'TCP', endpoints: ips.map((ip) => ({ ip, port: 8080, ready: true, serving: true, terminating: false })) }],
    nodeAddresses: ['10.71.0.1'],
  });
  const proxy = new NftProxy({ table: { family: 'inet', name: 'nl-helper' }, nft: ['ip', 'netns', 'exec', NS, 'nft'], conntrack: null });
  const fresh = () => new NftProxy({ table: { family: 'inet', name: 'nl-helper-fresh' }, nft: ['ip', 'netns', 'exec', NS, 'nft'], conntrack: null });
  const shape = async (name: string) => (await execa('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', name])).stdout.replaceAll(name, 'T');

  after(() => proxy.close());

  it('goes on after its helper was killed between syncs: a new one is started and the update applied', async () => {
    await proxy.sync(state(['10.71.1.1', '10.71.1.2']));
    const first = proxy.helperPid;
    assert.ok(first !== undefined);
    process.kill(first, 'SIGKILL');
    const r = await proxy.sync(state(['10.71.1.1', '10.71.1.2', '10.71.1.3']));
    assert.doesNotMatch(r.text, /flush map/, 'an update, not a full sync');
    assert.notEqual(proxy.helperPid, first);
    assert.ok((await proxy.listObjects()).chains.includes('spread-tcp-3'));
  });

  it('without the helper (nft -f per call, the fallback) makes the same table', async () => {
    const cli = new NftProxy({ table: { family: 'inet', name: 'nl-helper-cli' }, nft: ['ip', 'netns', 'exec', NS, 'nft'], helper: null, conntrack: null });
    const other = fresh();
    try {
      const s = state(['10.71.2.1', '10.71.2.2']);
      await cli.sync(s);
      await cli.sync(state(['10.71.2.1']));
      await other.sync(state(['10.71.2.1']));
      assert.equal(cli.helperPid, undefined);
      assert.deepEqual((await cli.listObjects()).chains.sort(), (await other.listObjects()).chains.sort());
      assert.match(await cli.readTable(), /"10\.71\.2\.1"/);
      assert.equal((await execa('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', 'nl-helper-cli'])).stdout.replaceAll('nl-helper-cli', 'T'), await shape('nl-helper-fresh'));
    } finally {
      await cli.deleteTable();
      await other.deleteTable();
      await other.close();
    }
  });

  it('killed in the middle of syncs: each sync applies, or fails and the next one puts the table right', async () => {
    const ips = (n: number, base: number) => Array.from({ length: n }, (_, i) => `10.71.${base}.${i + 1}`);
    for (let i = 0; i < 12; i++) {
      const next = state(ips(1 + (i % 4), 10 + i));
      const pid = proxy.helperPid;
      const sync = proxy.sync(next);
      if (pid !== undefined) setTimeout(() => process.kill(pid, 'SIGKILL'), i % 3);
      await sync.catch(() => proxy.sync(next));
    }
    const last = state(ips(1 + (11 % 4), 21));
    await proxy.sync(last);
    const other = fresh();
    try {
      await other.sync(last);
      assert.equal(await shape('nl-helper'), await shape('nl-helper-fresh'));
    } finally {
      await other.deleteTable();
      await other.close();
    }
  });
});
