/**
 * The endpoints controller: which pods a Service's EndpointSlices hold and with which conditions and
 * ports (table-driven over pod and node states), and what it writes to the store (one slice per port
 * set, nothing when nothing changed, slices gone with their Service).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObjects, type EndpointSlice, type Pod, type Service } from '../../../src/api/index.js';
import { desiredEndpointSlices, reconcileAll, reconcileServiceEndpoints } from '../../../src/scheduler/controllers/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { addNode, setNodeReady } from './controllers-helpers.js';

type Json = Record<string, any>;

function serviceOf(spec: Json, name = 'web'): Service {
  const [obj] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec }), 'svc.yaml').objects;
  return obj as unknown as Service;
}

const WEB = serviceOf({ selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 9000, targetPort: 9001 }] });

interface PodState {
  ip?: string;
  ready?: boolean;
  phase?: Pod['status'] extends infer S ? (S extends { phase: infer P } ? P : never) : never;
  deleting?: boolean;
  node?: string;
  httpPort?: number;
  hostname?: string;
  subdomain?: string;
}

function podOf(name: string, s: PodState = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, annotations: {}, ...(s.deleting ? { deletionTimestamp: '2026-01-01T00:00:30Z' } : {}) },
    spec: {
      nodeName: s.node ?? 'n1',
      ...(s.hostname ? { hostname: s.hostname } : {}),
      ...(s.subdomain ? { subdomain: s.subdomain } : {}),
      containers: [{ name: 'c', image: 'web', ports: s.httpPort === undefined ? [] : [{ name: 'http', containerPort: s.httpPort, protocol: 'TCP' }] }],
    } as unknown as Pod['spec'],
    status: {
      phase: s.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True' }],
      ...(s.ip === '' ? {} : { podIP: s.ip ?? '10.244.1.2' }),
      initContainerStatuses: [],
      containerStatuses: [],
    },
  };
}

describe('endpoints controller: endpoints of pods', () => {
  const readyNodes = (n: string) => n !== 'down';
  const cases: { name: string; pod: PodState; svc?: Service; want: Json | undefined }[] = [
    { name: 'a Ready pod is ready and serving', pod: { httpPort: 8080 }, want: { ready: true, serving: true, terminating: false } },
    { name: 'a pod failing readiness is neither', pod: { ready: false, httpPort: 8080 }, want: { ready: false, serving: false, terminating: false } },
    { name: 'a terminating Ready pod is serving, not ready', pod: { deleting: true, httpPort: 8080 }, want: { ready: false, serving: true, terminating: true } },
    { name: 'a Ready pod on a NotReady node is neither', pod: { node: 'down', httpPort: 8080 }, want: { ready: false, serving: false, terminating: false } },
    { name: 'a pod without an IP is left out', pod: { ip: '' }, want: undefined },
    { name: 'a Succeeded pod is left out', pod: { phase: 'Succeeded' }, want: undefined },
    { name: 'a Failed pod is left out', pod: { phase: 'Failed' }, want: undefined },
    {
      name: 'publishNotReadyAddresses makes a not-ready pod ready',
      pod: { ready: false, httpPort: 8080 },
      svc: serviceOf({ clusterIP: 'None', selector: { app: 'web' }, publishNotReadyAddresses: true }),
      want: { ready: true, serving: false, terminating: false },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const slices = desiredEndpointSlices(c.svc ?? WEB, [podOf('p1', c.pod)], readyNodes);
      assert.equal(slices.length, 1);
      if (c.want === undefined) {
        assert.deepEqual(slices[0]!.endpoints, [], 'no endpoint: the placeholder slice only');
        assert.deepEqual(slices[0]!.ports, []);
        return;
      }
      assert.deepEqual(slices[0]!.endpoints, [
        { addresses: ['10.244.1.2'], conditions: c.want, targetRef: { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'uid-p1' }, nodeName: c.pod.node ?? 'n1' },
      ]);
    });
  }

  it('resolves a named targetPort per pod: pods that disagree get a slice each, a pod without the name lacks the port', () => {
    const slices = desiredEndpointSlices(WEB, [podOf('a', { ip: '10.0.0.1', httpPort: 8080 }), podOf('b', { ip: '10.0.0.2', httpPort: 8080 }), podOf('c', { ip: '10.0.0.3', httpPort: 8081 }), podOf('d', { ip: '10.0.0.4' })], readyNodes);
    const byAddresses = Object.fromEntries(slices.map((s) => [s.endpoints.map((e) => e.addresses[0]).join(','), s.ports]));
    assert.deepEqual(byAddresses, {
      '10.0.0.1,10.0.0.2': [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'admin', protocol: 'TCP', port: 9001 }],
      '10.0.0.3': [{ name: 'http', protocol: 'TCP', port: 8081 }, { name: 'admin', protocol: 'TCP', port: 9001 }],
      '10.0.0.4': [{ name: 'admin', protocol: 'TCP', port: 9001 }],
    });
    for (const s of slices) {
      assert.match(s.metadata.name, /^web-[0-9a-f]{8}$/);
      assert.equal(s.metadata.labels['kubernetes.io/service-name'], 'web');
      assert.deepEqual(s.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web', controller: true }]);
    }
  });

  it('gives a pod with hostname and subdomain = the Service its hostname (StatefulSet DNS names)', () => {
    const kv = serviceOf({ clusterIP: 'None', selector: { app: 'web' } }, 'kv');
    const [slice] = desiredEndpointSlices(kv, [podOf('kv-0', { hostname: 'kv-0', subdomain: 'kv' }), podOf('other', { ip: '10.0.0.9', hostname: 'x', subdomain: 'elsewhere' })], readyNodes);
    assert.deepEqual(slice!.endpoints.map((e) => e.hostname), ['kv-0', undefined]);
  });

  it('writes no slice for a Service without a selector', () => {
    assert.deepEqual(desiredEndpointSlices(serviceOf({ ports: [{ port: 80 }] }), [podOf('p')], readyNodes), []);
  });
});

describe('endpoints controller: the store', () => {
  function setup(t: Parameters<typeof tempStore>[0]): Store {
    const { store } = tempStore(t);
    store.create('Namespace', { metadata: { name: 'default', namespace: '' } } as never);
    addNode(store, 'n1');
    addNode(store, 'n2');
    return store;
  }
  const addService = (store: Store, spec: Json, name = 'web') => {
    const [obj] = decodeObjects(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { tier: 'front' } }, spec }), 'svc.yaml').objects;
    return store.create('Service', obj as never);
  };
  const addPod = (store: Store, name: string, s: PodState) => {
    const p = podOf(name, s);
    const { uid: _uid, ...metadata } = p.metadata;
    return store.create('Pod', { ...p, metadata } as never);
  };
  const slices = (store: Store) => store.list<StoredObject & EndpointSlice>('EndpointSlice', { namespace: 'default' });
  const addresses = (store: Store) => slices(store).flatMap((s) => s.endpoints.filter((e) => e.conditions.ready).map((e) => e.addresses[0])).sort();

  it('writes one slice for a Service whose pods agree, and nothing more when nothing changed', (t) => {
    const store = setup(t);
    addService(store, { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    addPod(store, 'a', { ip: '10.244.1.5' });
    addPod(store, 'b', { ip: '10.244.2.5', node: 'n2' });
    assert.deepEqual(reconcileServiceEndpoints(store, 'default', 'web'), { created: 1, updated: 0, deleted: 0 });
    const [slice] = slices(store);
    assert.deepEqual(slice!.metadata.labels, { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.deepEqual(slice!.ports, [{ name: '', protocol: 'TCP', port: 8080 }]);
    assert.deepEqual(addresses(store), ['10.244.1.5', '10.244.2.5']);
    const rv = store.resourceVersion();
    assert.deepEqual(reconcileServiceEndpoints(store, 'default', 'web'), { created: 0, updated: 0, deleted: 0 });
    reconcileAll(store, new Date());
    assert.equal(store.resourceVersion(), rv, 'a second pass writes nothing');
  });

  it('follows readiness, deletion and node readiness', (t) => {
    const store = setup(t);
    addService(store, { selector: { app: 'web' }, ports: [{ port: 80 }] });
    addPod(store, 'a', { ip: '10.244.1.5' });
    addPod(store, 'b', { ip: '10.244.2.5', node: 'n2' });
    reconcileAll(store, new Date());
    store.mutate<Pod>('Pod', 'default', 'a', (p) => {
      p.status!.conditions = [{ type: 'Ready', status: 'False' }];
    });
    reconcileAll(store, new Date());
    assert.deepEqual(addresses(store), ['10.244.2.5']);
    setNodeReady(store, 'n2', false, new Date());
    reconcileAll(store, new Date());
    assert.deepEqual(addresses(store), []);
    setNodeReady(store, 'n2', true, new Date());
    store.mutate<Pod>('Pod', 'default', 'a', (p) => {
      p.status!.conditions = [{ type: 'Ready', status: 'True' }];
    });
    reconcileAll(store, new Date());
    assert.deepEqual(addresses(store), ['10.244.1.5', '10.244.2.5']);
    store.mutate<Pod>('Pod', 'default', 'b', (p) => {
      p.metadata.deletionTimestamp = '2026-01-01T00:00:30Z';
    });
    reconcileAll(store, new Date());
    assert.deepEqual(addresses(store), ['10.244.1.5']);
    assert.deepEqual(slices(store)[0]!.endpoints.find((e) => e.targetRef.name === 'b')!.conditions, { ready: false, serving: true, terminating: true });
    store.delete('Pod', 'default', 'b');
    reconcileAll(store, new Date());
    assert.deepEqual(slices(store)[0]!.endpoints.map((e) => e.targetRef.name), ['a']);
  });

  it('deletes the slices of a deleted Service, of one whose selector is removed, and leaves slices it does not manage', (t) => {
    const store = setup(t);
    addService(store, { selector: { app: 'web' }, ports: [{ port: 80 }] });
    addService(store, { selector: { app: 'web' }, ports: [{ port: 81 }] }, 'other');
    addPod(store, 'a', { ip: '10.244.1.5' });
    const [manual] = decodeObjects(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'external', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['192.0.2.1'] }], ports: [{ port: 80 }] }), 'x').objects;
    store.create('EndpointSlice', manual as never);
    reconcileAll(store, new Date());
    assert.deepEqual(slices(store).map((s) => s.metadata.labels['kubernetes.io/service-name']).sort(), ['other', 'web', 'web']);
    store.delete('Service', 'default', 'web');
    reconcileAll(store, new Date());
    assert.deepEqual(slices(store).map((s) => s.metadata.name).sort(), ['external', slices(store).find((s) => s.metadata.name.startsWith('other-'))!.metadata.name].sort());
    store.mutate<Service>('Service', 'default', 'other', (s) => {
      delete s.spec.selector;
    });
    reconcileAll(store, new Date());
    assert.deepEqual(slices(store).map((s) => s.metadata.name), ['external']);
  });

  it('keeps an empty slice for a Service without endpoints, replaced when the first pod is Ready', (t) => {
    const store = setup(t);
    addService(store, { selector: { app: 'web' }, ports: [{ port: 80 }] });
    reconcileAll(store, new Date());
    const [empty] = slices(store);
    assert.deepEqual([empty!.endpoints, empty!.ports], [[], []]);
    addPod(store, 'a', { ip: '10.244.1.5' });
    reconcileAll(store, new Date());
    assert.equal(slices(store).length, 1);
    assert.deepEqual(addresses(store), ['10.244.1.5']);
  });
});
