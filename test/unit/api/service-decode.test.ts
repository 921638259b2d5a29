/** Service and EndpointSlice manifests: what `corelet apply -f` accepts, its defaults, and what it refuses (naming the field). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, decodeObjects, kindEntry, type Service } from '../../../src/api/index.js';

type Json = Record<string, any>;

function service(spec: Json, name = 'web'): Json {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

function decode(doc: Json): Json {
  return decodeObjects(JSON.stringify(doc), 'svc.yaml').objects[0] as Json;
}

/** The problems of a refused manifest (one per line of the ManifestError). */
function problems(doc: Json): string[] {
  try {
    decodeObjects(JSON.stringify(doc), 'svc.yaml');
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return [...err.problems];
  }
  assert.fail('expected the manifest to be refused');
}

describe('Service manifests', () => {
  it('are registered with kubectl names (svc) in the core group', () => {
    assert.deepEqual(kindEntry('Service'), { kind: 'Service', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true, group: '', version: 'v1', table: 'objects' });
    assert.equal(kindEntry('EndpointSlice')?.group, 'discovery.k8s.io');
  });

  it('get the API server defaults: ClusterIP, TCP, targetPort = port, no affinity', () => {
    const svc = decode(service({ selector: { app: 'web' }, ports: [{ port: 80 }] })) as Service;
    assert.deepEqual(svc.spec, {
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }],
      sessionAffinity: 'None',
      publishNotReadyAddresses: false,
    });
    assert.equal(svc.metadata.namespace, 'default');
    assert.equal(svc.metadata.uid, undefined, 'the store assigns the uid');
  });

  it('keep NodePort, named target ports, UDP, ClientIP affinity with its timeout and publishNotReadyAddresses', () => {
    const svc = decode(
      service({
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
          { name: 'dns', port: 53, targetPort: '5353', protocol: 'UDP' },
        ],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        publishNotReadyAddresses: true,
      }),
    ) as Service;
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
    ]);
    assert.deepEqual(svc.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 60 } });
    assert.equal(svc.spec.publishNotReadyAddresses, true);
    const defaulted = decode(service({ ports: [{ port: 80 }], sessionAffinity: 'ClientIP' })) as Service;
    assert.deepEqual(defaulted.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  });

  it('accept a headless Service without ports, and a requested cluster IP', () => {
    const headless = decode(service({ clusterIP: 'None', selector: { app: 'db' } })) as Service;
    assert.equal(headless.spec.clusterIP, 'None');
    assert.deepEqual(headless.spec.ports, []);
    const fixed = decode(service({ clusterIP: '10.96.0.50', ports: [{ port: 80 }] })) as Service;
    assert.deepEqual([fixed.spec.clusterIP, fixed.spec.clusterIPs], ['10.96.0.50', ['10.96.0.50']]);
  });

  const refused: [string, Json, RegExp][] = [
    ['no ports', service({ selector: { app: 'web' } }), /^svc\.yaml: spec\.ports: required value/],
    ['a port out of range', service({ ports: [{ port: 70000 }] }), /^svc\.yaml: spec\.ports\[0\]\.port: must be between 1 and 65535/],
    ['a missing port', service({ ports: [{ name: 'x' }] }), /^svc\.yaml: spec\.ports\[0\]\.port: required value/],
    ['an unnamed port among several', service({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), /^svc\.yaml: spec\.ports\[1\]\.name: required value/],
    ['duplicate names', service({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), /^svc\.yaml: spec\.ports\[1\]\.name: duplicate value "a"/],
    ['a duplicate port and protocol', service({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), /^svc\.yaml: spec\.ports\[1\]: duplicate value: port 80 with protocol TCP/],
    ['SCTP', service({ ports: [{ port: 80, protocol: 'SCTP' }] }), /^svc\.yaml: spec\.ports\[0\]\.protocol: unsupported value "SCTP"/],
    ['a bad target port name', service({ ports: [{ port: 80, targetPort: 'Web_Port' }] }), /^svc\.yaml: spec\.ports\[0\]\.targetPort: invalid value "Web_Port"/],
    ['a target port out of range', service({ ports: [{ port: 80, targetPort: 65536 }] }), /^svc\.yaml: spec\.ports\[0\]\.targetPort: must be between 1 and 65535/],
    ['a nodePort on a ClusterIP Service', service({ ports: [{ port: 80, nodePort: 30001 }] }), /^svc\.yaml: spec\.ports\[0\]\.nodePort: may not be used when type is "ClusterIP"/],
    ['LoadBalancer', service({ type: 'LoadBalancer', ports: [{ port: 80 }] }), /^svc\.yaml: spec\.type: unsupported value "LoadBalancer"/],
    ['a headless NodePort', service({ type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] }), /^svc\.yaml: spec\.clusterIP: may not be "None" for a NodePort Service/],
    ['an IPv6 cluster IP', service({ clusterIP: 'fd00::1', ports: [{ port: 80 }] }), /^svc\.yaml: spec\.clusterIP: invalid value "fd00::1"/],
    ['affinity config without ClientIP', service({ ports: [{ port: 80 }], sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } }), /^svc\.yaml: spec\.sessionAffinityConfig: may only be set when sessionAffinity is ClientIP/],
    ['an affinity timeout over a day', service({ ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), /^svc\.yaml: spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: must be between 1 and 86400/],
    ['a bad selector value', service({ ports: [{ port: 80 }], selector: { app: 'not ok' } }), /^svc\.yaml: spec\.selector\.app: invalid value "not ok"/],
    ['a name starting with a digit', service({ ports: [{ port: 80 }] }, '1web'), /^svc\.yaml: metadata\.name: invalid value "1web": a Service name must start with a lowercase letter/],
    ['a dotted name', service({ ports: [{ port: 80 }] }, 'kv-0.kv'), /^svc\.yaml: metadata\.name: invalid value "kv-0\.kv": a Service name is an RFC 1035 label: a lowercase RFC 1123 label must consist of/],
    ['a name of 64 characters', service({ ports: [{ port: 80 }] }, 'a'.repeat(64)), /^svc\.yaml: metadata\.name: invalid value "a{64}": a Service name is an RFC 1035 label: must be no more than 63 characters/],
    ['more than 100 ports', service({ ports: Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) }), /^svc\.yaml: spec\.ports: 101 ports: at most 100/],
  ];
  for (const [what, doc, want] of refused) {
    it(`refuse ${what}, naming the field`, () => {
      const found = problems(doc);
      assert.ok(found.some((p) => want.test(p)), `${JSON.stringify(found)} should match ${want}`);
    });
  }
});

