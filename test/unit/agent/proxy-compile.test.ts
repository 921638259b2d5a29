import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileRuleset,
  compileRulesetUpdate,
  deleteTableText,
  parseTableObjects,
  usedEndpoints,
  type ProxyEndpoint,
  type ProxyService,
  type ProxyServicePortEndpoints,
  type ProxyState,
  type ProxyTable,
} from '../../../src/agent/proxy/index.js';

const table: ProxyTable = { family: 'inet', name: 'corelet-test' };
const T = 'inet corelet-test';

const ep = (ip: string, port = 8080, more: Partial<ProxyEndpoint> = {}): ProxyEndpoint => ({
  ip,
  port,
  ready: true,
  serving: true,
  terminating: false,
  ...more,
});

const web: ProxyService = {
  namespace: 'default',
  name: 'web',
  clusterIP: '10.96.0.20',
  ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
};

const webEndpoints = (endpoints: ProxyEndpoint[]): ProxyServicePortEndpoints => ({
  namespace: 'default',
  service: 'web',
  portName: 'http',
  protocol: 'TCP',
  endpoints,
});

const state = (over: Partial<ProxyState> = {}): ProxyState => ({
  services: [web],
  endpoints: [webEndpoints([ep('10.244.1.5'), ep('10.244.2.7'), ep('10.244.1.9')])],
  nodeAddresses: ['192.168.56.11'],
  ...over,
});

const lines = (text: string) => text.trimEnd().split('\n');
const rulesOf = (text: string, chain: string) =>
  lines(text)
    .filter((l) => l.startsWith(`add rule ${T} ${chain} `))
    .map((l) => l.slice(`add rule ${T} ${chain} `.length));

