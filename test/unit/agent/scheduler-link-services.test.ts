/**
 * `services` messages through the scheduler link: a refused part of a split batch voids the rest of
 * that connection's Services (the reconnect's snapshot replaces it), so a split snapshot is never
 * applied without one of its parts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, type Message, type ServicesMessage } from '../../../src/api/index.js';
import { linkTo } from './link-helpers.js';

const svc = (name: string, ip: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `u-${name}`, labels: {} }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });

test('after a refused services message the later parts of its batch are ignored, and the next connection gets them again', () => {
  const got: ServicesMessage[] = [];
  const link = linkTo({ port: 1 }, { caPem: '', certPem: '', keyPem: '' }, { name: 'node-a', ip: '192.168.56.11' }, { onServices: (m) => got.push(m) });
  const inner = link as unknown as { onMessage(data: Buffer): void; servicesVoid: boolean };
  const feed = (m: unknown) => inner.onMessage(Buffer.from(encodeMessage(m as Message)));
  feed({ v: 1, type: 'services', reset: true, more: true, services: [svc('a', '10.96.0.20')], endpointSlices: [], deleted: [] });
  // the part holding b is refused whole (a field this agent does not know on the message itself)
  feed({ v: 1, type: 'services', more: true, services: [svc('b', '10.96.0.21')], endpointSlices: [], deleted: [], tomorrow: 1 });
  feed({ v: 1, type: 'services', services: [svc('c', '10.96.0.22')], endpointSlices: [], deleted: [] });
  assert.deepEqual(got.map((m) => m.services.map((s) => s.metadata.name)), [['a']], 'the last part does not complete the batch');
  // a new connection (connect() clears the mark) takes services messages again
  inner.servicesVoid = false;
  feed({ v: 1, type: 'services', reset: true, clusterCIDR: '10.50.0.0/16', services: [svc('a', '10.96.0.20'), svc('b', '10.96.0.21'), svc('c', '10.96.0.22')], endpointSlices: [], deleted: [] });
  assert.deepEqual(got.at(-1)!.services.map((s) => s.metadata.name), ['a', 'b', 'c']);
  assert.equal(got.at(-1)!.clusterCIDR, '10.50.0.0/16');
  link.close();
});
