/**
 * The service proxy's ruleset compiler (pure): a ProxyState in, the text of ONE `nft -f`
 * transaction out, which replaces everything in the proxy's table atomically, as kube-proxy's
 * nftables mode does (semantics read from kubernetes/pkg/proxy/nftables; no code taken).
 *
 * The table (names as in the rules):
 *   nat-prerouting / nat-output (nat, dstnat)  → jump services
 *   services: ip daddr . meta l4proto . th dport vmap @service-ips           (ClusterIP → service-…)
 *             ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports (NodePort → external-…)
 *   external-NS/NAME/PROTO/PORT: mark for masquerade, goto service-…  (NodePort traffic from outside)
 *   service-NS/NAME/PROTO/PORT: [from outside the cluster CIDR: mark]; [affinity: a client in
 *             @affinity-… goes back to its endpoint]; numgen random mod N vmap { i : goto endpoint-… }
 *   endpoint-NS/NAME/PROTO/PORT__IP/PORT: [the endpoint itself as client (hairpin): mark];
 *             [affinity: update @affinity-… { ip saddr }]; dnat to IP:PORT
 *   filter-input / filter-forward / filter-output (filter, -10): ct state new jump endpoints-check
 *   endpoints-check: Services without endpoints (@no-endpoint-services, @no-endpoint-nodeports) and
 *             unknown ports of a ClusterIP (@cluster-ips) go to reject-chain: TCP gets a reset (the
 *             client sees "connection refused" at once), the rest ICMP port unreachable. Unlike
 *             kube-proxy's plain `reject` (ICMP for TCP too), the reset is not subject to the kernel's
 *             ICMP rate limit (net.ipv4.icmp_ratelimit: ~6 at once, then 1/s per client), which made
 *             a client opening several connections to a Service without endpoints wait for SYN
 *             retransmits (seen in the netns test: 3 of 10 connections timed out after 5 s)
 *   nat-postrouting (nat, srcnat) → masquerading: marked packets are masqueraded (mark cleared)
 *
 * The transaction: `add table`; `add` every chain, set and map it needs (idempotent); `flush` every
 * chain and map (and the node-ips / cluster-ips sets), including those of the previous sync that
 * are no longer wanted (`existing`), which are then deleted; then every rule and element again.
 * nft applies it all or nothing, so traffic never sees a table without rules. The affinity sets are
 * never flushed: a client keeps its endpoint across syncs while that endpoint stays.
 */
import {
  MASQUERADE_MARK,
  normalizeIPv4Cidr,
  servicePortKey,
  usedEndpoints,
  validateNodeAddresses,
  validateProxyEndpoints,
  validateProxyService,
  validateProxyTable,
  type ProxyEndpoint,
  type ProxyService,
  type ProxyServicePort,
  type ProxyState,
  type ProxyTable,
} from './model.js';

/** The named objects of the table (what a sync made; what the next sync must flush or delete). */
export interface TableObjects {
  chains: string[];
  sets: string[];
  maps: string[];
}

export const EMPTY_TABLE_OBJECTS: TableObjects = { chains: [], sets: [], maps: [] };

/** One service port as the rules see it: its Service, its port, the endpoints that get traffic. */
export interface ResolvedServicePort {
  service: ProxyService;
  port: ProxyServicePort;
  /** ns/name/proto/port-name-or-number: the suffix of its chain names. */
  key: string;
  endpoints: ProxyEndpoint[];
}

export interface ResolvedState {
  ports: ResolvedServicePort[];
  nodeAddresses: string[];
  clusterCIDR?: string;
  /** Services and endpoint lists left out, each with the reason (a bad field, a taken IP/port). */
  warnings: string[];
}

export interface CompiledRuleset {
  /** The `nft -f` input. */
  text: string;
  /** What the table holds once it is applied (pass it as `existing` to the next compile). */
  objects: TableObjects;
  warnings: string[];
  /** The validated view the rules were made from (for the stale UDP conntrack entries). */
  resolved: ResolvedState;
}

const BASE_CHAINS: readonly { name: string; type: 'nat' | 'filter'; hook: string; priority: string }[] = [
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: '-100' },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: '-10' },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: '-10' },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: '-10' },
];

const FIXED_CHAINS = ['services', 'endpoints-check', 'mark-for-masquerade', 'masquerading', 'reject-chain'];
const FIXED_SETS: Record<string, string> = { 'cluster-ips': 'ipv4_addr', 'node-ips': 'ipv4_addr' };
const FIXED_MAPS: Record<string, string> = {
  'service-ips': 'ipv4_addr . inet_proto . inet_service : verdict',
  'service-nodeports': 'inet_proto . inet_service : verdict',
  'no-endpoint-services': 'ipv4_addr . inet_proto . inet_service : verdict',
  'no-endpoint-nodeports': 'inet_proto . inet_service : verdict',
};

const serviceChain = (key: string) => `service-${key}`;
const externalChain = (key: string) => `external-${key}`;
const endpointChain = (key: string, ep: ProxyEndpoint) => `endpoint-${key}__${ep.ip}/${ep.port}`;
const affinitySet = (key: string, ep: ProxyEndpoint) => `affinity-${key}__${ep.ip}/${ep.port}`;
const proto = (p: ProxyServicePort) => p.protocol.toLowerCase();