describe('service proxy ruleset: structure', () => {
  it('is one transaction: the table, its objects, every flush, then the rules and elements', () => {
    const { text, objects } = compileRuleset(state(), table);
    const ls = lines(text);
    assert.equal(ls[0], `add table ${T}`);
    const firstFlush = ls.findIndex((l) => l.startsWith('flush '));
    const firstRule = ls.findIndex((l) => l.startsWith('add rule '));
    const lastAdd = ls.reduce((last, l, i) => (/^add (chain|set|map) /.test(l) ? i : last), -1);
    assert.ok(lastAdd < firstFlush && firstFlush < firstRule, 'objects, then flushes, then rules');
    assert.ok(!ls.slice(firstRule).some((l) => l.startsWith('flush ') || l.startsWith('delete ')));
    // every chain it made is flushed before its rules come back
    for (const c of objects.chains) assert.ok(ls.includes(`flush chain ${T} ${c}`), c);
    assert.ok(ls.includes(`add chain ${T} nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; }`));
    assert.ok(ls.includes(`add chain ${T} nat-postrouting { type nat hook postrouting priority srcnat ; policy accept ; }`));
    for (const hook of ['input', 'forward', 'output']) {
      assert.deepEqual(rulesOf(text, `filter-${hook}`), ['ct state new jump endpoints-check']);
    }
    assert.deepEqual(rulesOf(text, 'services'), [
      'ip daddr . meta l4proto . th dport vmap @service-ips',
      'ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports',
    ]);
  });

  it('spreads a ClusterIP over its ready endpoints: a chain shared by 3-endpoint ports picks an index, @backends the endpoint', () => {
    const { text, objects } = compileRuleset(state(), table);
    assert.ok(text.includes(`add element ${T} service-ips { 10.96.0.20 . tcp . 80 : goto spread-tcp-3 }`));
    assert.deepEqual(rulesOf(text, 'spread-tcp-3'), ['meta l4proto tcp dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod 3 map @backends']);
    assert.ok(text.includes(`add map ${T} backends { typeof ip daddr . meta l4proto . tcp dport . numgen random mod 1 : ip daddr . tcp dport ; }`));
    assert.ok(text.includes(`add element ${T} backends { 10.96.0.20 . tcp . 80 . 0 : 10.244.1.5 . 8080, 10.96.0.20 . tcp . 80 . 1 : 10.244.1.9 . 8080, 10.96.0.20 . tcp . 80 . 2 : 10.244.2.7 . 8080 }`));
    assert.equal(lines(text).filter((l) => l.includes(' dnat ip addr ')).length, 1);
    // no chain per Service or per endpoint: what one change costs nft grows with the chains
    assert.ok(!objects.chains.some((c) => c.startsWith('endpoint-') || c.startsWith('service-')));
  });

  it('shares one spread chain between every service port with the same protocol and endpoint count', () => {
    const api: ProxyService = { ...web, name: 'api', clusterIP: '10.96.0.21' };
    const { text, objects } = compileRuleset(state({ services: [web, api], endpoints: [webEndpoints([ep('10.244.1.5')]), { ...webEndpoints([ep('10.244.3.3')]), service: 'api' }] }), table);
    assert.deepEqual(objects.chains.filter((c) => c.startsWith('spread-')), ['spread-tcp-1']);
    assert.equal(lines(text).filter((l) => l.startsWith(`add rule ${T} spread-tcp-1 `)).length, 1);
    assert.ok(text.includes(`add element ${T} service-ips { 10.96.0.21 . tcp . 80 : goto spread-tcp-1, 10.96.0.20 . tcp . 80 : goto spread-tcp-1 }`));
  });

  it('gives the same text whatever order the Services and endpoints come in', () => {
    const other: ProxyService = { ...web, name: 'api', clusterIP: '10.96.0.21' };
    const otherEps: ProxyServicePortEndpoints = { ...webEndpoints([ep('10.244.3.3')]), service: 'api' };
    const a = compileRuleset(state({ services: [web, other], endpoints: [webEndpoints([ep('10.244.1.5'), ep('10.244.2.7')]), otherEps] }), table);
    const b = compileRuleset(state({ services: [other, web], endpoints: [otherEps, webEndpoints([ep('10.244.2.7'), ep('10.244.1.5')])] }), table);
    assert.equal(a.text, b.text);
  });

  it('uses the port number in chain names for an unnamed port, and keeps UDP apart (maps of its own: nft 1.0.6 refuses udp on a tcp-typed map)', () => {
    const dns: ProxyService = { namespace: 'kube-system', name: 'dns', clusterIP: '10.96.0.10', ports: [{ name: '', port: 53, protocol: 'UDP', nodePort: 30053 }] };
    const eps: ProxyServicePortEndpoints = { namespace: 'kube-system', service: 'dns', portName: '', protocol: 'UDP', endpoints: [ep('10.244.1.2', 5353)] };
    const { text } = compileRuleset(state({ services: [dns], endpoints: [eps] }), table);
    assert.ok(text.includes(`service-ips { 10.96.0.10 . udp . 53 : goto spread-udp-1 }`));
    assert.ok(text.includes(`add map ${T} backends-udp { typeof ip daddr . meta l4proto . udp dport . numgen random mod 1 : ip daddr . udp dport ; }`));
    assert.ok(text.includes(`add map ${T} nodeport-backends-udp { typeof meta l4proto . udp dport . numgen random mod 1 : ip daddr . udp dport ; }`));
    assert.ok(text.includes(`add rule ${T} spread-udp-1 meta l4proto udp dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod 1 map @backends-udp`));
    assert.ok(text.includes(`add element ${T} backends-udp { 10.96.0.10 . udp . 53 . 0 : 10.244.1.2 . 5353 }`));
    assert.ok(text.includes(`add rule ${T} nodeport-udp-1 meta l4proto udp dnat ip addr . port to meta l4proto . th dport . numgen random mod 1 map @nodeport-backends-udp`));
    assert.ok(text.includes(`add element ${T} nodeport-backends-udp { udp . 30053 . 0 : 10.244.1.2 . 5353 }`));
    assert.ok(!/@backends\b(?!-)/.test(text) && !text.includes('add element ' + T + ' backends {'), 'nothing of UDP in the tcp-typed maps');
  });

  it('writes the same `dnat ip addr . port to` in an ip table too (nft accepts it in both families)', () => {
    const { text } = compileRuleset(state(), { family: 'ip', name: 'svcproxy-x' });
    assert.match(text, /^add table ip svcproxy-x$/m);
    assert.match(text, /add rule ip svcproxy-x spread-tcp-3 meta l4proto tcp dnat ip addr \. port to ip daddr \. meta l4proto \. th dport \. numgen random mod 3 map @backends/);
  });
});

