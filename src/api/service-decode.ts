/**
 * Decoding and validation of Service (v1) and EndpointSlice (discovery.k8s.io/v1) documents, as the
 * API server checks them (the parts that need no cluster state: the range of the service CIDR and
 * which IPs and node ports are free are the scheduler's allocator's, when the object is written).
 * Every problem names its field; unknown fields become warnings.
 */
import { isIPv4 } from 'node:net';
import { ipInCidr, SPECIAL_IPV4_RANGES } from '../lib/index.js';
import { FieldReader, compact, describeValue, fieldPath as at, indexPath as idx, isMapping } from './field-reader.js';
import { checkDnsLabel, checkPortName } from './names.js';
import { checkFormat, decodeLabels, decodeMeta, item } from './pod-decode.js';
import type { DeclaredMeta } from './pod-types.js';
import {
  CLUSTER_IP_NONE,
  DEFAULT_CLIENT_IP_TIMEOUT_SECONDS,
  MAX_CLIENT_IP_TIMEOUT_SECONDS,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type Service,
  type ServicePort,
  type ServiceProtocol,
  type ServiceSpec,
} from './service-types.js';

const SERVICE_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = [
  'type',
  'selector',
  'ports',
  'clusterIP',
  'clusterIPs',
  'sessionAffinity',
  'sessionAffinityConfig',
  'publishNotReadyAddresses',
  // Accepted and ignored: what `kubectl get svc -o yaml` shows of a single-stack cluster.
  'ipFamilies',
  'ipFamilyPolicy',
  'internalTrafficPolicy',
  'externalTrafficPolicy',
];
const PORT_FIELDS = ['name', 'protocol', 'port', 'targetPort', 'nodePort', 'appProtocol'];
const PROTOCOLS: readonly ServiceProtocol[] = ['TCP', 'UDP'];
/**
 * The most ports a Service or an EndpointSlice may have (an EndpointSlice's limit in Kubernetes is
 * 100; corelet holds Services to it too): every node's proxy and DNS carry each of them.
 */
export const MAX_PORTS = 100;
const tooManyPorts = (n: number) => `${n} ports: at most ${MAX_PORTS}`;

const SLICE_FIELDS = ['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports'];
const ENDPOINT_FIELDS = ['addresses', 'conditions', 'hostname', 'nodeName', 'targetRef', 'zone'];

/** A Service as declared (uid, when the manifest has none, comes from the store). */
export type DeclaredService = Omit<Service, 'metadata' | 'status'> & { metadata: DeclaredMeta };
/** An EndpointSlice as declared. */
export type DeclaredEndpointSlice = Omit<EndpointSlice, 'metadata'> & { metadata: DeclaredMeta };

/** Drops the uid decodeMeta derives when the manifest has none: the store assigns it. */
function declaredMeta(r: FieldReader, o: Record<string, unknown>, base: string, source: string): DeclaredMeta {
  const metaPath = at(base, 'metadata');
  if (o.metadata === undefined || o.metadata === null) r.error(metaPath, 'required value');
  const meta = decodeMeta(r, o.metadata, metaPath, source);
  const given = isMapping(o.metadata) && typeof o.metadata.uid === 'string' && o.metadata.uid !== '';
  const { uid, ...rest } = meta;
  return given ? meta : rest;
}

/**
 * Decodes one Service (kind and apiVersion already checked) at path base with the API server's
 * defaults (type ClusterIP, protocol TCP, targetPort = port, sessionAffinity None, ClientIP timeout
 * 10800 s); undefined when it has errors (reported in r). status is dropped.
 */
export function decodeService(r: FieldReader, o: Record<string, unknown>, base: string, source: string): DeclaredService | undefined {
  const before = r.errors.length;
  r.object(o, base, SERVICE_FIELDS);
  const metadata = declaredMeta(r, o, base, source);
  // A Service's name becomes a DNS label (<name>.<ns>.svc): RFC 1035, starting with a letter.
  if (metadata.name) {
    const label = checkDnsLabel(metadata.name);
    if (label !== undefined) r.error(at(at(base, 'metadata'), 'name'), `invalid value ${JSON.stringify(metadata.name)}: a Service name is an RFC 1035 label: ${label}`);
    else if (!/^[a-z]/.test(metadata.name)) r.error(at(at(base, 'metadata'), 'name'), `invalid value ${JSON.stringify(metadata.name)}: a Service name must start with a lowercase letter (an RFC 1035 label)`);
  }
  const specPath = at(base, 'spec');
  const spec = decodeServiceSpec(r, o.spec, specPath);
  if (r.errors.length > before) return undefined;
  return { apiVersion: 'v1', kind: 'Service', metadata, spec };
}

