/**
 * A pod's resolv.conf (the CRI DNSConfig) from its dnsPolicy and dnsConfig, against the kubelet's
 * semantics (pkg/kubelet/network/dns), and resolv.conf parsing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseResolvConf, podDnsConfig, type ClusterDnsSettings } from '../../../src/agent/dns/index.js';
import type { Pod } from '../../../src/api/index.js';

const hostConf = parseResolvConf('nameserver 192.168.56.1\nnameserver 1.1.1.1\nsearch corp.example lab.example.\noptions edns0 ndots:2\n');
const settings: ClusterDnsSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', hostResolvConf: hostConf };

function pod(spec: Partial<Pick<Pod['spec'], 'dnsPolicy' | 'dnsConfig' | 'hostNetwork'>>, namespace = 'shop') {
  return {
    metadata: { name: 'p', namespace, uid: 'u' } as Pod['metadata'],
    spec: { dnsPolicy: 'ClusterFirst' as const, hostNetwork: false, ...spec },
  };
}

const CLUSTER_SEARCH = ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

describe('pod DNS from dnsPolicy (the kubelet\'s table)', () => {
  const cases: { name: string; pod: ReturnType<typeof pod>; settings?: ClusterDnsSettings; want: { servers: string[]; searches: string[]; options: string[] }; warning?: string }[] = [
    {
      name: 'ClusterFirst (the default): the cluster DNS, the cluster searches then the node\'s, ndots:5',
      pod: pod({}),
      want: { servers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example'], options: ['ndots:5'] },
    },
    {
      name: 'ClusterFirst on the host network: the node\'s resolv.conf (Default)',
      pod: pod({ hostNetwork: true }),
      want: { servers: ['192.168.56.1', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] },
    },
    {
      name: 'ClusterFirstWithHostNet on the host network: the cluster DNS',
      pod: pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }),
      want: { servers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example'], options: ['ndots:5'] },
    },
    {
      name: 'ClusterFirstWithHostNet off the host network: the cluster DNS too',
      pod: pod({ dnsPolicy: 'ClusterFirstWithHostNet' }),
      want: { servers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example'], options: ['ndots:5'] },
    },
    {
      name: 'Default: the node\'s resolv.conf',
      pod: pod({ dnsPolicy: 'Default' }),
      want: { servers: ['192.168.56.1', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] },
    },
    {
      name: 'None + dnsConfig: only the pod\'s own settings',
      pod: pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: ['a.example'], options: [{ name: 'ndots', value: '1' }, { name: 'rotate' }] } }),
      want: { servers: ['9.9.9.9'], searches: ['a.example'], options: ['ndots:1', 'rotate'] },
    },
    {
      name: 'ClusterFirst + dnsConfig: appended, duplicates dropped, options merged by name (the pod\'s value wins)',
      pod: pod({ dnsConfig: { nameservers: ['10.96.0.10', '9.9.9.9'], searches: ['cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }),
      want: { servers: ['10.96.0.10', '9.9.9.9'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example', 'extra.example'], options: ['ndots:2', 'edns0'] },
    },
    {
      name: 'ClusterFirst without a cluster DNS address: Default, with a MissingClusterDNS warning',
      pod: pod({}),
      settings: { ...settings, clusterDNS: [] },
      want: { servers: ['192.168.56.1', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] },
      warning: 'MissingClusterDNS',
    },
    {
      name: 'Default with the agent\'s --resolv-conf "": localhost and search "." (no lookups)',
      pod: pod({ dnsPolicy: 'Default' }),
      settings: { ...settings, hostResolvConf: null },
      want: { servers: ['127.0.0.1'], searches: ['.'], options: [] },
    },
    {
      name: 'ClusterFirst with --resolv-conf "": the cluster DNS and cluster searches only',
      pod: pod({}, 'default'),
      settings: { ...settings, hostResolvConf: null },
      want: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
    },
    {
      name: 'more than 3 nameservers are cut to 3, with a DNSConfigForming warning',
      pod: pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['9.9.9.9', '8.8.8.8'] } }),
      want: { servers: ['192.168.56.1', '1.1.1.1', '9.9.9.9'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] },
      warning: 'DNSConfigForming',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = podDnsConfig(c.pod, c.settings ?? settings);
      assert.deepEqual(got.dnsConfig, c.want);
      assert.deepEqual(
        got.warnings.map((w) => w.reason),
        c.warning ? [c.warning] : [],
      );
    });
  }

  it('cuts the search list to 32 domains and 2048 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const got = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: many } }), settings);
    assert.equal(got.dnsConfig.searches.length, 32);
    const long = Array.from({ length: 30 }, (_, i) => `${'x'.repeat(60)}${i}.example`);
    const got2 = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: long } }), settings);
    assert.ok(got2.dnsConfig.searches.join(' ').length <= 2048);
    assert.equal(got2.warnings[0].reason, 'DNSConfigForming');
  });
});

describe('resolv.conf parsing', () => {
  it('reads nameservers, the last search line and options; skips comments and non-IP nameservers', () => {
    const conf = parseResolvConf(['# generated', 'nameserver 10.0.0.2 ; primary', 'nameserver not-an-ip', 'nameserver fe80::1%eth0', 'domain old.example', 'search a.example b.example. .', 'options ndots:1', 'options rotate', ''].join('\n'));
    assert.deepEqual(conf, { nameservers: ['10.0.0.2', 'fe80::1'], searches: ['a.example', 'b.example'], options: ['ndots:1', 'rotate'] });
  });
});
