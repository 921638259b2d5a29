/**
 * The cluster zone's answers (pure: a question and a ServiceView in, records out), with the Kubernetes
 * DNS specification's names as CoreDNS's kubernetes plugin serves them:
 *
 *   <svc>.<ns>.svc.<zone>                  A/AAAA: the ClusterIP; headless: every ready endpoint's IP
 *   <ep>.<svc>.<ns>.svc.<zone>             A/AAAA: the endpoint whose hostname (or dashed IP) is <ep>
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV: per named port (headless: per endpoint, its port)
 *   <reversed ip>.in-addr.arpa             PTR: cluster IPs → the Service, endpoint IPs → <ep>.<svc>...
 *
 * A name under the zone that holds no record and has none below it is NXDOMAIN; a name that exists
 * (or has names below it, as `<ns>.svc.<zone>` and `_tcp.<svc>...`) but not the asked type is NODATA
 * (NOERROR, no answer, the SOA in authority for negative caching).
 */
import { isIP } from 'node:net';
import type { Answer, RecordType } from 'dns-packet';
import { endpointLabel, type DnsEndpoint, type DnsService, type ServiceView } from './service-view.js';

/** TTL of cluster records and of negative answers (CoreDNS's kubernetes plugin default). */
export const CLUSTER_TTL = 5;

/** What the cluster zone says about a question, or that it is not the zone's (forward it). */
export type ClusterAnswer =
  | { readonly kind: 'forward' }
  | {
      readonly kind: 'answer';
      readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'NOTIMP';
      readonly answers: Answer[];
      readonly authorities: Answer[];
      readonly additionals: Answer[];
    };

const FORWARD: ClusterAnswer = { kind: 'forward' };

/** Lower-cased, without a trailing dot. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The IPv4 address of a `d.c.b.a.in-addr.arpa` name, or undefined. */
export function reverseIPv4(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const ip = [m[4], m[3], m[2], m[1]].map((s) => String(Number(s))).join('.');
  return isIP(ip) === 4 ? ip : undefined;
}

/** Answers `name`/`type` (class IN) from the view, for a zone such as `cluster.local`. */
export function clusterAnswer(view: ServiceView, zone: string, rawName: string, type: RecordType | string): ClusterAnswer {
  const name = canonicalName(rawName);
  if (type === 'PTR' && name.endsWith('.in-addr.arpa')) return ptrAnswer(view, zone, name, rawName);
  if (name !== zone && !name.endsWith(`.${zone}`)) return FORWARD;

  const soa = soaRecord(zone);
  const nxdomain = (): ClusterAnswer => ({ kind: 'answer', rcode: 'NXDOMAIN', answers: [], authorities: [soa], additionals: [] });
  const nodata = (): ClusterAnswer => ({ kind: 'answer', rcode: 'NOERROR', answers: [], authorities: [soa], additionals: [] });
  const ok = (answers: Answer[], additionals: Answer[] = []): ClusterAnswer =>
    answers.length === 0 ? nodata() : { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals };

  const labels = name === zone ? [] : name.slice(0, -(zone.length + 1)).split('.');
  // The zone apex: SOA and NS.
  if (labels.length === 0) {
    if (type === 'SOA') return ok([{ ...soa, name: rawName }]);
    if (type === 'NS') return ok([{ type: 'NS', name: rawName, ttl: CLUSTER_TTL, data: `ns.dns.${zone}` }]);
    return nodata();
  }
  const n = labels.length;
  if (labels[n - 1] !== 'svc') return nxdomain();
  if (n === 1) return nodata(); // svc.<zone>: names exist below it
  const namespace = labels[n - 2];
  if (n === 2) return view.hasNamespace(namespace) ? nodata() : nxdomain();
  const svc = view.service(namespace, labels[n - 3]);
  if (!svc) return nxdomain();
  const svcName = `${svc.name}.${svc.namespace}.svc.${zone}`;

  if (n === 3) {
    // <svc>.<ns>.svc.<zone>
    const ips = svc.clusterIP !== null ? [svc.clusterIP] : svc.endpoints.map((ep) => ep.ip);
    if (ips.length === 0) return nxdomain(); // a headless Service without ready endpoints has no record
    if (type === 'A' || type === 'AAAA' || type === 'ANY') return ok(addressRecords(rawName, ips, type));
    if (type === 'SRV') {
      const { answers, additionals } = srvRecords(svc, svcName, () => true, rawName);
      return ok(answers, additionals);
    }
    return nodata();
  }
  if (n === 4) {
    const first = labels[0];
    if (first.startsWith('_')) {
      // _<proto>.<svc>...: an empty non-terminal when some named port has that protocol.
      const has = namedPorts(svc).some((p) => `_${p.protocol.toLowerCase()}` === first);
      return has ? nodata() : nxdomain();
    }
    // <ep>.<svc>.<ns>.svc.<zone>
    const ep = svc.endpoints.find((e) => endpointLabel(e) === first);
    if (!ep) return nxdomain();
    if (type === 'A' || type === 'AAAA' || type === 'ANY') return ok(addressRecords(rawName, [ep.ip], type));
    return nodata();
  }
  if (n === 5 && labels[0].startsWith('_') && labels[1].startsWith('_')) {
    // _<port>._<proto>.<svc>.<ns>.svc.<zone>
    const portName = labels[0].slice(1);
    const proto = labels[1].slice(1);
    const match = (p: { name?: string; protocol: string }) => p.name === portName && p.protocol.toLowerCase() === proto;
    if (!svc.ports.some(match)) return nxdomain();
    if (type !== 'SRV' && type !== 'ANY') return nodata();
    const { answers, additionals } = srvRecords(svc, svcName, match, rawName);
    return ok(answers, additionals);
  }
  return nxdomain();
}

