import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conntrackArgs,
  flushConntrack,
  NftProxy,
  resolveProxyState,
  staleUdpConntrack,
  type ProxyEndpoint,
  type ProxyService,
  type ProxyState,
} from '../../../src/agent/proxy/index.js';

const ep = (ip: string, ready = true): ProxyEndpoint => ({ ip, port: 5353, ready, serving: ready, terminating: false });

const dns: ProxyService = {
  namespace: 'kube-system',
  name: 'dns',
  clusterIP: '10.96.0.10',
  ports: [
    { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ],
};

const state = (udp: ProxyEndpoint[], tcp: ProxyEndpoint[] = udp, services: ProxyService[] = [dns]): ProxyState => ({
  services,
  endpoints: [
    { namespace: 'kube-system', service: 'dns', portName: 'dns', protocol: 'UDP', endpoints: udp },
    { namespace: 'kube-system', service: 'dns', portName: 'dns-tcp', protocol: 'TCP', endpoints: tcp },
  ],
  nodeAddresses: ['192.168.56.11'],
});

const stale = (a: ProxyState | undefined, b: ProxyState) => staleUdpConntrack(a === undefined ? undefined : resolveProxyState(a), resolveProxyState(b));

describe('stale UDP conntrack entries', () => {
  it('flushes the ClusterIP and NodePort entries DNATed to a UDP endpoint that left', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2'), ep('10.244.1.3')]), state([ep('10.244.1.3')])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('counts an endpoint that stopped being ready as gone', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2'), ep('10.244.1.3')]), state([ep('10.244.1.2', false), ep('10.244.1.3')])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('flushes every entry to a UDP port that goes from no endpoint to some', () => {
    assert.deepEqual(stale(state([]), state([ep('10.244.1.2')])), [{ origDst: '10.96.0.10', origPortDst: 53 }, { origPortDst: 30053 }]);
    assert.deepEqual(stale(undefined, state([ep('10.244.1.2')])), [{ origDst: '10.96.0.10', origPortDst: 53 }, { origPortDst: 30053 }]);
  });

  it('flushes the endpoints of a deleted Service', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2')]), state([], [], [])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('asks nothing when UDP endpoints stay, or only TCP endpoints change', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2')]), state([ep('10.244.1.2'), ep('10.244.1.4')])), []);
    assert.deepEqual(stale(state([ep('10.244.1.2')], [ep('10.244.1.2')]), state([ep('10.244.1.2')], [])), []);
  });

  it('writes the conntrack CLI arguments', () => {
    assert.deepEqual(conntrackArgs({ origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' }), [
      '-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.244.1.2',
    ]);
    assert.deepEqual(conntrackArgs({ origPortDst: 30053 }), ['-D', '-p', 'udp', '--orig-port-dst', '30053']);
  });

  it('says which package is missing when the conntrack command is not installed', async () => {
    await assert.rejects(flushConntrack([{ origPortDst: 53 }], ['/nonexistent/conntrack']), /is not installed \(the Debian package conntrack\)/);
  });
});

/**
 * The table an earlier agent left, as `nft -j list table` shows it (the shapes nft 1.0.6 prints):
 * kube-system/dns UDP 53 (NodePort 30053) spread over 10.244.1.2 and 10.244.1.3 through @backends,
 * and default/aff UDP 9000 (NodePort 30054) with ClientIP affinity (its endpoint chains).
 */
const leftTable = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'inet', name: 'corelet' } },
    { chain: { family: 'inet', table: 'corelet', name: 'spread-udp-2' } },
    { chain: { family: 'inet', table: 'corelet', name: 'nodeport-udp-2' } },
    { chain: { family: 'inet', table: 'corelet', name: 'service-default/aff/udp/u' } },
    { chain: { family: 'inet', table: 'corelet', name: 'external-default/aff/udp/u' } },
    { chain: { family: 'inet', table: 'corelet', name: 'endpoint-default/aff/udp/u__10.244.2.2/5353' } },
    { chain: { family: 'inet', table: 'corelet', name: 'endpoint-kube-system/dns/tcp/dns-tcp__10.244.1.9/5353' } },
    {
      map: {
        name: 'backends',
        elem: [
          [{ concat: ['10.96.0.10', 'udp', 53, 0] }, { concat: ['10.244.1.2', 5353] }],
          [{ concat: ['10.96.0.10', 'udp', 53, 1] }, { concat: ['10.244.1.3', 5353] }],
          [{ concat: ['10.96.0.10', 'tcp', 53, 0] }, { concat: ['10.244.1.7', 5353] }],
        ],
      },
    },
    {
      map: {
        name: 'nodeport-backends',
        elem: [
          [{ concat: ['udp', 30053, 0] }, { concat: ['10.244.1.2', 5353] }],
          [{ concat: ['udp', 30053, 1] }, { concat: ['10.244.1.3', 5353] }],
        ],
      },
    },
    {
      map: {
        name: 'service-ips',
        elem: [
          [{ concat: ['10.96.0.10', 'udp', 53] }, { goto: { target: 'spread-udp-2' } }],
          [{ concat: ['10.96.0.11', 'udp', 9000] }, { goto: { target: 'service-default/aff/udp/u' } }],
        ],
      },
    },
    { map: { name: 'service-nodeports', elem: [[{ concat: ['udp', 30054] }, { goto: { target: 'external-default/aff/udp/u' } }]] } },
  ],
});

