/**
 * Services' cluster IPs and node ports, through the REST API as a user writes Services (apply, POST,
 * PATCH, DELETE): allocated once, kept by updates and across a restart of the store, freed on delete,
 * refused with the field named when taken, out of range, changed or exhausted.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { ServiceAllocator, serviceNetworkConfig } from '../../../src/scheduler/admission/index.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, patch, startApiServer } from './server-helpers.js';

type Json = Record<string, any>;

function svc(name: string, spec: Json, namespace = 'default'): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } });
}

describe('Service cluster IPs and node ports', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  async function setup(t: TestContext, range = '10.96.0.0/12', nodePorts = '30000-32767', store?: Store) {
    const s = store ?? tempStore(t).store;
    const tokens = makeTokens();
    const server = await startApiServer(t, s, pki, tokens.lookup, { services: new ServiceAllocator(serviceNetworkConfig(range, nodePorts)) });
    const apply = (body: string) => api(server, pki, 'POST', '/api/v1/apply', { token: tokens.api, body });
    const get = async (name: string, ns = 'default') => (await api(server, pki, 'GET', `/api/v1/namespaces/${ns}/services/${name}`, { token: tokens.api })).body;
    return { store: s, server, tokens, apply, get };
  }

  it('gives every Service its own cluster IP from the range (never .10, kept for DNS), headless ones none', async (t) => {
    const { apply, get } = await setup(t, '10.96.0.0/28');
    const ips = new Set<string>();
    for (let i = 0; i < 13; i++) {
      const r = await apply(svc(`s${i}`, {}));
      assert.equal(r.status, 200, r.text);
      const ip = (await get(`s${i}`)).spec.clusterIP;
      assert.match(ip, /^10\.96\.0\.([1-9]|1[1-4])$/, `${ip}: in the range, no network, broadcast or DNS address`);
      ips.add(ip);
    }
    assert.equal(ips.size, 13);
    await apply(svc('db', { clusterIP: 'None' }));
    assert.deepEqual((await get('db')).spec.clusterIPs, ['None']);
  });

  it('refuses a new Service once the range is full, naming spec.clusterIP, and a delete frees an address', async (t) => {
    const { apply, get, server, tokens } = await setup(t, '10.96.0.0/29');
    for (let i = 0; i < 6; i++) assert.equal((await apply(svc(`s${i}`, {}))).status, 200);
    const full = await apply(svc('s6', {}));
    assert.equal(full.status, 422);
    assert.equal(full.body.reason, 'Invalid');
    assert.match(full.body.message, /Service "default\/s6": spec\.clusterIP: the service range 10\.96\.0\.0\/29 is full/);
    const freed = (await get('s3')).spec.clusterIP;
    assert.equal((await api(server, pki, 'DELETE', '/api/v1/namespaces/default/services/s3', { token: tokens.api })).status, 200);
    assert.equal((await apply(svc('s6', {}))).status, 200);
    assert.equal((await get('s6')).spec.clusterIP, freed);
  });

  it('gives a requested cluster IP, and refuses one taken, out of range or the DNS address, naming spec.clusterIP', async (t) => {
    const { apply, get } = await setup(t);
    assert.equal((await apply(svc('a', { clusterIP: '10.96.5.5' }))).status, 200);
    assert.equal((await get('a')).spec.clusterIP, '10.96.5.5');
    // Another namespace's Service holds it too: cluster IPs are cluster-wide.
    const taken = await apply(svc('b', { clusterIP: '10.96.5.5' }, 'kube-system'));
    assert.equal(taken.status, 422);
    assert.match(taken.body.message, /Service "kube-system\/b": spec\.clusterIP: invalid value "10\.96\.5\.5": provided IP is already allocated/);
    assert.match((await apply(svc('c', { clusterIP: '10.112.0.1' }))).body.message, /spec\.clusterIP: invalid value "10\.112\.0\.1": not in the service range 10\.96\.0\.0\/12/);
    assert.match((await apply(svc('d', { clusterIP: '10.96.0.10' }))).body.message, /spec\.clusterIP: invalid value "10\.96\.0\.10": kept for the cluster DNS Service/);
    assert.match((await apply(svc('e', { clusterIP: '10.96.0.0' }))).body.message, /spec\.clusterIP: .*network or broadcast/);
  });

  it('keeps the cluster IP when the manifest is applied again without it, and refuses a change of it', async (t) => {
    const { apply, get, server, tokens } = await setup(t);
    await apply(svc('web', {}));
    const ip = (await get('web')).spec.clusterIP;
    const again = await apply(svc('web', { ports: [{ port: 8080 }] }));
    assert.equal(again.status, 200, again.text);
    assert.equal((await get('web')).spec.clusterIP, ip);
    const changed = await apply(svc('web', { clusterIP: '10.96.7.7' }));
    assert.equal(changed.status, 422);
    assert.match(changed.body.message, new RegExp(`spec\\.clusterIP: invalid value "10\\.96\\.7\\.7": field is immutable \\(the Service has ${ip.replace(/\./g, '\\.')}\\)`));
    const patched = await patch(server, pki, '/api/v1/namespaces/default/services/web', tokens.api, { spec: { clusterIP: 'None' } });
    assert.equal(patched.status, 422);
    assert.match(patched.body.message, /spec\.clusterIP: invalid value "None": field is immutable/);
    const headless = await apply(svc('db', { clusterIP: 'None' }));
    assert.equal(headless.status, 200);
    assert.match((await apply(svc('db', { clusterIP: '10.96.9.9' }))).body.message, /spec\.clusterIP: invalid value "10\.96\.9\.9": field is immutable \(the Service has None\)/);
    // Applied again as NodePort without clusterIP: it would keep None, which a NodePort cannot have.
    const nodePort = await apply(svc('db', { type: 'NodePort' }));
    assert.equal(nodePort.status, 422, nodePort.text);
    assert.match(nodePort.body.message, /spec\.clusterIP: may not be "None" for a NodePort Service/);
    assert.equal((await get('db')).spec.type, 'ClusterIP', 'the stored Service is unchanged');
  });

  it('allocates node ports in the range, keeps them across updates, frees them on delete and on a change to ClusterIP', async (t) => {
    const { apply, get, server, tokens } = await setup(t, '10.96.0.0/12', '30000-30001');
    await apply(svc('ui', { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    const ui = await get('ui');
    const [http, dns] = ui.spec.ports.map((p: Json) => p.nodePort);
    assert.ok(http >= 30000 && http <= 30001 && dns >= 30000 && dns <= 30001, `${http} ${dns}`);
    // Re-applied without node ports: the same ones.
    await apply(svc('ui', { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    assert.deepEqual((await get('ui')).spec.ports.map((p: Json) => p.nodePort), [http, dns]);
    // TCP: both taken (UDP counts apart).
    await apply(svc('api', { type: 'NodePort' }));
    const full = await apply(svc('more', { type: 'NodePort' }));
    assert.equal(full.status, 422);
    assert.match(full.body.message, /Service "default\/more": spec\.ports\[0\]\.nodePort: the node port range 30000-30001 is full for TCP/);
    // Patched to ClusterIP: its node ports go back to the pool.
    const patched = await patch(server, pki, '/api/v1/namespaces/default/services/ui', tokens.api, { spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.spec.ports.map((p: Json) => p.nodePort), [undefined, undefined]);
    assert.equal((await apply(svc('more', { type: 'NodePort' }))).status, 200);
    await api(server, pki, 'DELETE', '/api/v1/namespaces/default/services/api', { token: tokens.api });
    assert.equal((await apply(svc('last', { type: 'NodePort' }))).status, 200);
  });

  it('refuses a requested node port out of range or taken, naming spec.ports[i].nodePort', async (t) => {
    const { apply } = await setup(t);
    assert.equal((await apply(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }))).status, 200);
    const taken = await apply(svc('b', { type: 'NodePort', ports: [{ name: 'x', port: 81 }, { name: 'y', port: 80, nodePort: 30080 }] }));
    assert.equal(taken.status, 422);
    assert.match(taken.body.message, /Service "default\/b": spec\.ports\[1\]\.nodePort: invalid value 30080: provided port is already allocated/);
    assert.match((await apply(svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }))).body.message, /spec\.ports\[0\]\.nodePort: invalid value 8080: provided port is not in the valid range 30000-32767/);
    // The same number for UDP is another port.
    assert.equal((await apply(svc('d', { type: 'NodePort', ports: [{ port: 80, protocol: 'UDP', nodePort: 30080 }] }))).status, 200);
  });

  it('keeps allocations across a restart of the store, and a new Service after it gets another address', async (t) => {
    const { store, path } = tempStore(t);
    const first = await setup(t, '10.96.0.0/29', '30000-32767', store);
    await first.apply(svc('a', { type: 'NodePort' }));
    const before = await first.get('a');
    store.close();
    const reopened = Store.open(path);
    t.after(() => reopened.close());
    const second = await setup(t, '10.96.0.0/29', '30000-32767', reopened);
    const after = await second.get('a');
    assert.equal(after.spec.clusterIP, before.spec.clusterIP);
    assert.equal(after.spec.ports[0].nodePort, before.spec.ports[0].nodePort);
    for (let i = 0; i < 5; i++) assert.equal((await second.apply(svc(`n${i}`, {}))).status, 200);
    const ips = new Set([after.spec.clusterIP, ...(await Promise.all([0, 1, 2, 3, 4].map(async (i) => (await second.get(`n${i}`)).spec.clusterIP)))]);
    assert.equal(ips.size, 6);
  });

  it('refuses bad --service-cluster-ip-range and --service-node-port-range values', () => {
    assert.throws(() => serviceNetworkConfig('10.96.0.0'), /--service-cluster-ip-range must be an IPv4 CIDR/);
    assert.throws(() => serviceNetworkConfig('10.96.0.0/30'), /prefix length from 8 to 29/);
    assert.throws(() => serviceNetworkConfig(undefined, '32767-30000'), /--service-node-port-range must be MIN-MAX/);
    assert.throws(() => serviceNetworkConfig('127.0.0.0/16'), /--service-cluster-ip-range 127\.0\.0\.0\/16 overlaps the special range 127\.0\.0\.0\/8/);
    assert.throws(() => serviceNetworkConfig('169.254.0.0/24'), /overlaps the special range 169\.254\.0\.0\/16/);
    assert.throws(() => serviceNetworkConfig('10.0.0.0/8', undefined, '10.244.0.0/16'), /--service-cluster-ip-range 10\.0\.0\.0\/8 overlaps the pod network --cluster-cidr 10\.244\.0\.0\/16/);
    assert.equal(serviceNetworkConfig(undefined, undefined, '10.244.0.0/16').clusterIpRange, '10.96.0.0/12');
    assert.deepEqual(serviceNetworkConfig('10.100.3.4/16'), { clusterIpRange: '10.100.0.0/16', dnsServiceIp: '10.100.0.10', nodePortRange: { min: 30000, max: 32767 } });
  });
});
