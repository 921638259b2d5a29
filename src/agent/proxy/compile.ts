/**
 * The service proxy's ruleset compiler (pure): a ProxyState in, the text of ONE `nft -f`
 * transaction out, which replaces everything in the proxy's table atomically, as kube-proxy's
 * nftables mode does (semantics read from kubernetes/pkg/proxy/nftables; no code taken).
 *
 * The table (names as in the rules):
 *   nat-prerouting / nat-output (nat, dstnat)  → jump services
 *   services: ip daddr . meta l4proto . th dport vmap @service-ips           (ClusterIP → spread-…)
 *             ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports (NodePort → nodeport-…)
 *   spread-PROTO-N (shared by every service port with N endpoints): [from outside the cluster CIDR:
 *             mark]; dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod N
 *             map @backends   (@backends: CLUSTERIP . proto . PORT . i → IP . PORT, i = 0..N-1;
 *             UDP ports use @backends-udp / @nodeport-backends-udp: nft 1.0.6 refuses a udp rule
 *             on a map whose typeof says tcp dport)
 *   nodeport-PROTO-N (shared likewise): mark; dnat … to meta l4proto . th dport . numgen random mod N
 *             map @nodeport-backends   (NodePort traffic from outside)
 *             So there is no chain per Service or per endpoint: nft 1.0.6's CLI reads every chain and
 *             set of the ruleset before any `add rule`/`add element`, so what one change costs grows
 *             with them (11,000 chains at 1,000 Services × 10 endpoints: ~1.3 MB read per change); an
 *             endpoint replaced is a few map elements. bench/README.md, "Service proxy".
 *   ClientIP affinity (per Service, as before): service-NS/NAME/PROTO/PORT: [outside the CIDR: mark];
 *             a client in @affinity-… goes back to its endpoint; numgen random mod N vmap { i : goto
 *             endpoint-… }; external-NS/NAME/PROTO/PORT: mark, goto service-…;
 *             endpoint-NS/NAME/PROTO/PORT__IP/PORT: [the endpoint itself as client: mark];
 *             update @affinity-… { ip saddr }; dnat to IP:PORT
 *   filter-input / filter-forward / filter-output (filter, -10): ct state new jump endpoints-check
 *   endpoints-check: Services without endpoints (@no-endpoint-services, @no-endpoint-nodeports) and
 *             unknown ports of a ClusterIP (@cluster-ips) go to reject-chain: TCP gets a reset (the
 *             client sees "connection refused" at once), the rest ICMP port unreachable. Unlike
 *             kube-proxy's plain `reject` (ICMP for TCP too), the reset is not subject to the kernel's
 *             ICMP rate limit (net.ipv4.icmp_ratelimit: ~6 at once, then 1/s per client), which made
 *             a client opening several connections to a Service without endpoints wait for SYN
 *             retransmits (seen in the netns test: 3 of 10 connections timed out after 5 s)
 *   nat-postrouting (nat, srcnat) → masquerading: hairpin (an endpoint reaching itself through a
 *             Service: after DNAT, `ip saddr . ip daddr` is in @hairpin, which holds `IP . IP` of every
 *             endpoint) is marked; marked packets are masqueraded (mark cleared)
 *
 * The transaction: `add table`; `add` every chain, set and map it needs (idempotent); `flush` every
 * chain and map (and the node-ips / cluster-ips / hairpin sets), including those of the previous sync that
 * are no longer wanted (`existing`), which are then deleted; then every rule and element again.
 * nft applies it all or nothing, so traffic never sees a table without rules. The affinity sets are
 * never flushed: a client keeps its endpoint across syncs while that endpoint stays.
 * compileRulesetUpdate makes the smaller transaction from one compile to the next: only the service
 * ports whose rules changed, and of those only the elements and chains that differ.
 *
 * Packets during a commit. A transaction is atomic, but one packet's walk through the hooks is not
 * atomic with respect to it: the kernel (nf_tables_core.c, nft_do_chain) picks a chain's rules by the
 * generation it read when the base chain was entered, while every set or map lookup reads the
 * generation anew (nft_genmask_cur), so a packet walking while the generation flips sees the OLD
 * rules with the NEW set elements (or the old @service-ips element with the new @backends). Two
 * cases lost a connection (ECONNREFUSED, 1 in ~6,000 while syncs alternated a Service between 2 and
 * 3 endpoints under load): (a) a new @service-ips element sent it to spread-tcp-2, a chain created
 * in the same transaction, whose rules in the old generation are none: no DNAT, and endpoints-check
 * rejected the ClusterIP; (b) the old element sent it to spread-tcp-3, whose `numgen mod 3` picked
 * index 2, deleted from @backends in the same transaction: no match, no DNAT, rejected. So a new
 * chain is made (with its rules) by a transaction of its own before the one that refers to it
 * (`prepare`), and the @backends elements of indexes no longer used go in a transaction after it
 * (`cleanup`); every mix of the two generations then finds rules and an endpoint.
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
  type ProxyServicePortEndpoints,
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
  /**
   * A transaction to apply before `text` ('' when none): the chains `text` makes new, with their
   * rules (nothing refers to them yet). See "Packets during a commit" above.
   */
  prepare: string;
  /** The `nft -f` input. */
  text: string;
  /**
   * A transaction to apply after `text` ('' when none): deletes the @backends elements `text`
   * stopped using (an index past a Service's new endpoint count). See "Packets during a commit".
   */
  cleanup: string;
  /** What the table holds once it is applied (pass it as `existing` to the next compile). */
  objects: TableObjects;
  warnings: string[];
  /** The validated view the rules were made from (for the stale UDP conntrack entries). */
  resolved: ResolvedState;
  /** The rules by part, for the next compileRulesetUpdate. */
  plan: RulesetPlan;
}