describe('service proxy ruleset: no ready endpoints', () => {
  it('rejects a Service without endpoints at once: no service chain, a reject verdict for its ClusterIP and NodePort', () => {
    const svc: ProxyService = { ...web, ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] };
    const { text, objects } = compileRuleset(state({ services: [svc], endpoints: [] }), table);
    assert.ok(!objects.chains.some((c) => c.startsWith('service-') || c.startsWith('endpoint-')));
    assert.ok(text.includes(`add element ${T} no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }`));
    assert.ok(text.includes(`add element ${T} no-endpoint-nodeports { tcp . 30080 : goto reject-chain }`));
    // TCP gets a reset (refused at once, no ICMP rate limit), the rest ICMP port unreachable
    assert.deepEqual(rulesOf(text, 'reject-chain'), ['meta l4proto tcp reject with tcp reset', 'reject']);
    assert.deepEqual(rulesOf(text, 'endpoints-check'), [
      'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
      'ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports',
      'ip daddr @cluster-ips goto reject-chain',
    ]);
    assert.ok(!text.includes(`add element ${T} service-ips`), 'no ClusterIP element');
  });

  it('leaves terminating endpoints out while a ready one exists', () => {
    const eps = [ep('10.244.1.5'), ep('10.244.1.6', 8080, { ready: false, serving: true, terminating: true })];
    const { text } = compileRuleset(state({ endpoints: [webEndpoints(eps)] }), table);
    assert.ok(text.includes(`add element ${T} backends { 10.96.0.20 . tcp . 80 . 0 : 10.244.1.5 . 8080 }`));
    assert.ok(text.includes('goto spread-tcp-1'));
    assert.ok(!text.includes('10.244.1.6'));
  });

  it('falls back to serving terminating endpoints when none is ready (kube-proxy\'s choice), and rejects when those stop serving', () => {
    const terminating = [ep('10.244.1.6', 8080, { ready: false, serving: true, terminating: true }), ep('10.244.1.7', 8080, { ready: false, serving: false, terminating: true })];
    const { text } = compileRuleset(state({ endpoints: [webEndpoints(terminating)] }), table);
    assert.ok(text.includes(`add element ${T} backends { 10.96.0.20 . tcp . 80 . 0 : 10.244.1.6 . 8080 }`));
    assert.ok(!text.includes('10.244.1.7'));
    const gone = compileRuleset(state({ endpoints: [webEndpoints([ep('10.244.1.8', 8080, { ready: false, serving: false, terminating: false })])] }), table);
    assert.ok(gone.text.includes('no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }'));
  });

  it('counts an endpoint listed in two slices once', () => {
    assert.deepEqual(usedEndpoints([ep('10.244.1.5'), ep('10.244.1.5')]), [ep('10.244.1.5')]);
  });
});