/** A Service's spec at path (validated, defaulted). */
export function decodeServiceSpec(r: FieldReader, v: unknown, path: string): ServiceSpec {
  const s = r.object(v, path, SPEC_FIELDS) ?? {};
  const typePath = at(path, 'type');
  if (s.type === 'LoadBalancer' || s.type === 'ExternalName') r.error(typePath, `unsupported value ${JSON.stringify(s.type)}: corelet serves ClusterIP and NodePort Services (and headless ones, clusterIP: None)`);
  const type = r.oneOf(s.type, typePath, ['ClusterIP', 'NodePort'] as const, 'ClusterIP');

  const ipPath = at(path, 'clusterIP');
  let clusterIP = r.string(s.clusterIP, ipPath) || undefined;
  if (clusterIP !== undefined && clusterIP !== CLUSTER_IP_NONE && !isIPv4(clusterIP)) {
    r.error(ipPath, `invalid value ${JSON.stringify(clusterIP)}: must be "None", empty (allocated) or an IPv4 address from the service range`);
    clusterIP = undefined;
  }
  const ipsPath = at(path, 'clusterIPs');
  const clusterIPs = r.stringList(s.clusterIPs, ipsPath);
  if (clusterIPs && clusterIPs.length > 0) {
    if (clusterIPs.length > 1) r.error(ipsPath, 'may hold at most one address: corelet Services are single-stack IPv4');
    else if (clusterIP === undefined && s.clusterIP === undefined) clusterIP = clusterIPs[0];
    else if (clusterIPs[0] !== clusterIP) r.error(ipsPath, `invalid value ${JSON.stringify(clusterIPs[0])}: must match spec.clusterIP`);
    if (clusterIP !== undefined && clusterIP !== CLUSTER_IP_NONE && !isIPv4(clusterIP)) r.error(idx(ipsPath, 0), `invalid value ${JSON.stringify(clusterIP)}: must be "None" or an IPv4 address`);
  }
  const headless = clusterIP === CLUSTER_IP_NONE;
  if (headless && type === 'NodePort') r.error(ipPath, 'may not be "None" for a NodePort Service (a node port needs a cluster IP)');

  const portsPath = at(path, 'ports');
  const ports = (r.list(s.ports, portsPath) ?? []).map((raw, i) => decodeServicePort(r, raw, idx(portsPath, i), type));
  if (ports.length > MAX_PORTS) r.error(portsPath, tooManyPorts(ports.length));
  if (ports.length === 0 && !headless) r.error(portsPath, 'required value (a Service that is not headless needs at least one port)');
  checkPortSet(r, ports, portsPath);

  const selector = s.selector === undefined || s.selector === null ? undefined : decodeLabels(r, s.selector, at(path, 'selector'));
  const affinityPath = at(path, 'sessionAffinity');
  const sessionAffinity = r.oneOf(s.sessionAffinity, affinityPath, ['None', 'ClientIP'] as const, 'None');
  const configPath = at(path, 'sessionAffinityConfig');
  const config = r.object(s.sessionAffinityConfig, configPath, ['clientIP']);
  let timeoutSeconds = DEFAULT_CLIENT_IP_TIMEOUT_SECONDS;
  if (config) {
    if (sessionAffinity !== 'ClientIP') r.error(configPath, 'may only be set when sessionAffinity is ClientIP');
    const clientIP = r.object(config.clientIP, at(configPath, 'clientIP'), ['timeoutSeconds']) ?? {};
    timeoutSeconds = r.int(clientIP.timeoutSeconds, at(at(configPath, 'clientIP'), 'timeoutSeconds'), 1, MAX_CLIENT_IP_TIMEOUT_SECONDS) ?? DEFAULT_CLIENT_IP_TIMEOUT_SECONDS;
  }
  const publishNotReadyAddresses = r.bool(s.publishNotReadyAddresses, at(path, 'publishNotReadyAddresses')) ?? false;
  return compact({
    type,
    selector: selector && Object.keys(selector).length > 0 ? selector : undefined,
    ports,
    clusterIP,
    clusterIPs: clusterIP !== undefined ? [clusterIP] : undefined,
    sessionAffinity,
    sessionAffinityConfig: sessionAffinity === 'ClientIP' ? { clientIP: { timeoutSeconds } } : undefined,
    publishNotReadyAddresses,
  });
}