describe('the first sync after an agent restart (the table holds an earlier agent\'s rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-ctrestart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** A stand-in nft: `list table` prints `listing` (or fails as for a missing table), `-f -` accepts anything. */
  const fakeNft = (listing: string | undefined) => {
    const json = join(dir, `table-${Math.random().toString(36).slice(2)}.json`);
    if (listing !== undefined) writeFileSync(json, listing);
    const script = join(dir, `nft-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      script,
      listing === undefined
        ? '#!/bin/sh\ncase "$*" in *list*) echo "Error: No such file or directory" >&2; exit 1;; esac\ncat >/dev/null\n'
        : `#!/bin/sh\ncase "$*" in *list*) cat '${json}'; exit 0;; esac\ncat >/dev/null\n`,
    );
    chmodSync(script, 0o755);
    return [script];
  };
  const aff: ProxyService = { namespace: 'default', name: 'aff', clusterIP: '10.96.0.11', sessionAffinity: { timeoutSeconds: 60 }, ports: [{ name: 'u', port: 9000, protocol: 'UDP', nodePort: 30054 }] };
  const restarted = (dnsEndpoints: ProxyEndpoint[]): ProxyState => {
    const s = state(dnsEndpoints, [ep('10.244.1.7')], [dns, aff]);
    return { ...s, endpoints: [...s.endpoints, { namespace: 'default', service: 'aff', portName: 'u', protocol: 'UDP', endpoints: [ep('10.244.2.2')] }] };
  };

  it('deletes no conntrack entry when the endpoints did not change (UDP flows keep their endpoint)', async () => {
    const proxy = new NftProxy({ nft: fakeNft(leftTable), conntrack: null });
    const r = await proxy.sync(restarted([ep('10.244.1.2'), ep('10.244.1.3')]));
    assert.deepEqual(r.staleUdp, []);
  });

  it('deletes only the entries of endpoints that left while the agent was down', async () => {
    const proxy = new NftProxy({ nft: fakeNft(leftTable), conntrack: null });
    const r = await proxy.sync(restarted([ep('10.244.1.3')]));
    assert.deepEqual(r.staleUdp, [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('with no table left (a fresh node), every UDP port that has endpoints is flushed once', async () => {
    const proxy = new NftProxy({ nft: fakeNft(undefined), conntrack: null });
    const r = await proxy.sync(restarted([ep('10.244.1.2')]));
    assert.deepEqual(r.staleUdp, [{ origDst: '10.96.0.11', origPortDst: 9000 }, { origPortDst: 30054 }, { origDst: '10.96.0.10', origPortDst: 53 }, { origPortDst: 30053 }]);
    // and the next sync compares with it, not with the table
    assert.deepEqual((await proxy.sync(restarted([ep('10.244.1.2')]))).staleUdp, []);
  });
});

describe('flushConntrack runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-ctbatch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** A stand-in conntrack logging each run (its arguments, then its stdin); `-R` fails when `noLoadFile`. */
  const fakeConntrack = (name: string, noLoadFile: boolean) => {
    const log = join(dir, `${name}.log`);
    const script = join(dir, name);
    writeFileSync(
      script,
      `#!/bin/sh\necho "run: $*" >> '${log}'\ncase "$*" in *-R*) ${noLoadFile ? `echo "conntrack: invalid option -- 'R'" >&2; exit 2` : `cat >> '${log}'`};; esac\nexit 0\n`,
    );
    chmodSync(script, 0o755);
    return { command: [script], runs: () => readFileSync(log, 'utf8').trim().split('\n') };
  };
  const entries = [{ origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' }, { origPortDst: 30053, replySrc: '10.244.1.2' }, { origDst: '10.96.0.11', origPortDst: 9000 }];

  it('deletes every entry in ONE conntrack run (-R -, a -D line each), not one process per port', async () => {
    const ct = fakeConntrack('batch', false);
    await flushConntrack(entries, ct.command);
    assert.deepEqual(ct.runs(), [
      'run: -R -',
      '-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.2',
      '-D -p udp --orig-port-dst 30053 --reply-src 10.244.1.2',
      '-D -p udp --orig-dst 10.96.0.11 --orig-port-dst 9000',
    ]);
  });

  it('falls back to one run per entry when that conntrack has no -R', async () => {
    const ct = fakeConntrack('old', true);
    await flushConntrack(entries, ct.command);
    assert.deepEqual(ct.runs(), [
      'run: -R -',
      'run: -D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.2',
      'run: -D -p udp --orig-port-dst 30053 --reply-src 10.244.1.2',
      'run: -D -p udp --orig-dst 10.96.0.11 --orig-port-dst 9000',
    ]);
  });
});

describe('a wedged nft or conntrack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-wedged-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hanging = (name: string) => {
    const script = join(dir, name);
    writeFileSync(script, '#!/bin/sh\nexec sleep 20\n');
    chmodSync(script, 0o755);
    return [script];
  };

  it('is killed after the timeout and the sync fails saying so (the sync loop, and the agent\'s stop, are not held)', async () => {
    const proxy = new NftProxy({ nft: hanging('nft'), conntrack: null, timeoutMs: 200 });
    await assert.rejects(proxy.sync(state([ep('10.244.1.2')])), /nft -j list table inet corelet did not finish in 200 ms; killed/);
  });

  it('conntrack too', async () => {
    await assert.rejects(flushConntrack([{ origPortDst: 53 }, { origPortDst: 54 }], hanging('conntrack'), 200), /conntrack -R - did not finish in 200 ms; killed/);
  });
});