describe('service proxy ruleset: affinity and masquerade', () => {
  it('ClientIP affinity: a timed set per endpoint, checked before the random pick and refreshed on the way out', () => {
    const svc: ProxyService = { ...web, sessionAffinity: { timeoutSeconds: 600 } };
    const { text, objects } = compileRuleset(state({ services: [svc], endpoints: [webEndpoints([ep('10.244.1.5'), ep('10.244.2.7')])] }), table);
    assert.ok(text.includes(`add set ${T} affinity-default/web/tcp/http__10.244.1.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`));
    assert.deepEqual(rulesOf(text, 'service-default/web/tcp/http'), [
      'ip saddr @affinity-default/web/tcp/http__10.244.1.5/8080 goto endpoint-default/web/tcp/http__10.244.1.5/8080',
      'ip saddr @affinity-default/web/tcp/http__10.244.2.7/8080 goto endpoint-default/web/tcp/http__10.244.2.7/8080',
      'numgen random mod 2 vmap { 0 : goto endpoint-default/web/tcp/http__10.244.1.5/8080, 1 : goto endpoint-default/web/tcp/http__10.244.2.7/8080 }',
    ]);
    assert.deepEqual(rulesOf(text, 'endpoint-default/web/tcp/http__10.244.2.7/8080'), [
      'ip saddr 10.244.2.7 jump mark-for-masquerade',
      'update @affinity-default/web/tcp/http__10.244.2.7/8080 { ip saddr }',
      'meta l4proto tcp dnat ip to 10.244.2.7:8080',
    ]);
    assert.ok(objects.sets.includes('affinity-default/web/tcp/http__10.244.1.5/8080'));
    // a client keeps its endpoint across syncs: the affinity sets are never flushed
    assert.ok(!/flush set \S+ \S+ affinity-/.test(text));
  });

  it('masquerades hairpin traffic (an endpoint reaching itself through its Service)', () => {
    const { text } = compileRuleset(state(), table);
    // after DNAT, source = destination = the endpoint: the hairpin set holds `IP . IP` of every endpoint
    assert.ok(text.includes(`add set ${T} hairpin { type ipv4_addr . ipv4_addr ; }`));
    assert.ok(text.includes(`add element ${T} hairpin { 10.244.1.5 . 10.244.1.5, 10.244.1.9 . 10.244.1.9, 10.244.2.7 . 10.244.2.7 }`));
    assert.ok(text.includes(`flush set ${T} hairpin`));
    assert.deepEqual(rulesOf(text, 'mark-for-masquerade'), ['meta mark set meta mark | 0x4000']);
    assert.deepEqual(rulesOf(text, 'masquerading'), [
      'ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade',
      'meta mark & 0x4000 == 0 return',
      'meta mark set meta mark ^ 0x4000',
      'masquerade fully-random',
    ]);
    assert.deepEqual(rulesOf(text, 'nat-postrouting'), ['jump masquerading']);
  });

  it('answers a NodePort on every node address and masquerades its traffic', () => {
    const svc: ProxyService = { ...web, ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] };
    const { text } = compileRuleset(state({ services: [svc], nodeAddresses: ['192.168.56.11', '10.0.2.15', '192.168.56.11'] }), table);
    assert.ok(text.includes(`add element ${T} node-ips { 10.0.2.15, 192.168.56.11 }`));
    assert.ok(text.includes(`add element ${T} service-nodeports { tcp . 30080 : goto nodeport-tcp-3 }`));
    assert.deepEqual(rulesOf(text, 'nodeport-tcp-3'), [
      'jump mark-for-masquerade',
      'meta l4proto tcp dnat ip addr . port to meta l4proto . th dport . numgen random mod 3 map @nodeport-backends',
    ]);
    assert.ok(text.includes(`add element ${T} nodeport-backends { tcp . 30080 . 0 : 10.244.1.5 . 8080, tcp . 30080 . 1 : 10.244.1.9 . 8080, tcp . 30080 . 2 : 10.244.2.7 . 8080 }`));
  });

  it('with a cluster CIDR, masquerades ClusterIP traffic from outside it', () => {
    const { text } = compileRuleset(state({ clusterCIDR: '10.244.7.1/16' }), table);
    assert.equal(rulesOf(text, 'spread-tcp-3')[0], 'ip saddr != 10.244.0.0/16 jump mark-for-masquerade');
    const affinity = compileRuleset(state({ clusterCIDR: '10.244.7.1/16', services: [{ ...web, sessionAffinity: { timeoutSeconds: 60 } }] }), table);
    assert.equal(rulesOf(affinity.text, 'service-default/web/tcp/http')[0], 'ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade');
  });
});

