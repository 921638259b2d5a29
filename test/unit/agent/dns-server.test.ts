/**
 * The node's cluster DNS server, asked with real DNS queries over UDP and TCP on 127.0.0.1 high ports,
 * answering from a fake ServiceView and forwarding to a fake upstream resolver (also a real server).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { MemoryServiceView, startDnsServer, type RunningDnsServer, type ServiceView } from '../../../src/agent/dns/index.js';
import { plainQueryHash } from '../../../src/agent/dns/dns-server.js';
import { frame, query, type Decoded, resolve, startFakeUpstream, tcpExchange, tcpQuery, udpExchange, udpQuery, type FakeUpstream } from './dns-helpers.js';

const ZONE = 'cluster.local';

function seedView(): MemoryServiceView {
  const view = new MemoryServiceView();
  view.setService({
    namespace: 'default',
    name: 'zeus-api',
    clusterIP: '10.96.0.20',
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'metrics', port: 9100, protocol: 'TCP' },
      { port: 81, protocol: 'TCP' },
    ],
  });
  view.setEndpointSlice('default', 'zeus-api', 'zeus-api-abc', [
    { ip: '10.87.1.5', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    { ip: '10.87.2.6', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
  ]);
  view.setService({ namespace: 'default', name: 'kv', clusterIP: null, ports: [{ name: 'peer', port: 7000, protocol: 'TCP' }] });
  view.setEndpointSlice('default', 'kv', 'kv-1', [
    { ip: '10.87.1.10', hostname: 'kv-0', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
    { ip: '10.87.2.11', hostname: 'kv-1', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
    { ip: '10.87.3.12', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
  ]);
  view.setService({ namespace: 'default', name: 'empty-headless', clusterIP: null, ports: [] });
  view.setService({ namespace: 'shop', name: 'many', clusterIP: null, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  view.setEndpointSlice(
    'shop',
    'many',
    'many-1',
    Array.from({ length: 30 }, (_, i) => ({ ip: `10.90.0.${i + 1}`, ports: [{ name: 'dns', port: 5353, protocol: 'UDP' as const }] })),
  );
  view.setService({ namespace: 'shop', name: 'some', clusterIP: null, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  view.setEndpointSlice(
    'shop',
    'some',
    'some-1',
    Array.from({ length: 12 }, (_, i) => ({ ip: `10.91.0.${i + 1}`, ports: [{ name: 'dns', port: 5353, protocol: 'UDP' as const }] })),
  );
  return view;
}

/** The big upstream answer: 40 TXT records of 60 bytes, well over 512. */
const bigTxt: dnsPacket.Answer[] = Array.from({ length: 40 }, (_, i) => ({ type: 'TXT', name: 'big.example.com', ttl: 60, data: `record-${i}-`.padEnd(60, 'x') }));

let dir: string;
let upstream: FakeUpstream;
let server: RunningDnsServer;
let view: MemoryServiceView;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svcdns-'));
  upstream = await startFakeUpstream('127.0.0.1', 0, (q, transport) => {
    if (q.name === 'example.com' && q.type === 'A') return { answers: [{ type: 'A', name: q.name, ttl: 30, data: '192.0.2.7' }] };
    if (q.name === 'big.example.com') return { answers: bigTxt };
    if (q.name === 'tc.example.com') return { tc: transport === 'udp', answers: [{ type: 'A', name: q.name, ttl: 30, data: '192.0.2.8' }] };
    if (q.name === '1.0.0.127.in-addr.arpa') return { answers: [{ type: 'PTR', name: q.name, ttl: 30, data: 'localhost' }] };
    if (q.name === 'slow.example.com') return 'silent';
    return { rcode: 3 };
  });
  await writeFile(join(dir, 'resolv.conf'), '# the node\'s resolvers\nnameserver 127.0.0.1\nsearch example.net\noptions edns0\n');
  view = seedView();
  server = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), upstreamPort: upstream.port, upstreamTimeoutMs: 300 });
});