function decodeServicePort(r: FieldReader, raw: unknown, path: string, type: ServiceSpec['type']): ServicePort {
  const p = item(r, raw, path, PORT_FIELDS) ?? {};
  const name = r.string(p.name, at(path, 'name')) || undefined;
  checkFormat(r, at(path, 'name'), name, checkDnsLabel);
  const protocol = r.oneOf(p.protocol, at(path, 'protocol'), PROTOCOLS, 'TCP');
  if (p.port === undefined || p.port === null) r.error(at(path, 'port'), 'required value');
  const port = r.int(p.port, at(path, 'port'), 1, 65535) ?? 0;
  const targetPort = decodeTargetPort(r, p.targetPort, at(path, 'targetPort')) ?? port;
  const nodePortPath = at(path, 'nodePort');
  let nodePort = r.int(p.nodePort, nodePortPath, 0, 65535) || undefined;
  if (nodePort !== undefined && type !== 'NodePort') {
    r.error(nodePortPath, `may not be used when type is ${JSON.stringify(type)}`);
    nodePort = undefined;
  }
  return compact({ name, protocol, port, targetPort, nodePort });
}

/** A port number (1..65535), or a container port's name; undefined when absent, 0 or invalid. */
function decodeTargetPort(r: FieldReader, v: unknown, path: string): number | string | undefined {
  if (v === undefined || v === null || v === 0 || v === '') return undefined;
  if (typeof v === 'number' || typeof v === 'bigint') return r.int(v, path, 1, 65535);
  if (typeof v === 'string') {
    // "8080" is a number in a string (IntOrString as YAML often spells it).
    if (/^[0-9]+$/.test(v)) return r.int(Number(v), path, 1, 65535);
    checkFormat(r, path, v, checkPortName);
    return v;
  }
  r.error(path, `expected a port number or a container port's name, got ${describeValue(v)}`);
  return undefined;
}

/** Names required and unique with several ports; (port, protocol) and (nodePort, protocol) unique. */
function checkPortSet(r: FieldReader, ports: readonly ServicePort[], path: string): void {
  const names = new Set<string>();
  const ports_ = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const at_ = idx(path, i);
    if (ports.length > 1 && p.name === undefined) r.error(at(at_, 'name'), 'required value (every port of a Service with several ports needs a name)');
    if (p.name !== undefined) {
      if (names.has(p.name)) r.error(at(at_, 'name'), `duplicate value ${JSON.stringify(p.name)}`);
      names.add(p.name);
    }
    const key = `${p.port}/${p.protocol}`;
    if (p.port > 0 && ports_.has(key)) r.error(at_, `duplicate value: port ${p.port} with protocol ${p.protocol} is already listed`);
    ports_.add(key);
    if (p.nodePort !== undefined) {
      const nk = `${p.nodePort}/${p.protocol}`;
      if (nodePorts.has(nk)) r.error(at(at_, 'nodePort'), `duplicate value ${p.nodePort} (protocol ${p.protocol})`);
      nodePorts.add(nk);
    }
  });
}

/**
 * Decodes one EndpointSlice (kind and apiVersion already checked): addressType IPv4, endpoints with
 * one IPv4 address each, conditions, ports. What a user may write for a Service without a selector;
 * the endpoints controller writes the rest.
 */