describe('service proxy ruleset: re-sync and removal', () => {
  it('flushes and deletes what the previous sync made and this one does not want, in the same transaction', () => {
    const first = compileRuleset(state({ services: [{ ...web, sessionAffinity: { timeoutSeconds: 60 } }] }), table);
    const second = compileRuleset(state({ endpoints: [webEndpoints([ep('10.244.1.5')])] }), table, first.objects);
    const ls = lines(second.text);
    for (const gone of ['endpoint-default/web/tcp/http__10.244.1.5/8080', 'endpoint-default/web/tcp/http__10.244.1.9/8080', 'endpoint-default/web/tcp/http__10.244.2.7/8080']) {
      const flush = ls.indexOf(`flush chain ${T} ${gone}`);
      const del = ls.indexOf(`delete chain ${T} ${gone}`);
      assert.ok(flush >= 0 && del > flush, gone);
    }
    for (const set of first.objects.sets.filter((s) => s.startsWith('affinity-'))) assert.ok(ls.includes(`delete set ${T} ${set}`), set);
    const del = ls.indexOf(`delete chain ${T} service-default/web/tcp/http`);
    assert.ok(del > ls.indexOf(`flush chain ${T} service-default/web/tcp/http`) && del > 0);
    assert.ok(ls.includes(`add rule ${T} spread-tcp-1 meta l4proto tcp dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod 1 map @backends`));
    assert.deepEqual(second.objects.sets, ['cluster-ips', 'node-ips', 'hairpin']);
  });

  it('removes the table in a transaction that cannot fail on a missing table', () => {
    assert.equal(deleteTableText(table), `add table ${T}\ndelete table ${T}\n`);
  });

  it('reads the objects back from `nft -j list table`', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'corelet-test', handle: 1 } },
        { set: { family: 'inet', name: 'node-ips', table: 'corelet-test', type: 'ipv4_addr' } },
        { map: { family: 'inet', name: 'service-ips', table: 'corelet-test', type: ['ipv4_addr'], map: 'verdict' } },
        { chain: { family: 'inet', table: 'corelet-test', name: 'services', handle: 3 } },
        { rule: { family: 'inet', table: 'corelet-test', chain: 'services', handle: 9, expr: [] } },
      ],
    });
    assert.deepEqual(parseTableObjects(json), { chains: ['services'], sets: ['node-ips'], maps: ['service-ips'] });
  });
});