/**
 * Validates and joins Services with their endpoints. A bad Service, endpoint list, or a ClusterIP
 * port / NodePort already taken by an earlier Service (by namespace/name order) is left out with a
 * warning, not thrown: one bad object must not stop every other Service's rules. A bad table name,
 * node address or cluster CIDR throws (the caller's configuration).
 */
export function resolveProxyState(state: ProxyState): ResolvedState {
  validateNodeAddresses(state.nodeAddresses);
  const clusterCIDR = state.clusterCIDR === undefined ? undefined : normalizeIPv4Cidr('clusterCIDR', state.clusterCIDR);
  const warnings: string[] = [];
  const endpointsByKey = new Map<string, ProxyEndpoint[]>();
  state.endpoints.forEach((e, i) => {
    try {
      validateProxyEndpoints(e, `endpoints[${i}]`);
    } catch (err) {
      warnings.push(`endpoints of ${e.namespace}/${e.service} left out: ${(err as Error).message}`);
      return;
    }
    const key = servicePortKey(e.namespace, e.service, e.protocol, e.portName);
    endpointsByKey.set(key, [...(endpointsByKey.get(key) ?? []), ...e.endpoints]);
  });
  const indexed = state.services.map((service, i) => ({ service, i }));
  indexed.sort((a, b) => `${a.service.namespace}/${a.service.name}`.localeCompare(`${b.service.namespace}/${b.service.name}`));
  const clusterPorts = new Map<string, string>();
  const nodePorts = new Map<string, string>();
  const ports: ResolvedServicePort[] = [];
  for (const { service, i } of indexed) {
    const at = `services[${i}]`;
    const id = `${service.namespace}/${service.name}`;
    try {
      validateProxyService(service, at);
      service.ports.forEach((p, j) => {
        const cp = `${service.clusterIP}:${p.port}/${p.protocol}`;
        const owner = clusterPorts.get(cp);
        if (owner !== undefined && owner !== id) throw new Error(`${at}.ports[${j}]: ${cp} is already the Service ${owner}'s`);
        if (p.nodePort !== undefined) {
          const np = `${p.nodePort}/${p.protocol}`;
          const npOwner = nodePorts.get(np);
          if (npOwner !== undefined && npOwner !== id) throw new Error(`${at}.ports[${j}].nodePort: ${np} is already the Service ${npOwner}'s`);
        }
      });
    } catch (err) {
      warnings.push(`Service ${id} left out: ${(err as Error).message}`);
      continue;
    }
    for (const p of service.ports) {
      clusterPorts.set(`${service.clusterIP}:${p.port}/${p.protocol}`, id);
      if (p.nodePort !== undefined) nodePorts.set(`${p.nodePort}/${p.protocol}`, id);
      const lookup = servicePortKey(service.namespace, service.name, p.protocol, p.name);
      ports.push({
        service,
        port: p,
        key: servicePortKey(service.namespace, service.name, p.protocol, p.name === '' ? String(p.port) : p.name),
        endpoints: usedEndpoints(endpointsByKey.get(lookup) ?? []),
      });
    }
  }
  const nodeAddresses = [...new Set(state.nodeAddresses)].sort();
  return { ports, nodeAddresses, ...(clusterCIDR === undefined ? {} : { clusterCIDR }), warnings };
}