const BASE_CHAINS: readonly { name: string; type: 'nat' | 'filter'; hook: string; priority: string }[] = [
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: '-100' },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: '-10' },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: '-10' },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: '-10' },
];

const FIXED_SETS: Record<string, string> = { 'cluster-ips': 'ipv4_addr', 'node-ips': 'ipv4_addr', hairpin: 'ipv4_addr . ipv4_addr' };
const FIXED_MAPS: Record<string, string> = {
  'service-ips': 'ipv4_addr . inet_proto . inet_service : verdict',
  'service-nodeports': 'inet_proto . inet_service : verdict',
  'no-endpoint-services': 'ipv4_addr . inet_proto . inet_service : verdict',
  'no-endpoint-nodeports': 'inet_proto . inet_service : verdict',
};
/**
 * The endpoints of every service port by index (numgen picks the index), and of every NodePort.
 * `tcp dport` in the typeof only gives the key its type (inet_service; UDP ports are looked up with
 * `th dport` all the same): nft 1.0.6 refuses its own `th dport` typeof when it reads the map back
 * ("conflicting protocols specified: tcp vs. th") on the next transaction.
 */
const TYPEOF_MAPS: Record<string, string> = {
  backends: 'typeof ip daddr . meta l4proto . tcp dport . numgen random mod 1 : ip daddr . tcp dport',
  'nodeport-backends': 'typeof meta l4proto . tcp dport . numgen random mod 1 : ip daddr . tcp dport',
  // UDP ports have maps of their own: nft 1.0.6 refuses `meta l4proto udp dnat ... map @M` when
  // M's typeof says `tcp dport` ("conflicting protocols specified: udp vs. tcp"), and the whole
  // transaction with it (every Service of the node, then)
  'backends-udp': 'typeof ip daddr . meta l4proto . udp dport . numgen random mod 1 : ip daddr . udp dport',
  'nodeport-backends-udp': 'typeof meta l4proto . udp dport . numgen random mod 1 : ip daddr . udp dport',
};
/** The @backends / @nodeport-backends map of a protocol. */
const backendsMap = (p: string) => (p === 'udp' ? 'backends-udp' : 'backends');
const nodePortBackendsMap = (p: string) => (p === 'udp' ? 'nodeport-backends-udp' : 'nodeport-backends');

const serviceChain = (key: string) => `service-${key}`;
const externalChain = (key: string) => `external-${key}`;
const endpointChain = (key: string, ep: ProxyEndpoint) => `endpoint-${key}__${ep.ip}/${ep.port}`;
const affinitySet = (key: string, ep: ProxyEndpoint) => `affinity-${key}__${ep.ip}/${ep.port}`;
/** The chains shared by every service port (NodePort) of a protocol with N endpoints. */
const spreadChain = (p: string, n: number) => `spread-${p}-${n}`;
const nodePortChain = (p: string, n: number) => `nodeport-${p}-${n}`;
const isSharedChain = (c: string) => c.startsWith('spread-') || c.startsWith('nodeport-');
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
  const entriesByKey = new Map<string, ProxyServicePortEndpoints[]>();
  state.endpoints.forEach((e, i) => {
    try {
      const memo = endpointsMemo.get(e);
      if (memo === undefined || !endpointsMatch(memo.snap, e)) {
        const snap = endpointsSnapshot(e);
        validateProxyEndpoints(e, `endpoints[${i}]`);
        endpointsMemo.set(e, { snap });
      }
    } catch (err) {
      warnings.push(`endpoints of ${e.namespace}/${e.service} left out: ${(err as Error).message}`);
      return;
    }
    const key = servicePortKey(e.namespace, e.service, e.protocol, e.portName);
    const known = entriesByKey.get(key);
    if (known === undefined) entriesByKey.set(key, [e]);
    else known.push(e);
  });
  /** The endpoints that get traffic: remembered with a single list (the usual case), merged afresh for several. */
  const used = (key: string): ProxyEndpoint[] => {
    const entries = entriesByKey.get(key) ?? [];
    if (entries.length === 1) {
      const memo = endpointsMemo.get(entries[0]!)!;
      return (memo.used ??= usedEndpoints(entries[0]!.endpoints));
    }
    return usedEndpoints(entries.flatMap((e) => e.endpoints));
  };
  const indexed = state.services.map((service, i) => ({ service, i }));
  // code-unit order (names are lowercase DNS labels); localeCompare costs far more at 1,000 Services
  indexed.sort((a, b) => compareNames(a.service, b.service));
  const clusterPorts = new Map<string, string>();
  const nodePorts = new Map<string, string>();
  const ports: ResolvedServicePort[] = [];
  for (const { service: given, i } of indexed) {
    const at = `services[${i}]`;
    const id = `${given.namespace}/${given.name}`;
    let service: ProxyService;
    try {
      let memo = serviceMemo.get(given);
      if (memo === undefined || !serviceMatches(memo.snap, given)) {
        const snap = serviceSnapshot(given);
        validateProxyService(given, at);
        memo = { snap, clean: cleanService(given) };
        serviceMemo.set(given, memo);
      }
      service = memo.clean;
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
        endpoints: used(lookup),
      });
    }
  }
  const nodeAddresses = [...new Set(state.nodeAddresses)].sort();
  return { ports, nodeAddresses, ...(clusterCIDR === undefined ? {} : { clusterCIDR }), warnings };
}