describe('service proxy ruleset: validation', () => {
  it('refuses a table name nft would misread, naming the field', () => {
    assert.throws(() => compileRuleset(state(), { family: 'inet', name: 'corelet; flush ruleset' }), /table\.name: "corelet; flush ruleset" is not a table name/);
    assert.throws(() => compileRuleset(state(), { family: 'bridge' as 'inet', name: 'x' }), /table\.family/);
  });

  it('refuses a bad node address or cluster CIDR, naming the field', () => {
    assert.throws(() => compileRuleset(state({ nodeAddresses: ['192.168.56.300'] }), table), /nodeAddresses\[0\]: "192\.168\.56\.300" is not an IPv4 address/);
    assert.throws(() => compileRuleset(state({ clusterCIDR: '10.244.0.0/33' }), table), /clusterCIDR: "10\.244\.0\.0\/33" is not an IPv4 CIDR/);
  });

  it('leaves a bad Service out with a warning naming the field, and programs the others', () => {
    const bad: ProxyService = { ...web, name: 'Bad Name', clusterIP: '10.96.0.30' };
    const badPort: ProxyService = { ...web, name: 'odd', clusterIP: '10.96.0.31', ports: [{ name: 'x', port: 70000, protocol: 'TCP' }] };
    const { text, warnings } = compileRuleset(state({ services: [bad, web, badPort] }), table);
    assert.deepEqual(warnings, [
      'Service default/Bad Name left out: services[0].name: "Bad Name" is not a DNS label (lowercase letters, digits and \'-\', at most 63)',
      'Service default/odd left out: services[2].ports[0].port: 70000 is not a port number (1-65535)',
    ]);
    assert.ok(text.includes('10.96.0.20 . tcp . 80 : goto spread-tcp-3'));
    assert.ok(!text.includes('10.96.0.30') && !text.includes('10.96.0.31'));
  });

  it('leaves out the second Service claiming a ClusterIP port or a NodePort', () => {
    const twin: ProxyService = { ...web, name: 'web2' }; // the first by namespace/name keeps it
    const np = (name: string, ip: string): ProxyService => ({ ...web, name, clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
    const { warnings } = compileRuleset(state({ services: [twin, web, np('np-a', '10.96.0.40'), np('np-b', '10.96.0.41')] }), table);
    assert.deepEqual(warnings, [
      'Service default/np-b left out: services[3].ports[0].nodePort: 30080/TCP is already the Service default/np-a\'s',
      'Service default/web2 left out: services[0].ports[0]: 10.96.0.20:80/TCP is already the Service default/web\'s',
    ]);
  });

  it('leaves out bad endpoints with a warning naming the field', () => {
    const { text, warnings } = compileRuleset(state({ endpoints: [webEndpoints([ep('10.244.1.5'), ep('not-an-ip')])] }), table);
    assert.deepEqual(warnings, ['endpoints of default/web left out: endpoints[0].endpoints[1].ip: "not-an-ip" is not an IPv4 address']);
    assert.ok(text.includes('no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }'));
  });

  it('refuses an affinity timeout out of range', () => {
    const { warnings } = compileRuleset(state({ services: [{ ...web, sessionAffinity: { timeoutSeconds: 0 } }] }), table);
    assert.match(warnings[0] ?? '', /services\[0\]\.sessionAffinity\.timeoutSeconds: 0 is not between 1 and 86400/);
  });
});

describe('service proxy ruleset: updates touch only what changed', () => {
  const api: ProxyService = { ...web, name: 'api', clusterIP: '10.96.0.21' };
  const apiEndpoints: ProxyServicePortEndpoints = { ...webEndpoints([ep('10.244.3.3')]), service: 'api' };
  const two = (webEps: ProxyEndpoint[], more: Partial<ProxyState> = {}) =>
    state({ services: [web, api], endpoints: [webEndpoints(webEps), apiEndpoints], ...more });

  it('is empty when nothing changed', () => {
    const first = compileRuleset(two([ep('10.244.1.5')]), table);
    assert.equal(compileRulesetUpdate(first, two([ep('10.244.1.5')]), table).text, '');
  });

  it('rewrites one Service\'s elements when one of its endpoints leaves, and nothing of the others', () => {
    const first = compileRuleset(two([ep('10.244.1.5'), ep('10.244.2.7')]), table);
    const next = compileRulesetUpdate(first, two([ep('10.244.1.5')]), table);
    // spread-tcp-1 exists (api uses it), spread-tcp-2 is used by nobody any more
    assert.deepEqual(lines(next.text), [
      `add table ${T}`,
      `flush chain ${T} spread-tcp-2`,
      `delete element ${T} service-ips { 10.96.0.20 . tcp . 80 }`,
      `delete element ${T} hairpin { 10.244.2.7 . 10.244.2.7 }`,
      `delete chain ${T} spread-tcp-2`,
      `add element ${T} service-ips { 10.96.0.20 . tcp . 80 : goto spread-tcp-1 }`,
    ]);
    // index 1 goes in a transaction of its own, after: no new chain, nothing to prepare
    assert.deepEqual(lines(next.cleanup), [`delete element ${T} backends { 10.96.0.20 . tcp . 80 . 1 }`]);
    assert.equal(next.prepare, '');
    // what the table holds afterwards is what a full compile of that state makes
    const sorted = (o: { chains: string[]; sets: string[]; maps: string[] }) => ({ chains: [...o.chains].sort(), sets: [...o.sets].sort(), maps: [...o.maps].sort() });
    assert.deepEqual(sorted(next.objects), sorted(compileRuleset(two([ep('10.244.1.5')]), table).objects));
  });

  it('moves a Service between spread chains so that a packet walking through the commit still finds rules and an endpoint', () => {
    // nft_do_chain takes a chain's rules from the generation it started in, map lookups the
    // current one: a new chain gets its rules one transaction before any element points at it, and
    // the indexes the old chain could still pick are deleted one transaction after
    const three = compileRuleset(two([ep('10.244.1.5'), ep('10.244.2.7'), ep('10.244.1.9')]), table);
    const down = compileRulesetUpdate(three, two([ep('10.244.1.5'), ep('10.244.2.7')]), table);
    assert.deepEqual(lines(down.prepare), [
      `add table ${T}`,
      `add chain ${T} spread-tcp-2`,
      `add rule ${T} spread-tcp-2 meta l4proto tcp dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends`,
    ]);
    assert.ok(down.text.includes(`add element ${T} service-ips { 10.96.0.20 . tcp . 80 : goto spread-tcp-2 }`));
    assert.ok(down.text.includes(`delete chain ${T} spread-tcp-3`), 'the old chain goes with the element: packets under way keep its rules');
    assert.doesNotMatch(down.text, /backends \{ 10\.96\.0\.20 \. tcp \. 80 \. 2 \}/);
    assert.deepEqual(lines(down.cleanup), [`delete element ${T} backends { 10.96.0.20 . tcp . 80 . 2 }`]);
    const up = compileRulesetUpdate(down, two([ep('10.244.1.5'), ep('10.244.2.7'), ep('10.244.1.9')]), table);
    assert.match(up.prepare, /^add chain inet corelet-test spread-tcp-3$/m);
    assert.equal(up.cleanup, '');
    assert.match(up.text, /^add element inet corelet-test backends \{ .*10\.96\.0\.20 \. tcp \. 80 \. 2 : 10\.244\.2\.7 \. 8080/m);
    // a chain that exists already needs no prepare; a full compile over an empty table neither
    assert.equal(compileRulesetUpdate(up, two([ep('10.244.1.5'), ep('10.244.2.7'), ep('10.244.1.8')]), table).prepare, '');
    assert.equal(three.prepare, '');
    // a full compile over a table holding other chains makes its new ones first
    const full = compileRuleset(two([ep('10.244.1.5')]), table, { chains: ['nat-prerouting', 'services', 'spread-tcp-3'], sets: [], maps: [] });
    assert.match(full.prepare, /^add rule inet corelet-test spread-tcp-1 /m);
    assert.doesNotMatch(full.prepare, /add rule inet corelet-test services /);
  });

  it('gives the same update from a compile used twice (its hairpin counts were taken over by the first update)', () => {
    const first = compileRuleset(two([ep('10.244.1.5'), ep('10.244.2.7')]), table);
    const a = compileRulesetUpdate(first, two([ep('10.244.1.5'), ep('10.244.2.8')]), table);
    compileRulesetUpdate(a, two([ep('10.244.2.7')]), table);
    const again = compileRulesetUpdate(first, two([ep('10.244.2.7')]), table);
    const fresh = compileRulesetUpdate(compileRuleset(two([ep('10.244.1.5'), ep('10.244.2.7')]), table), two([ep('10.244.2.7')]), table);
    assert.equal(again.text, fresh.text);
    assert.match(again.text, /^delete element inet corelet-test hairpin \{ 10\.244\.1\.5 \. 10\.244\.1\.5 \}$/m);
    assert.deepEqual([...again.plan.hairpin].sort(), [...fresh.plan.hairpin].sort());
  });

  it('changes only map elements when an endpoint is replaced (the same count: no rule, no chain)', () => {
    const first = compileRuleset(two([ep('10.244.1.5'), ep('10.244.2.7')]), table);
    const next = compileRulesetUpdate(first, two([ep('10.244.1.5'), ep('10.244.2.8')]), table);
    assert.deepEqual(lines(next.text), [
      `add table ${T}`,
      `delete element ${T} backends { 10.96.0.20 . tcp . 80 . 1 }`,
      `delete element ${T} hairpin { 10.244.2.7 . 10.244.2.7 }`,
      `add element ${T} backends { 10.96.0.20 . tcp . 80 . 1 : 10.244.2.8 . 8080 }`,
      `add element ${T} hairpin { 10.244.2.8 . 10.244.2.8 }`,
    ]);
  });

  it('sees objects the caller changed in place between syncs (nothing is taken on identity alone)', () => {
    const eps = webEndpoints([ep('10.244.1.5'), ep('10.244.2.7')]);
    const svc: ProxyService = { ...web, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] };
    const s = state({ services: [svc], endpoints: [eps] });
    const first = compileRuleset(s, table);
    eps.endpoints[1]!.ip = '10.244.2.8';
    const moved = compileRulesetUpdate(first, s, table);
    assert.ok(moved.text.includes(`add element ${T} backends { 10.96.0.20 . tcp . 80 . 1 : 10.244.2.8 . 8080 }`));
    svc.ports[0]!.port = 8080;
    const port = compileRulesetUpdate(moved, s, table);
    assert.ok(port.text.includes(`add element ${T} service-ips { 10.96.0.20 . tcp . 8080 : goto spread-tcp-2 }`));
    eps.endpoints[0]!.ip = 'bad';
    const bad = compileRulesetUpdate(port, s, table);
    assert.deepEqual(bad.warnings, ['endpoints of default/web left out: endpoints[0].endpoints[0].ip: "bad" is not an IPv4 address']);
  });

  it('moves a Service that lost its last endpoint to the reject map, and back', () => {
    const first = compileRuleset(two([ep('10.244.1.5')]), table);
    const empty = compileRulesetUpdate(first, two([]), table);
    assert.ok(empty.text.includes(`delete element ${T} service-ips { 10.96.0.20 . tcp . 80 }`));
    assert.ok(empty.text.includes(`add element ${T} no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }`));
    assert.ok(!empty.text.includes('delete chain'), 'spread-tcp-1 stays: api uses it');
    assert.ok(!empty.text.includes('api'));
    const back = compileRulesetUpdate(empty, two([ep('10.244.1.6')]), table);
    assert.ok(back.text.includes(`delete element ${T} no-endpoint-services { 10.96.0.20 . tcp . 80 }`));
    assert.ok(back.text.includes(`add element ${T} service-ips { 10.96.0.20 . tcp . 80 : goto spread-tcp-1 }`));
  });

  it('removes a deleted Service\'s ClusterIP from cluster-ips', () => {
    const first = compileRuleset(two([ep('10.244.1.5')]), table);
    const next = compileRulesetUpdate(first, state({ services: [web], endpoints: [webEndpoints([ep('10.244.1.5')])] }), table);
    assert.ok(next.text.includes(`delete element ${T} cluster-ips { 10.96.0.21 }`));
    assert.ok(next.text.includes(`delete element ${T} service-ips { 10.96.0.21 . tcp . 80 }`));
    assert.equal(next.cleanup, `delete element ${T} backends { 10.96.0.21 . tcp . 80 . 0 }\n`);
    assert.ok(!next.text.includes('default/web'));
  });

  it('replaces everything when the node addresses or the cluster CIDR change', () => {
    const first = compileRuleset(two([ep('10.244.1.5')]), table);
    for (const change of [{ nodeAddresses: ['192.168.56.12'] }, { clusterCIDR: '10.244.0.0/16' }]) {
      const next = compileRulesetUpdate(first, two([ep('10.244.1.5')], change), table);
      assert.equal(next.text, compileRuleset(two([ep('10.244.1.5')], change), table, first.objects).text);
    }
  });
});