function namedPorts(svc: DnsService) {
  return svc.ports.filter((p) => p.name);
}

function addressRecords(name: string, ips: readonly string[], type: string): Answer[] {
  const out: Answer[] = [];
  for (const ip of ips) {
    const family = isIP(ip);
    if (family === 4 && (type === 'A' || type === 'ANY')) out.push({ type: 'A', name, ttl: CLUSTER_TTL, data: ip });
    if (family === 6 && (type === 'AAAA' || type === 'ANY')) out.push({ type: 'AAAA', name, ttl: CLUSTER_TTL, data: ip });
  }
  return out;
}

/**
 * SRV records of the Service's named ports that `match`: a ClusterIP Service answers one record per
 * port pointing at the Service name; a headless one one record per ready endpoint, with the
 * endpoint's port and name. The targets' addresses go in the additional section.
 */
function srvRecords(
  svc: DnsService,
  svcName: string,
  match: (p: { name?: string; protocol: string }) => boolean,
  ownerName: string,
): { answers: Answer[]; additionals: Answer[] } {
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const ports = namedPorts(svc).filter(match);
  if (ports.length === 0) return { answers, additionals };
  if (svc.clusterIP !== null) {
    for (const p of ports) {
      answers.push({ type: 'SRV', name: srvOwner(ownerName, p), ttl: CLUSTER_TTL, data: { priority: 0, weight: 100, port: p.port, target: svcName } });
    }
    additionals.push(...addressRecords(svcName, [svc.clusterIP], 'ANY'));
    return { answers, additionals };
  }
  const weight = Math.max(1, Math.floor(100 / Math.max(1, svc.endpoints.length)));
  const targets = new Set<DnsEndpoint>();
  for (const p of ports) {
    for (const ep of svc.endpoints) {
      const epPort = ep.ports.find((q) => q.name === p.name && q.protocol === p.protocol);
      if (!epPort) continue;
      const target = `${endpointLabel(ep)}.${svcName}`;
      answers.push({ type: 'SRV', name: srvOwner(ownerName, p), ttl: CLUSTER_TTL, data: { priority: 0, weight, port: epPort.port, target } });
      targets.add(ep);
    }
  }
  for (const ep of targets) additionals.push(...addressRecords(`${endpointLabel(ep)}.${svcName}`, [ep.ip], 'ANY'));
  return { answers, additionals };
}

/** The owner name of an SRV record: the question's name, or `_port._proto.<svc>` for a bare Service SRV query. */
function srvOwner(questionName: string, p: { name?: string; protocol: string }): string {
  return questionName.startsWith('_') ? questionName : `_${p.name}._${p.protocol.toLowerCase()}.${questionName}`;
}

function ptrAnswer(view: ServiceView, zone: string, name: string, rawName: string): ClusterAnswer {
  const ip = reverseIPv4(name);
  const entries = ip ? view.reverse(ip) : [];
  // Reverse names the cluster does not own are the node's resolvers' (CoreDNS's fallthrough).
  if (entries.length === 0) return FORWARD;
  const answers: Answer[] = entries.map((e) => {
    const svcName = `${e.service.name}.${e.service.namespace}.svc.${zone}`;
    return { type: 'PTR', name: rawName, ttl: CLUSTER_TTL, data: e.endpoint ? `${endpointLabel(e.endpoint)}.${svcName}` : svcName };
  });
  return { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals: [] };
}

/** The zone's SOA (CoreDNS's shape: minimum = the negative TTL). */
export function soaRecord(zone: string): Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl: CLUSTER_TTL,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: CLUSTER_TTL },
  };
}
