import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayAddress, inCidr, plannedBridgeAddresses } from '../../../src/runtime/network/bridge-address.js';

test('gateway of a subnet is its first address, with the prefix', () => {
  assert.equal(gatewayAddress('10.89.0.0/16'), '10.89.0.1/16');
  assert.equal(gatewayAddress('10.1.2.128/25'), '10.1.2.129/25');
  assert.equal(gatewayAddress('10.1.2.130/25'), '10.1.2.129/25');
  assert.equal(gatewayAddress('fd00::/64'), undefined);
});

test('inCidr', () => {
  assert.equal(inCidr('10.1.2.3', '10.1.2.1/25'), true);
  assert.equal(inCidr('10.1.2.200', '10.1.2.1/25'), false);
  assert.equal(inCidr('fd00::1', '10.0.0.0/8'), false);
});

test('the new gateway comes first; old gateways stay only while their range has pods', () => {
  assert.deepEqual(plannedBridgeAddresses(['10.0.0.1/24'], '10.0.1.1/24', ['10.0.0.5']), ['10.0.1.1/24', '10.0.0.1/24']);
  assert.deepEqual(plannedBridgeAddresses(['10.0.0.1/24'], '10.0.1.1/24', []), ['10.0.1.1/24']);
  assert.deepEqual(plannedBridgeAddresses(['10.0.1.1/24', '10.0.0.1/24'], '10.0.1.1/24', ['10.0.0.5', '10.0.1.2']), ['10.0.1.1/24', '10.0.0.1/24']);
  assert.deepEqual(plannedBridgeAddresses(['10.0.1.1/24'], '10.0.1.1/24', ['10.0.1.2']), ['10.0.1.1/24']);
});
