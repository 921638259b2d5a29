/** What `corelet get svc`, `get endpointslices`, `describe service` print, and the Service `expose` makes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printTable } from '../../../src/cli/printers.js';
import { describeObject } from '../../../src/cli/describe-format.js';
import { serviceForWorkload } from '../../../src/cli/expose.js';
import { resolveKind } from '../../../src/cli/kinds.js';

const now = new Date('2026-01-03T00:00:00Z');
const meta = (name: string) => ({ name, namespace: 'default', creationTimestamp: '2026-01-02T23:58:00Z', labels: { app: name }, annotations: {} });

const web: any = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta('web'),
  spec: { type: 'NodePort', clusterIP: '10.96.12.3', clusterIPs: ['10.96.12.3'], selector: { app: 'web' }, sessionAffinity: 'None', publishNotReadyAddresses: false, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }, { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] },
};
const db: any = { apiVersion: 'v1', kind: 'Service', metadata: meta('db'), spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'db' }, ports: [] } };
const slice: any = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { ...meta('web-1a2b3c4d'), labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }],
  endpoints: ['10.244.1.5', '10.244.2.5', '10.244.3.5', '10.244.4.5'].map((ip, i) => ({
    addresses: [ip],
    conditions: { ready: i !== 3, serving: i !== 3, terminating: false },
    nodeName: `n${i}`,
    targetRef: { kind: 'Pod', namespace: 'default', name: `web-${i}`, uid: `u${i}` },
  })),
};

test('svc, service and services name Services; endpointslices with its group', () => {
  for (const word of ['svc', 'service', 'services', 'Service']) assert.equal(resolveKind(word).kind, 'Service');
  assert.equal(resolveKind('endpointslices.discovery.k8s.io').kind, 'EndpointSlice');
  assert.equal(resolveKind('endpointslice').display, 'endpointslice.discovery.k8s.io');
});

test('services print as NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, -o wide adds SELECTOR', () => {
  assert.equal(
    printTable('Service', [web, db], { wide: false, withNamespace: false }, now),
    [
      'NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE',
      'web    NodePort    10.96.12.3   <none>        80:30080/TCP,53/UDP   2m',
      'db     ClusterIP   None         <none>        <none>                2m',
    ].join('\n'),
  );
  const wide = printTable('Service', [web], { wide: true, withNamespace: true }, now).split('\n');
  assert.deepEqual(wide[0]!.split(/\s{2,}/), ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
  assert.match(wide[1]!, /^default\s+web\s+.*app=web$/);
});

test('endpointslices print as NAME ADDRESSTYPE PORTS ENDPOINTS AGE, three addresses and a count of the rest', () => {
  const empty = { ...slice, metadata: meta('db-00000000'), ports: [], endpoints: [] };
  assert.equal(
    printTable('EndpointSlice', [slice, empty], { wide: false, withNamespace: false }, now),
    [
      'NAME           ADDRESSTYPE   PORTS       ENDPOINTS                                      AGE',
      'web-1a2b3c4d   IPv4          8080,5353   10.244.1.5,10.244.2.5,10.244.3.5 + 1 more...   2m',
      'db-00000000    IPv4          <unset>     <none>                                         2m',
    ].join('\n'),
  );
});

test('describe service shows its IP, each port with target and node port, and its ready endpoints', () => {
  const text = describeObject(web, { events: [], endpointSlices: [slice] }, now);
  const lines = text.split('\n').map((l) => l.replace(/\s+/g, ' '));
  for (const want of [
    'Selector: app=web',
    'Type: NodePort',
    'IP: 10.96.12.3',
    'Port: http 80/TCP',
    'TargetPort: http/TCP',
    'NodePort: http 30080/TCP',
    'Endpoints: 10.244.1.5:8080,10.244.2.5:8080,10.244.3.5:8080',
    'Port: dns 53/UDP',
    'TargetPort: 5353/UDP',
    'Endpoints: 10.244.1.5:5353,10.244.2.5:5353,10.244.3.5:5353',
    'Session Affinity: None',
    'Events: <none>',
  ]) {
    assert.ok(lines.includes(want), `${JSON.stringify(want)} in:\n${text}`);
  }
  const none = describeObject({ ...web, spec: { ...web.spec, type: 'ClusterIP', ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] } }, { events: [], endpointSlices: [] }, now);
  assert.match(none, /Endpoints:\s+<none>/);
});

test('expose makes a Service selecting the workload\'s pods by its matchLabels', () => {
  const deploy = { kind: 'Deployment', metadata: { name: 'api', namespace: 'shop', labels: { app: 'api', tier: 'back' } }, spec: { selector: { matchLabels: { app: 'api' } } } };
  assert.deepEqual(serviceForWorkload(deploy, { port: '80', targetPort: '8080', type: 'NodePort' }), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api', namespace: 'shop', labels: { app: 'api', tier: 'back' } },
    spec: { type: 'NodePort', selector: { app: 'api' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] },
  });
  assert.deepEqual((serviceForWorkload(deploy, { port: '80', targetPort: 'http' }).spec as any).ports, [{ port: 80, protocol: 'TCP', targetPort: 'http' }]);
  assert.deepEqual((serviceForWorkload(deploy, { port: '53', protocol: 'udp', name: 'dns' }) as any).metadata.name, 'dns');
  assert.throws(() => serviceForWorkload(deploy, { port: '0' }), /--port must be a port number from 1 to 65535, got "0"/);
  assert.throws(() => serviceForWorkload(deploy, { port: '80', type: 'LoadBalancer' }), /--type must be ClusterIP or NodePort/);
  assert.throws(() => serviceForWorkload(deploy, { port: '80', targetPort: 'Bad_Name' }), /--target-port must be a port number or a container port's name/);
  assert.throws(
    () => serviceForWorkload({ ...deploy, spec: { selector: { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] } } } as any, { port: '80' }),
    /deployment\/api: its selector has matchExpressions/,
  );
});