/**
 * What validation and the endpoint choice found, remembered per input object (a WeakMap, by
 * identity) with a copy of the fields it was made from: an object passed again with the same values
 * is not validated or sorted again (at 1,000 Services × 10 endpoints that is most of a sync's
 * compile). The fields are compared every time, so an object the caller changed in place is seen.
 * Only objects that passed are remembered (a warning names the object's index, which may move).
 */
interface EndpointsMemo {
  snap: unknown[];
  used?: ProxyEndpoint[];
}
interface ServiceMemo {
  snap: unknown[];
  /** A copy of the validated Service: the rules are made from it, and it stays the same object while the input does. */
  clean: ProxyService;
}
const endpointsMemo = new WeakMap<ProxyServicePortEndpoints, EndpointsMemo>();
const serviceMemo = new WeakMap<ProxyService, ServiceMemo>();

function endpointsSnapshot(e: ProxyServicePortEndpoints): unknown[] {
  const snap: unknown[] = [e.namespace, e.service, e.portName, e.protocol, e.endpoints];
  if (Array.isArray(e.endpoints)) {
    snap.push(e.endpoints.length);
    for (const ep of e.endpoints) snap.push(ep, ep?.ip, ep?.port, ep?.ready, ep?.serving, ep?.terminating);
  }
  return snap;
}

/** endpointsSnapshot(e) equals `snap`, compared as the fields are read (nothing allocated: a sync checks every slice). Same fields, same order. */
function endpointsMatch(snap: readonly unknown[], e: ProxyServicePortEndpoints): boolean {
  let i = 0;
  if (snap[i++] !== e.namespace || snap[i++] !== e.service || snap[i++] !== e.portName || snap[i++] !== e.protocol || snap[i++] !== e.endpoints) return false;
  if (Array.isArray(e.endpoints)) {
    if (snap[i++] !== e.endpoints.length) return false;
    for (const ep of e.endpoints) {
      if (snap[i++] !== ep || snap[i++] !== ep?.ip || snap[i++] !== ep?.port || snap[i++] !== ep?.ready || snap[i++] !== ep?.serving || snap[i++] !== ep?.terminating) return false;
    }
  }
  return i === snap.length;
}

function serviceSnapshot(s: ProxyService): unknown[] {
  const snap: unknown[] = [s.namespace, s.name, s.clusterIP, s.sessionAffinity, s.sessionAffinity?.timeoutSeconds, s.ports];
  if (Array.isArray(s.ports)) {
    snap.push(s.ports.length);
    for (const p of s.ports) snap.push(p, p?.name, p?.port, p?.protocol, p?.nodePort);
  }
  return snap;
}

/** serviceSnapshot(s) equals `snap`, without building it. Same fields, same order. */
function serviceMatches(snap: readonly unknown[], s: ProxyService): boolean {
  let i = 0;
  if (snap[i++] !== s.namespace || snap[i++] !== s.name || snap[i++] !== s.clusterIP || snap[i++] !== s.sessionAffinity || snap[i++] !== s.sessionAffinity?.timeoutSeconds || snap[i++] !== s.ports) return false;
  if (Array.isArray(s.ports)) {
    if (snap[i++] !== s.ports.length) return false;
    for (const p of s.ports) {
      if (snap[i++] !== p || snap[i++] !== p?.name || snap[i++] !== p?.port || snap[i++] !== p?.protocol || snap[i++] !== p?.nodePort) return false;
    }
  }
  return i === snap.length;
}