export function decodeEndpointSlice(r: FieldReader, o: Record<string, unknown>, base: string, source: string): DeclaredEndpointSlice | undefined {
  const before = r.errors.length;
  r.object(o, base, SLICE_FIELDS);
  const metadata = declaredMeta(r, o, base, source);
  const typePath = at(base, 'addressType');
  if (o.addressType === undefined || o.addressType === null) r.error(typePath, 'required value');
  const addressType = r.oneOf(o.addressType, typePath, ['IPv4'] as const, 'IPv4');
  const endpointsPath = at(base, 'endpoints');
  const endpoints = (r.list(o.endpoints, endpointsPath) ?? []).map((raw, i): Endpoint => {
    const p = idx(endpointsPath, i);
    const e = item(r, raw, p, ENDPOINT_FIELDS) ?? {};
    const addrPath = at(p, 'addresses');
    const addresses = r.stringList(e.addresses, addrPath) ?? [];
    if (addresses.length !== 1) r.error(addrPath, `must hold exactly one address, got ${addresses.length}`);
    addresses.forEach((a, j) => {
      if (!isIPv4(a)) r.error(idx(addrPath, j), `invalid value ${JSON.stringify(a)}: must be an IPv4 address`);
      else {
        // as kube-apiserver's ValidateEndpointIP: every node would send the Service's traffic there
        const special = SPECIAL_IPV4_RANGES.find((c) => ipInCidr(a, c));
        if (special) r.error(idx(addrPath, j), `invalid value ${JSON.stringify(a)}: may not be in the special range ${special} (not a pod's address)`);
      }
    });
    const c = r.object(e.conditions, at(p, 'conditions'), ['ready', 'serving', 'terminating']) ?? {};
    const ready = r.bool(c.ready, at(at(p, 'conditions'), 'ready')) ?? true;
    const conditions = {
      ready,
      serving: r.bool(c.serving, at(at(p, 'conditions'), 'serving')) ?? ready,
      terminating: r.bool(c.terminating, at(at(p, 'conditions'), 'terminating')) ?? false,
    };
    const hostname = r.string(e.hostname, at(p, 'hostname')) || undefined;
    checkFormat(r, at(p, 'hostname'), hostname, checkDnsLabel);
    const nodeName = r.string(e.nodeName, at(p, 'nodeName')) || undefined;
    const refPath = at(p, 'targetRef');
    const ref = r.object(e.targetRef, refPath, ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion']);
    const targetRef = ref && {
      kind: r.oneOf(ref.kind, at(refPath, 'kind'), ['Pod'] as const, 'Pod'),
      namespace: r.string(ref.namespace, at(refPath, 'namespace')) ?? metadata.namespace,
      name: r.requiredString(ref.name, at(refPath, 'name')) ?? '',
      uid: r.string(ref.uid, at(refPath, 'uid')) ?? '',
    };
    return compact({ addresses, conditions, hostname, nodeName, targetRef: targetRef as Endpoint['targetRef'] });
  });
  const portsPath = at(base, 'ports');
  const portList = r.list(o.ports, portsPath) ?? [];
  if (portList.length > MAX_PORTS) r.error(portsPath, tooManyPorts(portList.length));
  const ports = portList.map((raw, i): EndpointPort => {
    const p = idx(portsPath, i);
    const e = item(r, raw, p, ['name', 'protocol', 'port', 'appProtocol']) ?? {};
    const name = r.string(e.name, at(p, 'name')) ?? '';
    checkFormat(r, at(p, 'name'), name || undefined, checkDnsLabel);
    return { name, protocol: r.oneOf(e.protocol, at(p, 'protocol'), PROTOCOLS, 'TCP'), port: requiredPort(r, e.port, at(p, 'port')) };
  });
  if (r.errors.length > before) return undefined;
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata, addressType, endpoints, ports };
}

/**
 * A slice port's number, required here: Kubernetes allows none ("every port"), which no corelet
 * data plane can serve, so it is refused when written rather than left for every node to refuse.
 */
function requiredPort(r: FieldReader, value: unknown, path: string): number {
  if (value === undefined || value === null) {
    r.error(path, 'required value (a port number: corelet does not serve slices without one)');
    return 0;
  }
  return r.int(value, path, 1, 65535) ?? 0;
}