after(async () => {
  await server?.close();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

const data = (p: Decoded) => (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

describe('cluster DNS: Service records', () => {
  it('answers a ClusterIP Service with its cluster IP, authoritatively, over UDP and TCP', async () => {
    for (const ask of [udpQuery, tcpQuery]) {
      const p = await ask(server.port, query('zeus-api.default.svc.cluster.local', 'A', { id: 777 }));
      assert.equal(p.id, 777);
      assert.equal(p.rcode, 'NOERROR');
      assert.equal(p.flag_aa, true);
      assert.equal(p.flag_rd, true);
      assert.deepEqual(data(p), ['10.96.0.20']);
      assert.equal(p.answers![0].name, 'zeus-api.default.svc.cluster.local');
    }
  });

  it('matches names case-insensitively and echoes the question as asked', async () => {
    const p = await udpQuery(server.port, query('Zeus-API.Default.SVC.cluster.local', 'A'));
    assert.equal(p.questions![0].name, 'Zeus-API.Default.SVC.cluster.local');
    assert.deepEqual(data(p), ['10.96.0.20']);
  });

  it('answers a repeated question with the new query\'s ID, spelling and RD bit, and follows a view change', async () => {
    const first = await udpQuery(server.port, query('web-cache.default.svc.cluster.local', 'A', { id: 1 }));
    assert.equal(first.rcode, 'NXDOMAIN');
    view.setService({ namespace: 'default', name: 'web-cache', clusterIP: '10.96.0.44', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    try {
      const ask = (name: string, id: number) => udpQuery(server.port, query(name, 'A', { id }));
      for (const [name, id] of [['web-cache.default.svc.cluster.local', 2], ['WEB-Cache.default.svc.CLUSTER.local', 3], ['web-cache.default.svc.cluster.local', 4]] as const) {
        const p = await ask(name, id);
        assert.equal(p.id, id);
        assert.equal(p.questions![0].name, name);
        assert.equal(p.rcode, 'NOERROR');
        assert.equal(p.flag_rd, true);
        assert.deepEqual(data(p), ['10.96.0.44']);
      }
      const noRd = dnsPacket.encode({ type: 'query', id: 5, flags: 0, questions: [{ type: 'A', name: 'web-cache.default.svc.cluster.local', class: 'IN' }] });
      const [raw] = await udpExchange(server.port, [noRd]);
      const p = dnsPacket.decode(raw!);
      assert.equal(p.id, 5);
      assert.equal(p.flag_rd, false);
      assert.deepEqual(data(p as Decoded), ['10.96.0.44']);
      view.setService({ namespace: 'default', name: 'web-cache', clusterIP: '10.96.0.45', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
      assert.deepEqual(data(await ask('web-cache.default.svc.cluster.local', 6)), ['10.96.0.45']);
    } finally {
      view.deleteService('default', 'web-cache');
    }
    assert.equal((await udpQuery(server.port, query('web-cache.default.svc.cluster.local', 'A', { id: 7 }))).rcode, 'NXDOMAIN');
  });

  it('answers from its cache byte for byte what the full path answers, and a question that differs in any byte gets its own answer', async () => {
    // The reference: the same server code over the same view, but a view without a generation (no cache).
    const uncachedView: ServiceView = {
      service: (ns, name) => view.service(ns, name),
      hasNamespace: (ns) => view.hasNamespace(ns),
      reverse: (ip) => view.reverse(ip),
    };
    const reference = await startDnsServer({ view: uncachedView, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), upstreamPort: upstream.port, upstreamTimeoutMs: 300 });
    try {
      const plain = (name: string, type: dnsPacket.RecordType, flags = dnsPacket.RECURSION_DESIRED) =>
        dnsPacket.encode({ type: 'query', id: 99, flags, questions: [{ type, name, class: 'IN' }] });
      const patched = (q: Buffer, at: number, bytes: number[]) => {
        const b = Buffer.from(q);
        b.set(bytes, at < 0 ? b.length + at : at);
        return b;
      };
      /** The query with these bytes appended to its OPT record's RDATA (RDLENGTH adjusted). */
      const withOption = (q: Buffer, bytes: number[], rdlength = bytes.length) => {
        const b = Buffer.concat([q, Buffer.from(bytes)]);
        b.writeUInt16BE(rdlength, q.length - 2);
        return b;
      };
      const zeus = plain('zeus-api.default.svc.cluster.local', 'A');
      const zeusEdns = query('zeus-api.default.svc.cluster.local', 'A', { id: 99, edns: 1232 });
      const cachable = [
        zeus,
        plain('ZEUS-api.default.svc.cluster.local', 'A'),
        plain('zeus-api.default.svc.cluster.local', 'AAAA'),
        plain('zeus-api.default.svc.cluster.local', 'SRV'),
        plain('_http._tcp.zeus-api.default.svc.cluster.local', 'SRV'),
        plain('kv.default.svc.cluster.local', 'A', 0),
        plain('many.shop.svc.cluster.local', 'A'), // truncated to 512 bytes
        plain('nope.default.svc.cluster.local', 'A'),
        plain('cluster.local', 'SOA'),
        query('zeus-api.default.svc.cluster.local', 'A', { id: 99, edns: 512 }),
        query('Zeus-API.default.svc.cluster.local', 'A', { id: 99, edns: 4096 }),
        query('many.shop.svc.cluster.local', 'A', { id: 99, edns: 1232 }), // the additionals dropped, not truncated
        withOption(query('zeus-api.default.svc.cluster.local', 'SRV', { id: 99, edns: 1232 }), [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]), // a client cookie
      ];
      // zeus asked each way the fast path must not take: another class (CH, ANY), a byte after the
      // question, EDNS version 1, broken OPT records, two of them, another record, another opcode, a
      // dot inside a label, a compression pointer, a non-ASCII letter, a second question count, an answer count
      const dottedLabel = Buffer.concat([zeus.subarray(0, 12), Buffer.from([16]), Buffer.from('zeus-api.default'), zeus.subarray(12 + 1 + 8 + 1 + 7)]);
      const bent = [
        patched(zeus, -2, [0, 3]),
        patched(zeus, -2, [0, 255]),
        Buffer.concat([zeus, Buffer.from([0])]),
        patched(zeusEdns, -5, [1]), // EDNS version 1
        withOption(zeusEdns, [0, 10, 0, 8, 1, 2, 3, 4], 8), // an option longer than the RDATA
        withOption(zeusEdns, [0, 10, 0, 2, 1, 2], 5), // RDLENGTH past the end
        Buffer.concat([patched(zeusEdns, 10, [0, 2]), zeusEdns.subarray(-11)]), // two OPT records
        patched(zeusEdns, -10, [0, 1]), // an additional record that is not OPT
        patched(zeus, 2, [0x11]), // opcode STATUS, RD
        dottedLabel,
        Buffer.concat([zeus.subarray(0, 12), Buffer.from([0xc0, 12]), zeus.subarray(-4)]),
        patched(zeus, 13, [0xda]),
        patched(zeus, 4, [0, 2]),
        patched(zeus, 6, [0, 1]),
      ];
      for (const q of cachable) assert.ok(plainQueryHash(q) >= 0, 'a plain query');
      assert.equal(plainQueryHash(cachable[1]!), plainQueryHash(zeus), 'the name\'s case does not count');
      for (const q of bent) assert.equal(plainQueryHash(q), -1, 'not a plain query');
      for (const q of cachable) {
        const [want] = await udpExchange(reference.port, [q]);
        for (let i = 0; i < 2; i++) {
          const [got] = await udpExchange(server.port, [q]); // the second time from the cache
          assert.deepEqual(got, want, `${dnsPacket.decode(q).questions![0]!.name} ${dnsPacket.decode(q).questions![0]!.type}`);
        }
      }
      for (const q of bent) {
        const [want] = await udpExchange(reference.port, [q]);
        const [got] = await udpExchange(server.port, [q]);
        assert.deepEqual(got, want);
      }
    } finally {
      await reference.close();
    }
  });

  it('answers a headless Service with every ready endpoint IP', async () => {
    const p = await udpQuery(server.port, query('kv.default.svc.cluster.local', 'A'));
    assert.deepEqual(data(p), ['10.87.1.10', '10.87.2.11', '10.87.3.12']);
  });

  it('answers a StatefulSet pod by hostname through its headless Service, and an endpoint by its dashed IP', async () => {
    const p = await udpQuery(server.port, query('kv-1.kv.default.svc.cluster.local', 'A'));
    assert.deepEqual(data(p), ['10.87.2.11']);
    const dashed = await udpQuery(server.port, query('10-87-3-12.kv.default.svc.cluster.local', 'A'));
    assert.deepEqual(data(dashed), ['10.87.3.12']);
  });

  it('follows the view: a pod recreated with a new IP is answered at its new address', async () => {
    view.setEndpointSlice('default', 'kv', 'kv-1', [
      { ip: '10.87.1.10', hostname: 'kv-0', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
      { ip: '10.87.3.99', hostname: 'kv-1', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
      { ip: '10.87.3.12', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
    ]);
    try {
      assert.deepEqual(data(await udpQuery(server.port, query('kv-1.kv.default.svc.cluster.local', 'A'))), ['10.87.3.99']);
    } finally {
      view.setEndpointSlice('default', 'kv', 'kv-1', [
        { ip: '10.87.1.10', hostname: 'kv-0', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
        { ip: '10.87.2.11', hostname: 'kv-1', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
        { ip: '10.87.3.12', ports: [{ name: 'peer', port: 7001, protocol: 'TCP' }] },
      ]);
    }
  });

  it('answers SRV for a named port of a ClusterIP Service, with the target address as additional data', async () => {
    const p = await udpQuery(server.port, query('_http._tcp.zeus-api.default.svc.cluster.local', 'SRV'));
    assert.equal(p.rcode, 'NOERROR');
    assert.deepEqual(data(p), [{ priority: 0, weight: 100, port: 80, target: 'zeus-api.default.svc.cluster.local' }]);
    assert.deepEqual(
      (p.additionals ?? []).filter((a) => a.type === 'A').map((a) => [a.name, 'data' in a ? a.data : '']),
      [['zeus-api.default.svc.cluster.local', '10.96.0.20']],
    );
  });

  it('answers SRV of a headless Service per endpoint, with the endpoint port and name', async () => {
    const p = await udpQuery(server.port, query('_peer._tcp.kv.default.svc.cluster.local', 'SRV'));
    const srv = data(p) as { port: number; target: string }[];
    assert.deepEqual(
      srv.map((s) => `${s.target}:${s.port}`),
      ['kv-0.kv.default.svc.cluster.local:7001', 'kv-1.kv.default.svc.cluster.local:7001', '10-87-3-12.kv.default.svc.cluster.local:7001'],
    );
    const extra = (p.additionals ?? []).filter((a) => a.type === 'A').map((a) => a.name);
    assert.ok(extra.includes('kv-0.kv.default.svc.cluster.local'));
  });

  it('answers PTR for cluster IPs and endpoint IPs', async () => {
    const svc = await udpQuery(server.port, query('20.0.96.10.in-addr.arpa', 'PTR'));
    assert.deepEqual(data(svc), ['zeus-api.default.svc.cluster.local']);
    const pod = await udpQuery(server.port, query('10.1.87.10.in-addr.arpa', 'PTR'));
    assert.deepEqual(data(pod), ['kv-0.kv.default.svc.cluster.local']);
    const plain = await udpQuery(server.port, query('5.1.87.10.in-addr.arpa', 'PTR'));
    assert.deepEqual(data(plain), ['10-87-1-5.zeus-api.default.svc.cluster.local']);
  });
});

describe('cluster DNS: NXDOMAIN and NODATA', () => {
  const negative = async (name: string, type: dnsPacket.RecordType) => {
    const p = await udpQuery(server.port, query(name, type));
    assert.equal((p.answers ?? []).length, 0, `${name} ${type}: no answer`);
    assert.equal(p.authorities?.[0]?.type, 'SOA', `${name} ${type}: the SOA for negative caching`);
    return p.rcode;
  };

  it('is NXDOMAIN for names under the cluster domain that do not exist', async () => {
    for (const name of [
      'nosuch.default.svc.cluster.local',
      'zeus-api.nosuchns.svc.cluster.local',
      'kv-9.kv.default.svc.cluster.local',
      '_nope._tcp.zeus-api.default.svc.cluster.local',
      '_http._udp.zeus-api.default.svc.cluster.local',
      '_udp.zeus-api.default.svc.cluster.local',
      'x.pod.cluster.local',
      'a.b.c.d.e.f.svc.cluster.local',
      'www.google.com.default.svc.cluster.local',
      'empty-headless.default.svc.cluster.local',
    ]) {
      assert.equal(await negative(name, 'A'), 'NXDOMAIN', name);
    }
  });

  it('is NODATA (NOERROR, no answer) for names that exist without the asked type', async () => {
    assert.equal(await negative('zeus-api.default.svc.cluster.local', 'AAAA'), 'NOERROR');
    assert.equal(await negative('zeus-api.default.svc.cluster.local', 'MX'), 'NOERROR');
    assert.equal(await negative('kv-0.kv.default.svc.cluster.local', 'TXT'), 'NOERROR');
    assert.equal(await negative('_http._tcp.zeus-api.default.svc.cluster.local', 'A'), 'NOERROR');
    assert.equal(await negative('_tcp.zeus-api.default.svc.cluster.local', 'SRV'), 'NOERROR');
    assert.equal(await negative('default.svc.cluster.local', 'A'), 'NOERROR');
    assert.equal(await negative('svc.cluster.local', 'A'), 'NOERROR');
    assert.equal(await negative('cluster.local', 'A'), 'NOERROR');
  });

  it('answers the zone apex SOA', async () => {
    const p = await udpQuery(server.port, query('cluster.local', 'SOA'));
    assert.equal(p.answers?.[0]?.type, 'SOA');
  });
});

describe('cluster DNS: a view not complete yet (a DNS process before its first snapshot)', () => {
  it('answers names under the cluster zone SERVFAIL (no SOA, not authoritative, not cached) and forwards the others', async () => {
    const v = new MemoryServiceView();
    v.setService({ namespace: 'default', name: 'api', clusterIP: '10.96.0.20', ports: [] });
    let ready = false;
    const incomplete = Object.assign(Object.create(v) as MemoryServiceView, { ready: () => ready });
    const s = await startDnsServer({ view: incomplete, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), upstreamPort: upstream.port, upstreamTimeoutMs: 300 });
    try {
      for (const name of ['nosuch.default.svc.cluster.local', 'api.default.svc.cluster.local', 'cluster.local']) {
        const p = await udpQuery(s.port, query(name, 'A'));
        assert.equal(p.rcode, 'SERVFAIL', name);
        assert.equal(p.flag_aa, false, name);
        assert.deepEqual(p.authorities ?? [], [], `${name}: no SOA`);
        assert.equal((await tcpQuery(s.port, query(name, 'A'))).rcode, 'SERVFAIL', `${name} over TCP`);
      }
      assert.deepEqual(data(await udpQuery(s.port, query('example.com', 'A'))), ['192.0.2.7'], 'forwarded at once');
      ready = true;
      assert.equal((await udpQuery(s.port, query('nosuch.default.svc.cluster.local', 'A'))).rcode, 'NXDOMAIN', 'complete: the names it lacks do not exist');
      assert.deepEqual(data(await udpQuery(s.port, query('api.default.svc.cluster.local', 'A'))), ['10.96.0.20'], 'the SERVFAIL was not cached');
    } finally {
      await s.close();
    }
  });
});

describe('cluster DNS: forwarding to the node\'s resolvers', () => {
  it('forwards other names to the resolv.conf\'s nameservers over UDP and TCP, keeping the client\'s ID', async () => {
    const before = upstream.seen.length;
    const u = await udpQuery(server.port, query('example.com', 'A', { id: 1001 }));
    assert.equal(u.id, 1001);
    assert.deepEqual(data(u), ['192.0.2.7']);
    const t = await tcpQuery(server.port, query('example.com', 'A', { id: 1002 }));
    assert.equal(t.id, 1002);
    assert.deepEqual(data(t), ['192.0.2.7']);
    assert.deepEqual(upstream.seen.slice(before).map((s) => s.transport), ['udp', 'tcp']);
    assert.deepEqual(server.upstreams(), [{ host: '127.0.0.1', port: upstream.port }]);
  });

  it('passes the upstream\'s NXDOMAIN through, and forwards PTR of IPs the cluster does not own', async () => {
    const nx = await udpQuery(server.port, query('nosuch.example.org', 'A'));
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.flag_aa, false);
    const ptr = await udpQuery(server.port, query('1.0.0.127.in-addr.arpa', 'PTR'));
    assert.deepEqual(data(ptr), ['localhost']);
  });

  it('truncates an upstream answer larger than 512 bytes over UDP; the client gets it whole over TCP', async () => {
    const before = upstream.seen.length;
    const udp = await udpQuery(server.port, query('big.example.com', 'TXT'));
    assert.equal(udp.flag_tc, true);
    assert.equal((udp.answers ?? []).length, 0);
    const { packet, via } = await resolve(server.port, 'big.example.com', 'TXT');
    assert.equal(via, 'tcp');
    assert.equal(packet.answers?.length, 40);
    assert.ok(upstream.seen.slice(before).some((s) => s.transport === 'tcp' && s.name === 'big.example.com'));
  });

  it('honours the upstream\'s TC bit: the client retries over TCP and gets the answer', async () => {
    const { packet, via } = await resolve(server.port, 'tc.example.com', 'A');
    assert.equal(via, 'tcp');
    assert.deepEqual(data(packet), ['192.0.2.8']);
  });

  it('gives one source a quarter of the pending forwards: beyond it, SERVFAIL at once and nothing forwarded', async () => {
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), upstreamPort: upstream.port, upstreamTimeoutMs: 300, maxPendingForwards: 4 });
    try {
      const before = upstream.seen.filter((q) => q.name === 'slow.example.com').length;
      const replies = await udpExchange(s.port, [query('slow.example.com', 'A', { id: 1 }), query('slow.example.com', 'A', { id: 2 })], 2);
      const decoded = replies.map((r) => dnsPacket.decode(r) as Decoded);
      assert.deepEqual(decoded.map((p) => [p.id, p.rcode]), [[2, 'SERVFAIL'], [1, 'SERVFAIL']], 'the second refused first, the first after its timeout');
      assert.equal(upstream.seen.filter((q) => q.name === 'slow.example.com').length - before, 1);
    } finally {
      await s.close();
    }
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const p = await udpQuery(server.port, query('slow.example.com', 'A'));
    assert.equal(p.rcode, 'SERVFAIL');
  });
});

describe('cluster DNS: truncation of its own answers', () => {
  it('sends a headless Service with 30 endpoints (over 512 bytes) truncated over UDP (512 bytes), whole over TCP', async () => {
    const udp = await udpQuery(server.port, query('many.shop.svc.cluster.local', 'A'));
    assert.equal(udp.flag_tc, true);
    const partial = (udp.answers ?? []).length;
    assert.ok(partial > 0 && partial < 30, `as many whole records as fit in 512 bytes (${partial})`);
    const { packet, via } = await resolve(server.port, 'many.shop.svc.cluster.local', 'A');
    assert.equal(via, 'tcp');
    assert.equal(packet.answers?.length, 30);
  });

  it('fits 12 endpoints (over 512 bytes) in one UDP answer when the client offers an EDNS buffer', async () => {
    const { packet, via } = await resolve(server.port, 'some.shop.svc.cluster.local', 'A', 4096);
    assert.equal(via, 'udp');
    assert.equal(packet.answers?.length, 12);
    const opt = packet.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
    assert.equal(opt?.udpPayloadSize, 1232);
  });

  it('takes a 4096-byte EDNS buffer as its own 1232: 30 endpoints go truncated over UDP (no 4 KiB reflection), whole over TCP', async () => {
    const raw = await udpExchange(server.port, [query('many.shop.svc.cluster.local', 'A', { edns: 4096 })]);
    assert.ok(raw[0]!.length <= 1232, `UDP answer of ${raw[0]!.length} bytes`);
    const udp = dnsPacket.decode(raw[0]!);
    assert.equal(udp.flag_tc, true);
    const { packet, via } = await resolve(server.port, 'many.shop.svc.cluster.local', 'A', 4096);
    assert.equal(via, 'tcp');
    assert.equal(packet.answers?.length, 30);
  });

  it('drops the additional section before truncating an SRV answer', async () => {
    const p = await udpQuery(server.port, query('_dns._udp.some.shop.svc.cluster.local', 'SRV', { edns: 4096 }));
    assert.equal(p.flag_tc, false);
    assert.equal(p.answers?.length, 12);
    assert.deepEqual((p.additionals ?? []).map((a) => a.type), ['OPT']);
  });
});

describe('cluster DNS: malformed input', () => {
  const good = () => query('zeus-api.default.svc.cluster.local', 'A', { id: 9 });

  it('drops datagrams shorter than a header and responses, answering the next query', async () => {
    const response = dnsPacket.encode({ type: 'response', id: 5, questions: [{ type: 'A', name: 'example.com' }] });
    const [reply] = await udpExchange(server.port, [Buffer.from([1, 2, 3]), response, good()]);
    assert.equal(dnsPacket.decode(reply).id, 9);
  });

  it('answers FORMERR to an undecodable query, with its ID', async () => {
    const broken = Buffer.from(query('zeus-api.default.svc.cluster.local', 'A', { id: 31 }).subarray(0, 20));
    const p = await udpQuery(server.port, broken);
    assert.equal(p.id, 31);
    assert.equal(p.rcode, 'FORMERR');
  });

  it('answers FORMERR to two questions, NOTIMP to another opcode, BADVERS to EDNS version 1', async () => {
    const two = dnsPacket.encode({ type: 'query', id: 32, questions: [{ type: 'A', name: 'a.example.com' }, { type: 'A', name: 'b.example.com' }] });
    assert.equal((await udpQuery(server.port, two)).rcode, 'FORMERR');
    const status = Buffer.from(query('example.com', 'A', { id: 33 }));
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2);
    assert.equal((await udpQuery(server.port, status)).rcode, 'NOTIMP');
    const v1 = dnsPacket.encode({
      type: 'query',
      id: 34,
      questions: [{ type: 'A', name: 'example.com' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] }],
    });
    const bad = await udpQuery(server.port, v1);
    const opt = bad.additionals?.find((a) => a.type === 'OPT') as { extendedRcode: number } | undefined;
    assert.equal(opt?.extendedRcode, 1, 'BADVERS is extended RCODE 16: 1 in the OPT record');
  });

  it('survives random corruption of queries (each answered or dropped, then a good query answered)', async () => {
    const base = query('kv-0.kv.default.svc.cluster.local', 'SRV');
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const junk: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + (rand() % 6); k++) b[rand() % b.length] = rand() & 0xff;
      b[2] &= 0x7f; // stay a query so most get an answer
      junk.push(b.subarray(0, 12 + (rand() % (b.length - 11))));
    }
    for (const j of junk) await udpExchange(server.port, [j, good()], 1).catch(() => undefined);
    assert.equal((await udpQuery(server.port, good())).rcode, 'NOERROR');
  });

  it('answers pipelined queries on one TCP connection, and closes a connection whose framing is broken', async () => {
    const { replies } = await tcpExchange(server.port, [frame(query('kv.default.svc.cluster.local', 'A', { id: 1 })), frame(query('example.com', 'A', { id: 2 }))], 2);
    assert.deepEqual(replies.map((r) => dnsPacket.decode(r).id).sort(), [1, 2]);
    const short = Buffer.from([0, 5, 1, 2, 3, 4, 5]);
    const res = await tcpExchange(server.port, [short], 1);
    assert.equal(res.closed, true);
    assert.equal(res.replies.length, 0);
    const formerr = await tcpExchange(server.port, [frame(Buffer.alloc(14, 0xff).fill(0, 0, 4))], 1);
    assert.equal((dnsPacket.decode(formerr.replies[0]) as Decoded).rcode, 'FORMERR');
  });
});

describe('cluster DNS: bounded TCP state', () => {
  it('refuses TCP connections beyond its cap', async () => {
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), maxTcpConnections: 1 });
    const first = net.connect({ host: '127.0.0.1', port: s.port });
    try {
      await new Promise((r) => first.once('connect', r));
      // The second connection is accepted by the kernel and closed by the server at once.
      const second = await tcpExchange(s.port, [frame(query('kv.default.svc.cluster.local', 'A'))], 1);
      assert.equal(second.closed, true);
      assert.equal(second.replies.length, 0);
      first.destroy();
      await new Promise((r) => first.once('close', r));
    } finally {
      first.destroy();
      await s.close();
    }
  });

  it('gives one source a quarter of the TCP connections: another source still connects', async () => {
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), maxTcpConnections: 4 });
    const first = net.connect({ host: '127.0.0.1', port: s.port });
    first.on('error', () => undefined);
    try {
      await new Promise((r) => first.once('connect', r));
      await new Promise((r) => setTimeout(r, 50)); // the server has taken the first one (a bound, not an assertion)
      const again = await tcpExchange(s.port, [frame(query('kv.default.svc.cluster.local', 'A'))], 1, '127.0.0.1');
      assert.equal(again.closed, true);
      assert.equal(again.replies.length, 0);
      // another source (bound to 127.0.0.2) is answered
      const other = net.connect({ host: '127.0.0.1', port: s.port, localAddress: '127.0.0.2' });
      const reply = await new Promise<Buffer>((resolve, reject) => {
        let buf = Buffer.alloc(0);
        other.on('error', reject);
        other.on('connect', () => other.write(frame(query('kv.default.svc.cluster.local', 'A'))));
        other.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(buf.subarray(2));
        });
      });
      other.destroy();
      assert.equal((dnsPacket.decode(reply) as Decoded).rcode, 'NOERROR');
    } finally {
      first.destroy();
      await s.close();
    }
  });

  it('closes a TCP connection that stays idle', async () => {
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), tcpIdleTimeoutMs: 300 });
    try {
      const idle = net.connect({ host: '127.0.0.1', port: s.port });
      idle.on('error', () => undefined);
      await new Promise((r) => idle.once('close', r));
      const next = await tcpExchange(s.port, [frame(query('kv.default.svc.cluster.local', 'A'))], 1);
      assert.equal(next.replies.length, 1);
    } finally {
      await s.close();
    }
  });
});