function cleanService(s: ProxyService): ProxyService {
  return {
    namespace: s.namespace,
    name: s.name,
    clusterIP: s.clusterIP,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }) })),
    ...(s.sessionAffinity === undefined ? {} : { sessionAffinity: { timeoutSeconds: s.sessionAffinity.timeoutSeconds } }),
  };
}

function compareNames(a: ProxyService, b: ProxyService): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A chain, set or map element: `key` alone for a set, `key : value` in a map. */
interface Element {
  target: string;
  key: string;
  value?: string;
}

/**
 * The objects one part of the table owns: the fixed part (hooks, dispatch, masquerade, reject),
 * or one service port (its service/external/endpoint chains, affinity sets and map elements).
 * Chains map to their rules, sets to their definition.
 */
interface Fragment {
  chains: Map<string, string[]>;
  chainSpecs: Map<string, string>;
  sets: Map<string, string>;
  maps: Map<string, string>;
  elements: Element[];
}

const emptyFragment = (): Fragment => ({ chains: new Map(), chainSpecs: new Map(), sets: new Map(), maps: new Map(), elements: [] });

/** A fragment's identity for change detection (Maps keep insertion order, which is deterministic here). */
const fragmentText = (f: Fragment) => JSON.stringify([[...f.chains], [...f.chainSpecs], [...f.sets], [...f.maps], f.elements]);

function fixedFragment(resolved: ResolvedState): Fragment {
  const f = emptyFragment();
  const mark = `0x${MASQUERADE_MARK.toString(16)}`;
  for (const c of BASE_CHAINS) f.chainSpecs.set(c.name, `type ${c.type} hook ${c.hook} priority ${c.priority} ; policy accept ;`);
  const chain = (name: string, rules: string[]) => f.chains.set(name, rules);
  chain('nat-prerouting', ['jump services']);
  chain('nat-output', ['jump services']);
  chain('nat-postrouting', ['jump masquerading']);
  for (const c of ['filter-input', 'filter-forward', 'filter-output']) chain(c, ['ct state new jump endpoints-check']);
  chain('services', ['ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports']);
  chain('endpoints-check', [
    'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    'ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports',
    'ip daddr @cluster-ips goto reject-chain',
  ]);
  chain('mark-for-masquerade', [`meta mark set meta mark | ${mark}`]);
  chain('masquerading', ['ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade', `meta mark & ${mark} == 0 return`, `meta mark set meta mark ^ ${mark}`, 'masquerade fully-random']);
  chain('reject-chain', ['meta l4proto tcp reject with tcp reset', 'reject']);
  for (const [name, type] of Object.entries(FIXED_SETS)) f.sets.set(name, `type ${type} ;`);
  for (const [name, type] of Object.entries(FIXED_MAPS)) f.maps.set(name, `type ${type} ;`);
  for (const [name, spec] of Object.entries(TYPEOF_MAPS)) f.maps.set(name, `${spec} ;`);
  for (const a of resolved.nodeAddresses) f.elements.push({ target: 'node-ips', key: a });
  return f;
}

