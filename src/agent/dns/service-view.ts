/**
 * What the node's DNS server knows of the cluster: Services and their ready endpoints, as the
 * agent's watch cache sees them. The server reads only the `ServiceView` interface; `MemoryServiceView`
 * is the in-memory implementation the agent feeds from Service and EndpointSlice deltas (one call per
 * object change, never a full list), with the indexes a query needs (by name, by IP) kept on write so a
 * query is a few map lookups.
 */

/** A port of a Service or of an endpoint (an EndpointSlice's port: the pod's resolved targetPort). */
export interface DnsPort {
  /** The port's name; an unnamed port has no SRV record. */
  readonly name?: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A ready endpoint (or any endpoint of a Service with publishNotReadyAddresses). */
export interface DnsEndpoint {
  readonly ip: string;
  /** The pod's hostname when it set one with a subdomain matching the Service (StatefulSet pods). */
  readonly hostname?: string;
  /** The endpoint's ports (its slice's ports): SRV of a headless Service names these. */
  readonly ports: readonly DnsPort[];
}

/** A Service as DNS sees it. */
export interface DnsService {
  readonly namespace: string;
  readonly name: string;
  /** The ClusterIP; null for a headless Service (`clusterIP: None`). */
  readonly clusterIP: string | null;
  readonly ports: readonly DnsPort[];
  /** Ready endpoints, one per IP. */
  readonly endpoints: readonly DnsEndpoint[];
}

/** What an IP is, for PTR: a Service's cluster IP, or an endpoint of a Service. */
export interface DnsReverseEntry {
  readonly service: DnsService;
  /** Set when the IP is this endpoint of the Service (not its cluster IP). */
  readonly endpoint?: DnsEndpoint;
}

/** The read side the DNS server answers from. */
export interface ServiceView {
  /** The Service `name` in `namespace`, or undefined. */
  service(namespace: string, name: string): DnsService | undefined;
  /** True when the namespace is known (it has at least one Service). */
  hasNamespace(namespace: string): boolean;
  /** Services and endpoints holding this IP (cluster IPs first). */
  reverse(ip: string): readonly DnsReverseEntry[];
  /**
   * A number that changes whenever any answer may change (every write). The server caches encoded
   * answers while it stays the same; a view without it gets no answer cache.
   */
  generation?(): number;
  /**
   * False while the view is not yet complete (a node DNS process before its first snapshot): names
   * under the cluster zone then get SERVFAIL (no SOA, not cached), never an authoritative NXDOMAIN
   * that resolvers would cache and apps take as final. Names outside the zone are forwarded as
   * usual. A view without it is always complete.
   */
  ready?(): boolean;
}

/**
 * The DNS label of an endpoint: its hostname, else its IP with dashes (`10-87-0-5`), as CoreDNS names
 * endpoints of headless Services.
 */
export function endpointLabel(ep: DnsEndpoint): string {
  return ep.hostname ?? ep.ip.replaceAll('.', '-').replaceAll(':', '-');
}

/** The Service fields the view keeps (its endpoints come from slices). */
export type DnsServiceSpec = Omit<DnsService, 'endpoints'>;

/** The write side of a view: MemoryServiceView, or the feed to the node's DNS process. */
export interface ServiceViewWriter {
  setService(spec: DnsServiceSpec): void;
  deleteService(namespace: string, name: string): void;
  setEndpointSlice(namespace: string, service: string, slice: string, endpoints: readonly DnsEndpoint[]): void;
  deleteEndpointSlice(namespace: string, slice: string): void;
}

interface Entry {
  spec: DnsServiceSpec | undefined;
  slices: Map<string, readonly DnsEndpoint[]>;
  merged: DnsService | undefined;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * The agent's in-memory view: `setService`/`deleteService` on Service events,
 * `setEndpointSlice`/`deleteEndpointSlice` on EndpointSlice events (slices may come before their
 * Service). Its size is the cluster's Services and endpoints, nothing per query.
 */
export class MemoryServiceView implements ServiceView, ServiceViewWriter {
  private readonly entries = new Map<string, Entry>();
  private readonly sliceOwner = new Map<string, string>();
  private readonly namespaces = new Map<string, number>();
  private readonly byIp = new Map<string, DnsReverseEntry[]>();
  private writes = 0;

  generation(): number {
    return this.writes;
  }

  service(namespace: string, name: string): DnsService | undefined {
    return this.entries.get(key(namespace, name))?.merged;
  }

  hasNamespace(namespace: string): boolean {
    return (this.namespaces.get(namespace) ?? 0) > 0;
  }

  reverse(ip: string): readonly DnsReverseEntry[] {
    return this.byIp.get(ip) ?? [];
  }