/** Compiles `state` into one transaction replacing the table's contents; `existing` is what the table holds now. */
export function compileRuleset(state: ProxyState, table: ProxyTable, existing: TableObjects = EMPTY_TABLE_OBJECTS): CompiledRuleset {
  validateProxyTable(table);
  const resolved = resolveProxyState(state);
  const t = `${table.family} ${table.name}`;
  const mark = `0x${MASQUERADE_MARK.toString(16)}`;

  const chainDefs: string[] = [];
  const setDefs: string[] = [];
  const mapDefs: string[] = [];
  const rules: string[] = [];
  const elements: string[] = [];
  const chains: string[] = [];
  const sets: string[] = [];
  const maps: string[] = [];
  const flushedSets: string[] = [];

  const addChain = (name: string, spec?: string) => {
    chains.push(name);
    chainDefs.push(spec === undefined ? `add chain ${t} ${name}` : `add chain ${t} ${name} { ${spec} }`);
  };
  const rule = (chain: string, body: string) => rules.push(`add rule ${t} ${chain} ${body}`);

  for (const c of BASE_CHAINS) addChain(c.name, `type ${c.type} hook ${c.hook} priority ${c.priority} ; policy accept ;`);
  for (const c of FIXED_CHAINS) addChain(c);
  for (const [name, type] of Object.entries(FIXED_SETS)) {
    sets.push(name);
    flushedSets.push(name);
    setDefs.push(`add set ${t} ${name} { type ${type} ; }`);
  }
  for (const [name, type] of Object.entries(FIXED_MAPS)) {
    maps.push(name);
    mapDefs.push(`add map ${t} ${name} { type ${type} ; }`);
  }

  rule('nat-prerouting', 'jump services');
  rule('nat-output', 'jump services');
  rule('nat-postrouting', 'jump masquerading');
  for (const c of ['filter-input', 'filter-forward', 'filter-output']) rule(c, 'ct state new jump endpoints-check');
  rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips');
  rule('services', 'ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports');
  rule('endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  rule('endpoints-check', 'ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports');
  rule('endpoints-check', 'ip daddr @cluster-ips goto reject-chain');
  rule('mark-for-masquerade', `meta mark set meta mark | ${mark}`);
  rule('masquerading', `meta mark & ${mark} == 0 return`);
  rule('masquerading', `meta mark set meta mark ^ ${mark}`);
  rule('masquerading', 'masquerade fully-random');
  rule('reject-chain', 'meta l4proto tcp reject with tcp reset');
  rule('reject-chain', 'reject');

  if (resolved.nodeAddresses.length > 0) elements.push(`add element ${t} node-ips { ${resolved.nodeAddresses.join(', ')} }`);
  const clusterIPs = [...new Set(resolved.ports.map((p) => p.service.clusterIP))].sort();
  if (clusterIPs.length > 0) elements.push(`add element ${t} cluster-ips { ${clusterIPs.join(', ')} }`);

  for (const sp of resolved.ports) {
    const { service, port, key, endpoints } = sp;
    const cip = `${service.clusterIP} . ${proto(port)} . ${port.port}`;
    const np = port.nodePort === undefined ? undefined : `${proto(port)} . ${port.nodePort}`;
    if (endpoints.length === 0) {
      elements.push(`add element ${t} no-endpoint-services { ${cip} : goto reject-chain }`);
      if (np !== undefined) elements.push(`add element ${t} no-endpoint-nodeports { ${np} : goto reject-chain }`);
      continue;
    }
    const svc = serviceChain(key);
    addChain(svc);
    elements.push(`add element ${t} service-ips { ${cip} : goto ${svc} }`);
    if (np !== undefined) {
      const ext = externalChain(key);
      addChain(ext);
      rule(ext, 'jump mark-for-masquerade');
      rule(ext, `goto ${svc}`);
      elements.push(`add element ${t} service-nodeports { ${np} : goto ${ext} }`);
    }
    if (resolved.clusterCIDR !== undefined) {
      rule(svc, `ip daddr ${service.clusterIP} ${proto(port)} dport ${port.port} ip saddr != ${resolved.clusterCIDR} jump mark-for-masquerade`);
    }
    const affinity = service.sessionAffinity;
    if (affinity !== undefined) {
      for (const ep of endpoints) {
        const set = affinitySet(key, ep);
        sets.push(set);
        setDefs.push(`add set ${t} ${set} { type ipv4_addr ; flags dynamic,timeout ; timeout ${affinity.timeoutSeconds}s ; }`);
        rule(svc, `ip saddr @${set} goto ${endpointChain(key, ep)}`);
      }
    }
    const spread = endpoints.map((ep, i) => `${i} : goto ${endpointChain(key, ep)}`).join(', ');
    rule(svc, `numgen random mod ${endpoints.length} vmap { ${spread} }`);
    for (const ep of endpoints) {
      const chain = endpointChain(key, ep);
      addChain(chain);
      rule(chain, `ip saddr ${ep.ip} jump mark-for-masquerade`);
      if (affinity !== undefined) rule(chain, `update @${affinitySet(key, ep)} { ip saddr }`);
      rule(chain, `meta l4proto ${proto(port)} dnat ip to ${ep.ip}:${ep.port}`);
    }
  }

  const wanted = { chains: new Set(chains), sets: new Set(sets), maps: new Set(maps) };
  const staleChains = existing.chains.filter((c) => !wanted.chains.has(c));
  const staleSets = existing.sets.filter((s) => !wanted.sets.has(s));
  const staleMaps = existing.maps.filter((m) => !wanted.maps.has(m));
  const lines = [
    `add table ${t}`,
    ...setDefs,
    ...mapDefs,
    ...chainDefs,
    ...[...chains, ...staleChains].map((c) => `flush chain ${t} ${c}`),
    ...[...maps, ...staleMaps].map((m) => `flush map ${t} ${m}`),
    ...flushedSets.map((s) => `flush set ${t} ${s}`),
    ...staleChains.map((c) => `delete chain ${t} ${c}`),
    ...staleMaps.map((m) => `delete map ${t} ${m}`),
    ...staleSets.map((s) => `delete set ${t} ${s}`),
    ...rules,
    ...elements,
  ];
  return { text: `${lines.join('\n')}\n`, objects: { chains, sets, maps }, warnings: resolved.warnings, resolved };
}

/** One transaction that removes the table whether or not it exists (`add` first, so `delete` cannot fail on a missing table). */
export function deleteTableText(table: ProxyTable): string {
  validateProxyTable(table);
  return `add table ${table.family} ${table.name}\ndelete table ${table.family} ${table.name}\n`;
}