function servicePortFragment(sp: ResolvedServicePort, clusterCIDR: string | undefined): Fragment {
  const f = emptyFragment();
  const { service, port, key, endpoints } = sp;
  const cip = `${service.clusterIP} . ${proto(port)} . ${port.port}`;
  const np = port.nodePort === undefined ? undefined : `${proto(port)} . ${port.nodePort}`;
  if (endpoints.length === 0) {
    f.elements.push({ target: 'no-endpoint-services', key: cip, value: 'goto reject-chain' });
    if (np !== undefined) f.elements.push({ target: 'no-endpoint-nodeports', key: np, value: 'goto reject-chain' });
    return f;
  }
  const affinity = service.sessionAffinity;
  if (affinity === undefined) {
    // No chain of its own: chains shared by every service port with N endpoints pick an index with
    // numgen and look the endpoint up in @backends (@nodeport-backends) by destination and index.
    // nft 1.0.6's CLI reads every chain and set of the ruleset before any `add rule`/`add element`,
    // so what one change costs grows with their number (bench/README.md, rule sync).
    const n = endpoints.length;
    const spread = spreadChain(proto(port), n);
    f.chains.set(spread, [
      ...(clusterCIDR === undefined ? [] : [`ip saddr != ${clusterCIDR} jump mark-for-masquerade`]),
      `meta l4proto ${proto(port)} dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod ${n} map @${backendsMap(proto(port))}`,
    ]);
    f.elements.push({ target: 'service-ips', key: cip, value: `goto ${spread}` });
    endpoints.forEach((ep, i) => f.elements.push({ target: backendsMap(proto(port)), key: `${cip} . ${i}`, value: `${ep.ip} . ${ep.port}` }));
    if (np !== undefined) {
      const ext = nodePortChain(proto(port), n);
      f.chains.set(ext, [
        'jump mark-for-masquerade',
        `meta l4proto ${proto(port)} dnat ip addr . port to meta l4proto . th dport . numgen random mod ${n} map @${nodePortBackendsMap(proto(port))}`,
      ]);
      f.elements.push({ target: 'service-nodeports', key: np, value: `goto ${ext}` });
      endpoints.forEach((ep, i) => f.elements.push({ target: nodePortBackendsMap(proto(port)), key: `${np} . ${i}`, value: `${ep.ip} . ${ep.port}` }));
    }
    return f;
  }
  const svc = serviceChain(key);
  const svcRules: string[] = [];
  f.chains.set(svc, svcRules);
  f.elements.push({ target: 'service-ips', key: cip, value: `goto ${svc}` });
  if (np !== undefined) {
    const ext = externalChain(key);
    f.chains.set(ext, ['jump mark-for-masquerade', `goto ${svc}`]);
    f.elements.push({ target: 'service-nodeports', key: np, value: `goto ${ext}` });
  }
  if (clusterCIDR !== undefined) {
    svcRules.push(`ip daddr ${service.clusterIP} ${proto(port)} dport ${port.port} ip saddr != ${clusterCIDR} jump mark-for-masquerade`);
  }
  // ClientIP affinity: a chain per endpoint, which updates the endpoint's set of clients
  for (const ep of endpoints) {
    const set = affinitySet(key, ep);
    f.sets.set(set, `type ipv4_addr ; flags dynamic,timeout ; timeout ${affinity.timeoutSeconds}s ;`);
    svcRules.push(`ip saddr @${set} goto ${endpointChain(key, ep)}`);
  }
  const spread = endpoints.map((ep, i) => `${i} : goto ${endpointChain(key, ep)}`).join(', ');
  svcRules.push(`numgen random mod ${endpoints.length} vmap { ${spread} }`);
  for (const ep of endpoints) {
    f.chains.set(endpointChain(key, ep), [
      `ip saddr ${ep.ip} jump mark-for-masquerade`,
      `update @${affinitySet(key, ep)} { ip saddr }`,
      `meta l4proto ${proto(port)} dnat ip to ${ep.ip}:${ep.port}`,
    ]);
  }
  return f;
}

/** One service port's rules; `input` fingerprints what they were made from. */
interface PlannedPart {
  input: string;
  fragment: Fragment;
  text: string;
  /** What it was made from (the memoized objects of resolveProxyState: the same objects while unchanged). */
  from: { service: ProxyService; port: ProxyServicePort; endpoints: ProxyEndpoint[]; clusterCIDR: string | undefined };
  /** Its endpoints' hairpin elements, and the shared chains it uses. */
  hairpin: string[];
  shared: string[];
}

/** The rules of one state, by part: 'fixed' and one per service port key. */
export interface RulesetPlan {
  table: ProxyTable;
  fixed: string;
  parts: Map<string, PlannedPart>;
  clusterIPs: string[];
  /** `IP . IP` of every endpoint that gets traffic (the hairpin set: an endpoint reaching itself through a Service), with the number of service ports using it. */
  hairpin: Map<string, number>;
  /** The shared spread-/nodeport- chains, with the number of service ports using each. */
  shared: Map<string, number>;
  /**
   * Set once the next plan took `hairpin` over (moved, not copied: 10,000 entries at 1,000 × 10,
   * ~3 ms a sync to copy); a plan used again after that counts its parts anew.
   */
  hairpinMoved?: boolean;
}

/** A plan's hairpin counts: its own map, or counted from its parts when a later plan took that over. */
function hairpinCounts(p: RulesetPlan): Map<string, number> {
  if (!p.hairpinMoved) return p.hairpin;
  const m = new Map<string, number>();
  for (const part of p.parts.values()) for (const h of part.hairpin) m.set(h, (m.get(h) ?? 0) + 1);
  return m;
}

