import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServicesMessage } from '../../../src/api/index.js';
import { msg, service, slice } from './services-fixtures.js';
import { ServiceCache, applyToDnsView, proxyState } from '../../../src/agent/services/index.js';
import { MemoryServiceView } from '../../../src/agent/dns/index.js';

const NODE = { nodeAddresses: ['10.81.0.11'], clusterCIDR: '10.244.0.0/16' };
const state = (c: ServiceCache) => proxyState(c.allServices(), c.allSlices(), NODE);

test('a reset snapshot replaces the cache; deltas apply deletions, then changes', () => {
  const c = new ServiceCache();
  const b1 = c.receive(msg({ reset: true, services: [service('api'), service('old', { clusterIP: '10.96.0.51' })], endpointSlices: [slice('api', [['a1', '10.244.1.5', true]]), slice('old', [])] }));
  assert.equal(b1?.generation, 1);
  assert.deepEqual(state(c).services.map((s) => s.name).sort(), ['api', 'old']);

  // a new snapshot without "old": it is gone, and reported so
  const b2 = c.receive(msg({ reset: true, services: [service('api')], endpointSlices: [slice('api', [['a1', '10.244.1.5', true]])] }));
  assert.deepEqual(b2?.changes.filter((ch) => ch.object === undefined).map((ch) => `${ch.kind}/${ch.name}`).sort(), ['EndpointSlice/old-abc', 'Service/old']);
  assert.deepEqual(state(c).services.map((s) => s.name), ['api']);

  // a delta deleting and re-creating in one batch: the deletion goes first, the object stays
  c.receive(msg({ deleted: [{ kind: 'Service', namespace: 'default', name: 'api' }], services: [service('api', { clusterIP: '10.96.0.52' })] }));
  assert.equal(state(c).services[0]?.clusterIP, '10.96.0.52');
  c.receive(msg({ deleted: [{ kind: 'EndpointSlice', namespace: 'default', name: 'api-abc' }] }));
  assert.deepEqual(state(c).endpoints, []);
  assert.equal(c.generation, 4);
});

test('a batch split with more: true is applied only when its last message arrives', () => {
  const c = new ServiceCache();
  c.receive(msg({ reset: true, services: [service('keep')] }));
  assert.equal(c.receive(msg({ reset: true, more: true, services: [service('keep'), service('a', { clusterIP: '10.96.0.60' })] })), undefined);
  // nothing of the half snapshot is visible, nothing of the old one is gone yet
  assert.deepEqual(state(c).services.map((s) => s.name), ['keep']);
  assert.equal(c.receive(msg({ more: true, services: [service('b', { clusterIP: '10.96.0.61' })] })), undefined);
  const done = c.receive(msg({ services: [service('c', { clusterIP: '10.96.0.62' })] }));
  assert.equal(done?.reset, true);
  assert.deepEqual(state(c).services.map((s) => s.name).sort(), ['a', 'b', 'c', 'keep']);
  assert.equal(c.generation, 2);

  // a half delta dropped by a disconnect is never applied; a later one starts afresh
  c.receive(msg({ more: true, deleted: [{ kind: 'Service', namespace: 'default', name: 'a' }] }));
  c.dropPending();
  c.receive(msg({ services: [service('d', { clusterIP: '10.96.0.63' })] }));
  assert.deepEqual(state(c).services.map((s) => s.name).sort(), ['a', 'b', 'c', 'd', 'keep']);
});

test('the proxy state: headless Services left out, ports and affinity mapped, one entry per slice port', () => {
  const c = new ServiceCache();
  c.receive(
    msg({
      reset: true,
      services: [
        service('web', { type: 'NodePort', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 }, { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
        service('kv', { clusterIP: 'None', ports: [] }),
        service('plain', { clusterIP: '10.96.0.70', ports: [{ protocol: 'TCP', port: 5432, targetPort: 5432 }] }),
      ],
      endpointSlices: [
        slice('web', [['w1', '10.244.1.2', true], ['w2', '10.244.2.2', false, true]], [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }]),
        slice('plain', [['p1', '10.244.1.9', true]], [{ name: '', protocol: 'TCP', port: 5432 }]),
      ],
    }),
  );
  const s = state(c);
  assert.deepEqual(s.nodeAddresses, ['10.81.0.11']);
  assert.equal(s.clusterCIDR, '10.244.0.0/16');
  assert.deepEqual(s.services.find((x) => x.name === 'web'), {
    namespace: 'default',
    name: 'web',
    clusterIP: '10.96.0.50',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }],
    sessionAffinity: { timeoutSeconds: 600 },
  });
  assert.deepEqual(s.services.find((x) => x.name === 'plain')?.ports, [{ name: '', port: 5432, protocol: 'TCP' }]);
  assert.equal(s.services.find((x) => x.name === 'kv'), undefined);
  assert.deepEqual(s.endpoints.find((e) => e.service === 'web' && e.protocol === 'UDP'), {
    namespace: 'default',
    service: 'web',
    portName: 'dns',
    protocol: 'UDP',
    endpoints: [
      { ip: '10.244.1.2', port: 5353, ready: true, serving: true, terminating: false },
      { ip: '10.244.2.2', port: 5353, ready: false, serving: true, terminating: true },
    ],
  });
});

