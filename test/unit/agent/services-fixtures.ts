/** Services, EndpointSlices and `services` messages for the agent's Services tests. */
import type { EndpointSlice, Service, ServicesMessage } from '../../../src/api/index.js';

const meta = (name: string, labels: Record<string, string> = {}, namespace = 'default') => ({ name, namespace, uid: `uid-${namespace}-${name}`, labels, annotations: {} });

export function service(name: string, over: Partial<Service['spec']> = {}, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, {}, namespace),
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], clusterIP: '10.96.0.50', sessionAffinity: 'None', publishNotReadyAddresses: false, ...over },
  };
}

/** A slice of Service svc: endpoints as [pod name, ip, ready, terminating?]. */
export function slice(svc: string, endpoints: [string, string, boolean, boolean?][], ports: EndpointSlice['ports'] = [{ name: 'http', protocol: 'TCP', port: 8080 }], name = `${svc}-abc`): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(name, { 'kubernetes.io/service-name': svc }),
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map(([pod, ip, ready, terminating = false]) => ({
      addresses: [ip],
      conditions: { ready, serving: ready || terminating, terminating },
      nodeName: 'n1',
      targetRef: { kind: 'Pod', namespace: 'default', name: pod, uid: `pod-${pod}` },
    })),
  };
}

export function msg(m: Partial<ServicesMessage>): ServicesMessage {
  return { v: 1, type: 'services', services: [], endpointSlices: [], deleted: [], ...m };
}