describe('EndpointSlice manifests', () => {
  const slice = (extra: Json = {}): Json => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'db-1', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'db-0' } }],
    ports: [{ name: 'pg', port: 5432 }],
    ...extra,
  });

  it('decode with defaulted conditions and ports', () => {
    const s = decode(slice());
    assert.deepEqual(s.endpoints, [{ addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'db-0', uid: '' } }]);
    assert.deepEqual(s.ports, [{ name: 'pg', protocol: 'TCP', port: 5432 }]);
  });

  it('refuse IPv6, a bad address and a missing addressType, naming the field', () => {
    assert.match(problems(slice({ addressType: 'IPv6' })).join('\n'), /addressType: unsupported value "IPv6"/);
    assert.match(problems(slice({ endpoints: [{ addresses: ['300.1.1.1'] }] })).join('\n'), /endpoints\[0\]\.addresses\[0\]: invalid value "300\.1\.1\.1"/);
    assert.match(problems(slice({ addressType: undefined })).join('\n'), /addressType: required value/);
  });

  it('refuse loopback, unspecified, link-local and multicast addresses, naming the field', () => {
    for (const [ip, range] of [['127.0.0.1', '127.0.0.0/8'], ['0.0.0.0', '0.0.0.0/8'], ['169.254.169.254', '169.254.0.0/16'], ['224.0.0.1', '224.0.0.0/4'], ['255.255.255.255', '240.0.0.0/4']]) {
      assert.match(problems(slice({ endpoints: [{ addresses: [ip] }] })).join('\n'), new RegExp(`endpoints\\[0\\]\\.addresses\\[0\\]: invalid value "${ip!.replace(/\./g, '\\.')}": may not be in the special range ${range!.replace(/\./g, '\\.')}`));
    }
  });

  it('refuse more than 100 ports, naming the field', () => {
    assert.match(problems(slice({ ports: Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) })).join('\n'), /ports: 101 ports: at most 100/);
    assert.equal(decode(slice({ ports: Array.from({ length: 100 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) })).ports.length, 100);
  });

  it('refuse a port without a number (Kubernetes means every port, which no node could serve), naming the field', () => {
    assert.match(problems(slice({ ports: [{ name: 'http' }] })).join('\n'), /ports\[0\]\.port: required value/);
  });
});