/** Plans every part; a part made from the same objects or the same input as in `previous` reuses its fragment (most of them in an update). */
function plan(resolved: ResolvedState, table: ProxyTable, previous?: RulesetPlan): { fixed: Fragment; plan: RulesetPlan; hairpinBefore: Map<string, boolean> } {
  const fixed = fixedFragment(resolved);
  const parts = new Map<string, PlannedPart>();
  const cidr = resolved.clusterCIDR;
  // the ClusterIP list is the previous one while the same parts keep their ClusterIPs (most syncs)
  let sameIPs = previous !== undefined;
  for (const sp of resolved.ports) {
    const { service, port, endpoints } = sp;
    const before = previous?.parts.get(sp.key);
    const f = before?.from;
    if (f !== undefined && f.service === service && f.port === port && f.endpoints === endpoints && f.clusterCIDR === cidr) {
      parts.set(sp.key, before!);
      continue;
    }
    if (f === undefined || f.service.clusterIP !== service.clusterIP) sameIPs = false;
    // what servicePortFragment reads (the endpoints' ip and port only), cheaper than JSON.stringify at 10,000 endpoints
    let input = `${service.clusterIP} ${service.sessionAffinity?.timeoutSeconds ?? ''} ${port.name} ${port.port} ${port.protocol} ${port.nodePort ?? ''} ${cidr ?? ''}`;
    for (const ep of endpoints) input += ` ${ep.ip}:${ep.port}`;
    const from = { service, port, endpoints, clusterCIDR: cidr };
    if (before?.input === input) {
      parts.set(sp.key, { ...before, from });
      continue;
    }
    const fragment = servicePortFragment(sp, cidr);
    const hairpin = endpoints.map((ep) => `${ep.ip} . ${ep.ip}`);
    const shared = [...fragment.chains.keys()].filter(isSharedChain);
    parts.set(sp.key, { input, fragment, text: fragmentText(fragment), from, hairpin, shared });
  }
  const clusterIPs = sameIPs && previous!.parts.size === parts.size ? previous!.clusterIPs : [...new Set(resolved.ports.map((p) => p.service.clusterIP))].sort();
  // reference counts, carried from the previous plan (a copy) and moved by the parts that changed
  // reference counts: the hairpin map is taken over from the previous plan (see hairpinMoved),
  // the small shared-chain map copied
  let hairpin: Map<string, number>;
  if (previous === undefined) hairpin = new Map();
  else if (previous.hairpinMoved) hairpin = hairpinCounts(previous);
  else {
    hairpin = previous.hairpin;
    previous.hairpinMoved = true;
  }
  const shared = new Map(previous?.shared ?? []);
  /** Whether each hairpin key the counts below touch was in the set before (for the update's element lines). */
  const hairpinBefore = new Map<string, boolean>();
  const count = (m: Map<string, number>, keys: readonly string[], by: number) => {
    for (const k of keys) {
      if (m === hairpin && !hairpinBefore.has(k)) hairpinBefore.set(k, m.has(k));
      const n = (m.get(k) ?? 0) + by;
      if (n === 0) m.delete(k);
      else m.set(k, n);
    }
  };
  for (const [key, old] of previous?.parts ?? []) {
    const now = parts.get(key);
    if (now !== undefined && now.text === old.text) continue;
    count(hairpin, old.hairpin, -1);
    count(shared, old.shared, -1);
  }
  for (const [key, now] of parts) {
    const old = previous?.parts.get(key);
    if (old !== undefined && old.text === now.text) continue;
    count(hairpin, now.hairpin, 1);
    count(shared, now.shared, 1);
  }
  // the cluster CIDR is in every service chain: part of the fixed identity, so a change of it resyncs all
  return { fixed, plan: { table, fixed: `${fragmentText(fixed)} ${cidr ?? ''}`, parts, clusterIPs, hairpin, shared }, hairpinBefore };
}

/** Collects what a set of fragments owns, in order. */
function union(fragments: Iterable<Fragment>): Fragment {
  const out = emptyFragment();
  for (const f of fragments) {
    for (const [k, v] of f.chains) out.chains.set(k, v);
    for (const [k, v] of f.chainSpecs) out.chainSpecs.set(k, v);
    for (const [k, v] of f.sets) out.sets.set(k, v);
    for (const [k, v] of f.maps) out.maps.set(k, v);
    out.elements.push(...f.elements);
  }
  return out;
}

function objectsOf(f: Fragment): TableObjects {
  return { chains: [...new Set([...f.chainSpecs.keys(), ...f.chains.keys()])], sets: [...f.sets.keys()], maps: [...f.maps.keys()] };
}

function elementLines(t: string, verb: 'add' | 'delete', elements: readonly Element[]): string[] {
  const byTarget = new Map<string, string[]>();
  for (const e of elements) {
    const item = verb === 'add' && e.value !== undefined ? `${e.key} : ${e.value}` : e.key;
    const items = byTarget.get(e.target);
    if (items === undefined) byTarget.set(e.target, [item]);
    else items.push(item);
  }
  return [...byTarget].map(([target, items]) => `${verb} element ${t} ${target} { ${items.join(', ')} }`);
}

/** The definitions (`add chain|set|map`, idempotent) of what `f` owns. */
function definitionLines(t: string, f: Fragment): string[] {
  return [
    ...[...f.sets].map(([name, spec]) => `add set ${t} ${name} { ${spec} }`),
    ...[...f.maps].map(([name, spec]) => `add map ${t} ${name} { ${spec} }`),
    ...objectsOf(f).chains.map((c) => {
      const spec = f.chainSpecs.get(c);
      return spec === undefined ? `add chain ${t} ${c}` : `add chain ${t} ${c} { ${spec} }`;
    }),
  ];
}