describe('cluster DNS: upstreams from the resolv.conf', () => {
  it('asks the next nameserver when the first does not answer, and re-reads a changed resolv.conf', async () => {
    const good = await startFakeUpstream('127.0.0.1', 0, (q) => ({ answers: [{ type: 'A', name: q.name, ttl: 1, data: '192.0.2.44' }] }));
    const silent = await startFakeUpstream('127.0.0.2', good.port, () => 'silent');
    const path = join(dir, 'failover.conf');
    await writeFile(path, 'nameserver 127.0.0.2\nnameserver 127.0.0.1\n');
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: path, upstreamPort: good.port, upstreamTimeoutMs: 200 });
    try {
      assert.deepEqual(data(await udpQuery(s.port, query('anything.example', 'A'))), ['192.0.2.44']);
      assert.equal(silent.seen.length, 1);
      await writeFile(path, `nameserver 127.0.0.1\n`);
      await s.reloadUpstreams();
      assert.deepEqual(s.upstreams(), [{ host: '127.0.0.1', port: good.port }]);
    } finally {
      await s.close();
      await silent.close();
      await good.close();
    }
  });

  it('refuses to start without a readable resolv.conf, naming it', async () => {
    await assert.rejects(
      startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'missing.conf') }),
      /resolv\.conf .*missing\.conf/,
    );
  });

  it('never forwards to itself (its own address and port in the resolv.conf is skipped)', async () => {
    const probe = await startFakeUpstream('127.0.0.1', 0, () => 'silent');
    const port = probe.port;
    await probe.close();
    const path = join(dir, 'self.conf');
    await writeFile(path, 'nameserver 127.0.0.1\n');
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port, resolvConfPath: path, upstreamPort: port });
    try {
      assert.deepEqual(s.upstreams(), []);
      assert.equal((await udpQuery(s.port, query('example.com', 'A'))).rcode, 'SERVFAIL');
    } finally {
      await s.close();
    }
  });
});