test('the DNS view follows the batches: ready endpoints, headless Services, hostnames, deletes and resets', () => {
  const c = new ServiceCache();
  const view = new MemoryServiceView();
  const feed = (m: ServicesMessage) => {
    const b = c.receive(m);
    if (b) applyToDnsView(view, b.changes);
  };
  const kvSlice = slice('kv', [['kv-0', '10.244.1.3', true], ['kv-1', '10.244.2.3', false]], [{ name: 'db', protocol: 'TCP', port: 7000 }]);
  kvSlice.endpoints[0]!.hostname = 'kv-0';
  feed(msg({ reset: true, services: [service('api'), service('kv', { clusterIP: 'None', ports: [{ name: 'db', protocol: 'TCP', port: 7000, targetPort: 7000 }] })], endpointSlices: [slice('api', [['a1', '10.244.1.5', true]]), kvSlice] }));
  assert.equal(view.service('default', 'api')?.clusterIP, '10.96.0.50');
  const kv = view.service('default', 'kv');
  assert.equal(kv?.clusterIP, null);
  // only the ready endpoint is published, with its hostname and its slice's named port
  assert.deepEqual(kv?.endpoints, [{ ip: '10.244.1.3', hostname: 'kv-0', ports: [{ name: 'db', port: 7000, protocol: 'TCP' }] }]);

  feed(msg({ deleted: [{ kind: 'Service', namespace: 'default', name: 'api' }, { kind: 'EndpointSlice', namespace: 'default', name: 'api-abc' }] }));
  assert.equal(view.service('default', 'api'), undefined);
  assert.equal(view.reverse('10.244.1.5').length, 0);

  // a snapshot without kv removes it from DNS too
  feed(msg({ reset: true, services: [service('api')] }));
  assert.equal(view.service('default', 'kv'), undefined);
  assert.equal(view.service('default', 'api')?.clusterIP, '10.96.0.50');
});

test('isActiveEndpoint: ready and not terminating in some slice', () => {
  const c = new ServiceCache();
  c.receive(msg({ reset: true, endpointSlices: [slice('api', [['a1', '10.244.1.5', true], ['a2', '10.244.1.6', false, true], ['a3', '10.244.1.7', false]])] }));
  assert.equal(c.isActiveEndpoint('pod-a1'), true);
  assert.equal(c.isActiveEndpoint('pod-a2'), false);
  assert.equal(c.isActiveEndpoint('pod-a3'), false);
  assert.equal(c.isActiveEndpoint('pod-nope'), false);
});

test("a Service claiming this node's cluster DNS address or a node address gets no rules (it would capture the node's own traffic)", () => {
  const c = new ServiceCache();
  c.receive(msg({ reset: true, services: [service('api'), service('dns', { clusterIP: '10.96.0.10' }), service('node', { clusterIP: '10.81.0.11' })] }));
  assert.deepEqual(proxyState(c.allServices(), c.allSlices(), { ...NODE, clusterDNS: '10.96.0.10' }).services.map((s) => s.name), ['api']);
});

test('a batch that overflows is dropped whole: its later parts count for nothing until the next snapshot', () => {
  const c = new ServiceCache(2);
  c.receive(msg({ reset: true, services: [service('keep')] }));
  assert.equal(c.receive(msg({ reset: true, more: true, services: [service('a', { clusterIP: '10.96.0.60' })] })), undefined);
  assert.throws(() => c.receive(msg({ more: true, services: [service('b', { clusterIP: '10.96.0.61' }), service('c', { clusterIP: '10.96.0.62' })] })), /a batch of more than 2 objects never ended/);
  // the last part of that batch is not applied as a delta
  assert.equal(c.receive(msg({ services: [service('d', { clusterIP: '10.96.0.63' })] })), undefined);
  assert.deepEqual(state(c).services.map((s) => s.name), ['keep']);
  // the snapshot the agent asked for is
  assert.equal(c.receive(msg({ reset: true, services: [service('e', { clusterIP: '10.96.0.64' })] }))?.reset, true);
  assert.deepEqual(state(c).services.map((s) => s.name), ['e']);
});
