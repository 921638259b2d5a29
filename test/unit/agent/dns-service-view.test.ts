/** The agent's in-memory Service view that the cluster DNS answers from. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryServiceView } from '../../../src/agent/dns/index.js';

const port = { name: 'http', port: 8080, protocol: 'TCP' as const };

describe('MemoryServiceView', () => {
  it('merges the endpoints of a Service\'s slices, one per IP, and indexes them for PTR', () => {
    const v = new MemoryServiceView();
    v.setService({ namespace: 'ns', name: 'web', clusterIP: '10.96.0.5', ports: [port] });
    v.setEndpointSlice('ns', 'web', 'web-a', [{ ip: '10.1.0.1', ports: [port] }]);
    v.setEndpointSlice('ns', 'web', 'web-b', [{ ip: '10.1.0.2', ports: [port] }, { ip: '10.1.0.1', ports: [port] }]);
    assert.deepEqual(v.service('ns', 'web')?.endpoints.map((e) => e.ip), ['10.1.0.1', '10.1.0.2']);
    assert.equal(v.reverse('10.96.0.5')[0].endpoint, undefined);
    assert.equal(v.reverse('10.1.0.2')[0].service.name, 'web');
    assert.ok(v.hasNamespace('ns'));
  });

  it('keeps slices that come before their Service, and forgets everything once both are gone', () => {
    const v = new MemoryServiceView();
    v.setEndpointSlice('ns', 'db', 'db-a', [{ ip: '10.1.0.9', hostname: 'db-0', ports: [] }]);
    assert.equal(v.service('ns', 'db'), undefined);
    assert.equal(v.hasNamespace('ns'), false);
    v.setService({ namespace: 'ns', name: 'db', clusterIP: null, ports: [] });
    assert.deepEqual(v.service('ns', 'db')?.endpoints.map((e) => e.hostname), ['db-0']);
    v.deleteService('ns', 'db');
    assert.equal(v.service('ns', 'db'), undefined);
    assert.deepEqual(v.reverse('10.1.0.9'), []);
    assert.equal(v.hasNamespace('ns'), false);
    v.deleteEndpointSlice('ns', 'db-a');
    v.setService({ namespace: 'ns', name: 'db', clusterIP: null, ports: [] });
    assert.deepEqual(v.service('ns', 'db')?.endpoints, []);
  });

  it('drops a removed endpoint from names and PTR, and moves a slice that changes Service', () => {
    const v = new MemoryServiceView();
    v.setService({ namespace: 'ns', name: 'a', clusterIP: '10.96.0.1', ports: [] });
    v.setService({ namespace: 'ns', name: 'b', clusterIP: '10.96.0.2', ports: [] });
    v.setEndpointSlice('ns', 'a', 's1', [{ ip: '10.1.0.1', ports: [] }]);
    v.setEndpointSlice('ns', 'a', 's1', []);
    assert.deepEqual(v.reverse('10.1.0.1'), []);
    v.setEndpointSlice('ns', 'a', 's1', [{ ip: '10.1.0.3', ports: [] }]);
    v.setEndpointSlice('ns', 'b', 's1', [{ ip: '10.1.0.3', ports: [] }]);
    assert.deepEqual(v.service('ns', 'a')?.endpoints, []);
    assert.deepEqual(v.reverse('10.1.0.3').map((r) => r.service.name), ['b']);
    v.deleteService('ns', 'a');
    v.deleteService('ns', 'b');
    assert.equal(v.hasNamespace('ns'), false);
  });
});