  /** Every Service and slice the view holds, as the writes that rebuild it (the DNS process's snapshot). */
  snapshot(): { services: DnsServiceSpec[]; slices: { namespace: string; service: string; slice: string; endpoints: readonly DnsEndpoint[] }[] } {
    const services: DnsServiceSpec[] = [];
    const slices: { namespace: string; service: string; slice: string; endpoints: readonly DnsEndpoint[] }[] = [];
    for (const [k, e] of this.entries) {
      if (e.spec) services.push(e.spec);
      const i = k.indexOf('/');
      const namespace = k.slice(0, i);
      const service = k.slice(i + 1);
      for (const [slice, endpoints] of e.slices) slices.push({ namespace, service, slice, endpoints });
    }
    return { services, slices };
  }

  /** A Service was added or changed. */
  setService(spec: DnsServiceSpec): void {
    this.writes++;
    const e = this.entry(spec.namespace, spec.name);
    e.spec = { namespace: spec.namespace, name: spec.name, clusterIP: spec.clusterIP, ports: [...spec.ports] };
    this.rebuild(e);
  }

  /** A Service was deleted (its slices stay until they are deleted too). */
  deleteService(namespace: string, name: string): void {
    this.writes++;
    const e = this.entries.get(key(namespace, name));
    if (!e) return;
    e.spec = undefined;
    this.rebuild(e);
    if (e.slices.size === 0) this.entries.delete(key(namespace, name));
  }

  /**
   * An EndpointSlice of Service `service` was added or changed; `endpoints` are its ready endpoints
   * (the caller applies readiness and publishNotReadyAddresses), each with the slice's ports.
   */
  setEndpointSlice(namespace: string, service: string, slice: string, endpoints: readonly DnsEndpoint[]): void {
    this.writes++;
    const sliceKey = key(namespace, slice);
    const owner = this.sliceOwner.get(sliceKey);
    if (owner !== undefined && owner !== key(namespace, service)) this.deleteEndpointSlice(namespace, slice);
    this.sliceOwner.set(sliceKey, key(namespace, service));
    const e = this.entry(namespace, service);
    e.slices.set(slice, endpoints.map((ep) => ({ ip: ep.ip, hostname: ep.hostname, ports: [...ep.ports] })));
    this.rebuild(e);
  }

  /** An EndpointSlice was deleted. */
  deleteEndpointSlice(namespace: string, slice: string): void {
    this.writes++;
    const sliceKey = key(namespace, slice);
    const owner = this.sliceOwner.get(sliceKey);
    if (owner === undefined) return;
    this.sliceOwner.delete(sliceKey);
    const e = this.entries.get(owner);
    if (!e) return;
    e.slices.delete(slice);
    this.rebuild(e);
    if (!e.spec && e.slices.size === 0) this.entries.delete(owner);
  }

  private entry(namespace: string, name: string): Entry {
    let e = this.entries.get(key(namespace, name));
    if (!e) {
      e = { spec: undefined, slices: new Map(), merged: undefined };
      this.entries.set(key(namespace, name), e);
    }
    return e;
  }

  /** Recomputes the merged Service of an entry and its indexes (cost: that Service's endpoints). */
  private rebuild(e: Entry): void {
    const old = e.merged;
    if (old) {
      this.unindex(old);
    }
    if (!e.spec) {
      e.merged = undefined;
      return;
    }
    const seen = new Map<string, DnsEndpoint>();
    for (const slice of e.slices.values()) {
      for (const ep of slice) if (!seen.has(ep.ip)) seen.set(ep.ip, ep);
    }
    const merged: DnsService = { ...e.spec, endpoints: [...seen.values()] };
    e.merged = merged;
    this.namespaces.set(merged.namespace, (this.namespaces.get(merged.namespace) ?? 0) + 1);
    if (merged.clusterIP) this.addReverse(merged.clusterIP, { service: merged }, true);
    for (const ep of merged.endpoints) this.addReverse(ep.ip, { service: merged, endpoint: ep }, false);
  }

  private unindex(svc: DnsService): void {
    const n = (this.namespaces.get(svc.namespace) ?? 1) - 1;
    if (n > 0) this.namespaces.set(svc.namespace, n);
    else this.namespaces.delete(svc.namespace);
    const ips = [svc.clusterIP, ...svc.endpoints.map((ep) => ep.ip)];
    for (const ip of ips) {
      if (!ip) continue;
      const list = this.byIp.get(ip)?.filter((r) => r.service !== svc);
      if (list && list.length > 0) this.byIp.set(ip, list);
      else this.byIp.delete(ip);
    }
  }

  private addReverse(ip: string, entry: DnsReverseEntry, first: boolean): void {
    const list = this.byIp.get(ip) ?? [];
    if (first) list.unshift(entry);
    else list.push(entry);
    this.byIp.set(ip, list);
  }
}