describe('cluster DNS: sources and ANY (no open resolver, no amplifier)', () => {
  it('answers REFUSED (the question only, no larger than the query) to a source outside the allowed ones over UDP, and closes its TCP connections at once', async () => {
    const s = await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: 0, resolvConfPath: join(dir, 'resolv.conf'), upstreamPort: upstream.port, allowSource: () => false });
    try {
      const before = upstream.seen.length;
      const q = query('example.com', 'A', { id: 77 });
      const [raw] = await udpExchange(s.port, [q]);
      assert.ok(raw!.length <= q.length, `REFUSED of ${raw!.length} bytes for a query of ${q.length}`);
      const p = dnsPacket.decode(raw!) as Decoded;
      assert.equal(p.id, 77);
      assert.equal(p.rcode, 'REFUSED');
      assert.equal((p.answers ?? []).length, 0);
      // a cluster name too (the answer cache is not a way around it)
      assert.equal((await udpQuery(s.port, query('zeus-api.default.svc.cluster.local', 'A'))).rcode, 'REFUSED');
      assert.equal((await udpQuery(s.port, query('zeus-api.default.svc.cluster.local', 'A'))).rcode, 'REFUSED');
      // TCP: no connection slot at all (answering REFUSED would keep it open, and a few refused
      // hosts could hold every slot the pods' TCP retries need)
      const tcp = await tcpExchange(s.port, [frame(query('zeus-api.default.svc.cluster.local', 'A'))]);
      assert.deepEqual({ replies: tcp.replies.length, closed: tcp.closed }, { replies: 0, closed: true });
      assert.equal(upstream.seen.length, before, 'nothing forwarded');
    } finally {
      await s.close();
    }
  });

  it('answers ANY outside the cluster zone with RFC 8482\'s one HINFO record, never forwarding it', async () => {
    const before = upstream.seen.length;
    const p = await udpQuery(server.port, query('example.com', 'ANY' as dnsPacket.RecordType));
    assert.equal(p.rcode, 'NOERROR');
    assert.deepEqual(
      (p.answers ?? []).map((a) => [a.type, (a as { data: { cpu: string } }).data.cpu]),
      [['HINFO', 'RFC8482']],
    );
    assert.equal(upstream.seen.length, before);
  });

  it('answers ANY for a cluster name with its addresses (a subset of its records)', async () => {
    const p = await udpQuery(server.port, query('zeus-api.default.svc.cluster.local', 'ANY' as dnsPacket.RecordType));
    assert.deepEqual((p.answers ?? []).map((a) => a.type), ['A']);
  });
});