function ruleLines(t: string, f: Fragment): string[] {
  return [...f.chains].flatMap(([chain, rules]) => rules.map((r) => `add rule ${t} ${chain} ${r}`));
}

/** The @backends maps: looked up by the spread-/nodeport- chains' rules. */
const BACKEND_MAPS = new Set(Object.keys(TYPEOF_MAPS));

/**
 * The transaction that makes `chains` (new ones) with their rules before the transaction that
 * refers to them; '' when there are none. The sets they use are defined with them (`add` is
 * idempotent; the main transaction defines and fills them again).
 */
function prepareText(t: string, f: Fragment, chains: readonly string[]): string {
  if (chains.length === 0) return '';
  const only: Fragment = { ...emptyFragment(), sets: f.sets, maps: f.maps, chains: new Map(chains.map((c) => [c, f.chains.get(c) ?? []])) };
  for (const c of chains) {
    const spec = f.chainSpecs.get(c);
    if (spec !== undefined) only.chainSpecs.set(c, spec);
  }
  return `${[`add table ${t}`, ...definitionLines(t, only), ...ruleLines(t, only)].join('\n')}\n`;
}

/** Compiles `state` into one transaction replacing the table's contents; `existing` is what the table holds now. */
export function compileRuleset(state: ProxyState, table: ProxyTable, existing: TableObjects = EMPTY_TABLE_OBJECTS): CompiledRuleset {
  validateProxyTable(table);
  const resolved = resolveProxyState(state);
  const t = `${table.family} ${table.name}`;
  const { fixed, plan: p } = plan(resolved, table);
  const all = union([fixed, ...[...p.parts.values()].map((x) => x.fragment)]);
  const objects = objectsOf(all);
  const wanted = { chains: new Set(objects.chains), sets: new Set(objects.sets), maps: new Set(objects.maps) };
  const staleChains = existing.chains.filter((c) => !wanted.chains.has(c));
  const staleSets = existing.sets.filter((s) => !wanted.sets.has(s));
  const staleMaps = existing.maps.filter((m) => !wanted.maps.has(m));
  const lines = [
    `add table ${t}`,
    ...definitionLines(t, all),
    ...[...objects.chains, ...staleChains].map((c) => `flush chain ${t} ${c}`),
    ...[...objects.maps, ...staleMaps].map((m) => `flush map ${t} ${m}`),
    ...Object.keys(FIXED_SETS).map((s) => `flush set ${t} ${s}`),
    ...staleChains.map((c) => `delete chain ${t} ${c}`),
    ...staleMaps.map((m) => `delete map ${t} ${m}`),
    ...staleSets.map((s) => `delete set ${t} ${s}`),
    ...ruleLines(t, all),
    ...elementLines(t, 'add', [...all.elements, ...p.clusterIPs.map((key) => ({ target: 'cluster-ips', key })), ...[...p.hairpin.keys()].sort().map((key) => ({ target: 'hairpin', key }))]),
  ];
  const had = new Set(existing.chains);
  const prepare = had.size === 0 ? '' : prepareText(t, all, objects.chains.filter((c) => !had.has(c)));
  return { prepare, text: `${lines.join('\n')}\n`, cleanup: '', objects, warnings: resolved.warnings, resolved, plan: p };
}

/**
 * The transaction from `previous` (a compile whose transaction the table holds now) to `state`
 * that touches only the service ports that changed: their chains are flushed and re-added (or
 * deleted), their map elements deleted and re-added, and the ClusterIPs that came or went; the rest
 * of the table is left alone, so one EndpointSlice change costs the same whatever the cluster's
 * size. Empty text when nothing changed. A change of the fixed part (node addresses, cluster CIDR)
 * or of the table gives the full transaction.
 */
