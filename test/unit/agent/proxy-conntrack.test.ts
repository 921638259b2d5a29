import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  conntrackArgs,
  flushConntrack,
  resolveProxyState,
  staleUdpConntrack,
  type ProxyEndpoint,
  type ProxyService,
  type ProxyState,
} from '../../../src/agent/proxy/index.js';

const ep = (ip: string, ready = true): ProxyEndpoint => ({ ip, port: 5353, ready, serving: ready, terminating: false });

const dns: ProxyService = {
  namespace: 'kube-system',
  name: 'dns',
  clusterIP: '10.96.0.10',
  ports: [
    { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ],
};

const state = (udp: ProxyEndpoint[], tcp: ProxyEndpoint[] = udp, services: ProxyService[] = [dns]): ProxyState => ({
  services,
  endpoints: [
    { namespace: 'kube-system', service: 'dns', portName: 'dns', protocol: 'UDP', endpoints: udp },
    { namespace: 'kube-system', service: 'dns', portName: 'dns-tcp', protocol: 'TCP', endpoints: tcp },
  ],
  nodeAddresses: ['192.168.56.11'],
});

const stale = (a: ProxyState | undefined, b: ProxyState) => staleUdpConntrack(a === undefined ? undefined : resolveProxyState(a), resolveProxyState(b));

describe('stale UDP conntrack entries', () => {
  it('flushes the ClusterIP and NodePort entries DNATed to a UDP endpoint that left', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2'), ep('10.244.1.3')]), state([ep('10.244.1.3')])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('counts an endpoint that stopped being ready as gone', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2'), ep('10.244.1.3')]), state([ep('10.244.1.2', false), ep('10.244.1.3')])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('flushes every entry to a UDP port that goes from no endpoint to some', () => {
    assert.deepEqual(stale(state([]), state([ep('10.244.1.2')])), [{ origDst: '10.96.0.10', origPortDst: 53 }, { origPortDst: 30053 }]);
    assert.deepEqual(stale(undefined, state([ep('10.244.1.2')])), [{ origDst: '10.96.0.10', origPortDst: 53 }, { origPortDst: 30053 }]);
  });

  it('flushes the endpoints of a deleted Service', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2')]), state([], [], [])), [
      { origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' },
      { origPortDst: 30053, replySrc: '10.244.1.2' },
    ]);
  });

  it('asks nothing when UDP endpoints stay, or only TCP endpoints change', () => {
    assert.deepEqual(stale(state([ep('10.244.1.2')]), state([ep('10.244.1.2'), ep('10.244.1.4')])), []);
    assert.deepEqual(stale(state([ep('10.244.1.2')], [ep('10.244.1.2')]), state([ep('10.244.1.2')], [])), []);
  });

  it('writes the conntrack CLI arguments', () => {
    assert.deepEqual(conntrackArgs({ origDst: '10.96.0.10', origPortDst: 53, replySrc: '10.244.1.2' }), [
      '-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.244.1.2',
    ]);
    assert.deepEqual(conntrackArgs({ origPortDst: 30053 }), ['-D', '-p', 'udp', '--orig-port-dst', '30053']);
  });

  it('says which package is missing when the conntrack command is not installed', async () => {
    await assert.rejects(flushConntrack([{ origPortDst: 53 }], ['/nonexistent/conntrack']), /is not installed \(the Debian package conntrack\)/);
  });
});