export function compileRulesetUpdate(previous: CompiledRuleset, state: ProxyState, table: ProxyTable): CompiledRuleset {
  validateProxyTable(table);
  const before = previous.plan;
  const resolved = resolveProxyState(state);
  const { plan: p, hairpinBefore } = plan(resolved, table, before);
  if (before.fixed !== p.fixed || before.table.family !== table.family || before.table.name !== table.name) {
    return compileRuleset(state, table, previous.objects);
  }
  const t = `${table.family} ${table.name}`;
  const oldParts: Fragment[] = [];
  const newParts: Fragment[] = [];
  const hairpinTouched = new Set<string>();
  for (const key of new Set([...before.parts.keys(), ...p.parts.keys()])) {
    const o = before.parts.get(key);
    const n = p.parts.get(key);
    if (o?.text === n?.text) continue;
    if (o !== undefined) oldParts.push(o.fragment);
    if (n !== undefined) newParts.push(n.fragment);
    for (const h of [...(o?.hairpin ?? []), ...(n?.hairpin ?? [])]) hairpinTouched.add(h);
  }
  const oldU = union(oldParts);
  const newU = union(newParts);
  const oldIPs = new Set(before.clusterIPs);
  const newIPs = new Set(p.clusterIPs);
  const goneIPs = before.clusterIPs.filter((ip) => !newIPs.has(ip));
  const cameIPs = p.clusterIPs.filter((ip) => !oldIPs.has(ip));
  const touched = [...hairpinTouched].sort();
  const wasThere = (h: string) => hairpinBefore.get(h) ?? p.hairpin.has(h);
  const goneHairpin = touched.filter((h) => wasThere(h) && !p.hairpin.has(h)).map((key) => ({ target: 'hairpin', key }));
  const cameHairpin = touched.filter((h) => !wasThere(h) && p.hairpin.has(h)).map((key) => ({ target: 'hairpin', key }));
  // an element that stays as it was (a Service whose rules changed but not its verdict) is left alone
  const elementId = (e: Element) => `${e.target} ${e.key} ${e.value ?? ''}`;
  const oldIds = new Set(oldU.elements.map(elementId));
  const newIds = new Set(newU.elements.map(elementId));
  const removed = oldU.elements.filter((e) => !newIds.has(elementId(e)));
  const newElements = newU.elements.filter((e) => !oldIds.has(elementId(e)));
  // a @backends key deleted and not added again (an index past the new endpoint count) is deleted
  // by the cleanup transaction, after this one: rules of the old generation may still look it up
  const keyId = (e: Element) => `${e.target} ${e.key}`;
  const addedKeys = new Set(newElements.map(keyId));
  const later = (e: Element) => BACKEND_MAPS.has(e.target) && !addedKeys.has(keyId(e));
  const oldElements = removed.filter((e) => !later(e));
  const cleanupElements = removed.filter(later);
  const keepSets = new Set(newU.sets.keys());
  const keepChains = new Set([...newU.chains.keys()]);
  // a shared chain goes when no service port uses it any more
  const staleChains = [...oldU.chains.keys()].filter((c) => !keepChains.has(c) && !p.shared.has(c));
  const staleSets = [...oldU.sets.keys()].filter((s) => !keepSets.has(s));
  // chains that already hold their rules are left alone: a shared chain that existed (its rules
  // depend only on its name and the cluster CIDR), or a chain whose rules did not change
  const sameRules = (a: string[] | undefined, b: string[] | undefined) => a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
  const unchanged = (c: string) => (isSharedChain(c) && before.shared.has(c)) || sameRules(oldU.chains.get(c), newU.chains.get(c));
  const changed: Fragment = { ...newU, chains: new Map([...newU.chains].filter(([c]) => !unchanged(c))) };
  const lines = [
    ...definitionLines(t, changed),
    ...[...new Set([...changed.chains.keys(), ...staleChains])].map((c) => `flush chain ${t} ${c}`),
    ...elementLines(t, 'delete', [...oldElements, ...goneIPs.map((key) => ({ target: 'cluster-ips', key })), ...goneHairpin]),
    ...staleChains.map((c) => `delete chain ${t} ${c}`),
    ...staleSets.map((s) => `delete set ${t} ${s}`),
    ...ruleLines(t, changed),
    ...elementLines(t, 'add', [...newElements, ...cameIPs.map((key) => ({ target: 'cluster-ips', key })), ...cameHairpin]),
  ];
  // what the table holds now: the previous objects minus the deleted, plus the new (not a union of every part)
  const staleChainSet = new Set(staleChains);
  const staleSetSet = new Set(staleSets);
  const newObjects = objectsOf(newU);
  const objects: TableObjects = {
    chains: [...new Set([...previous.objects.chains.filter((c) => !staleChainSet.has(c)), ...newObjects.chains])],
    sets: [...new Set([...previous.objects.sets.filter((x) => !staleSetSet.has(x)), ...newObjects.sets])],
    maps: previous.objects.maps,
  };
  const had = new Set(previous.objects.chains);
  const cleanup = cleanupElements.length === 0 ? '' : `${elementLines(t, 'delete', cleanupElements).join('\n')}\n`;
  return {
    prepare: prepareText(t, changed, [...changed.chains.keys()].filter((c) => !had.has(c))),
    text: lines.length === 0 ? '' : `add table ${t}\n${lines.join('\n')}\n`,
    cleanup,
    objects,
    warnings: resolved.warnings,
    resolved,
    plan: p,
  };
}

/** One transaction that removes the table whether or not it exists (`add` first, so `delete` cannot fail on a missing table). */
export function deleteTableText(table: ProxyTable): string {
  validateProxyTable(table);
  return `add table ${table.family} ${table.name}\ndelete table ${table.family} ${table.name}\n`;
}
