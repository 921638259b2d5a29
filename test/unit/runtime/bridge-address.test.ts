import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBridgeGateway, gatewayAddress, inCidr, plannedBridgeAddresses, type BridgeIp } from '../../../src/runtime/network/bridge-address.js';
import { silentLogger } from '../../../src/lib/index.js';

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

test('an address an admin added is kept; only old gateways of ours without pods go', () => {
  assert.deepEqual(plannedBridgeAddresses(['10.0.0.1/24', '192.168.7.9/24'], '10.0.1.1/24', []), ['10.0.1.1/24', '192.168.7.9/24']);
});

/** A bridge whose addresses behave as the kernel lists them (appended on add); it can be "killed" after n changes. */
function fakeBridge(initial: string[], killAfter = Infinity) {
  const addrs = [...initial];
  const seen: string[][] = [];
  let changes = 0;
  const change = (f: () => void) => {
    if (changes >= killAfter) throw new Error('runtime killed');
    changes++;
    f();
    seen.push([...addrs]);
  };
  const ip: BridgeIp = {
    list: async () => [...addrs],
    add: async (_b, a) => change(() => void (addrs.includes(a) || addrs.push(a))),
    del: async (_b, a) => change(() => void (addrs.includes(a) && addrs.splice(addrs.indexOf(a), 1))),
  };
  return { addrs, seen, ip };
}

test('re-addressing adds the new gateway first and never leaves the bridge without its addresses', async () => {
  const br = fakeBridge(['10.0.0.1/24', '192.168.7.9/24']);
  assert.equal(await ensureBridgeGateway('cbr0', '10.0.1.0/24', ['10.0.0.5'], silentLogger, br.ip), true);
  assert.deepEqual(br.addrs, ['10.0.1.1/24', '10.0.0.1/24', '192.168.7.9/24'], 'new gateway first (the CNI bridge plugin needs it first), old gateway with pods and the admin address kept');
  for (const s of br.seen) assert.ok(s.length > 0, `never without an address: ${JSON.stringify(br.seen)}`);
  const added = br.seen.findIndex((s) => s.includes('10.0.1.1/24'));
  assert.equal(added, 0, 'the new gateway is the first change');
  assert.ok(br.seen.every((s) => s.includes('10.0.1.1/24')), 'and stays throughout (reordering moves only the others)');
  assert.equal(await ensureBridgeGateway('cbr0', '10.0.1.0/24', ['10.0.0.5'], silentLogger, br.ip), false, 'nothing more to do');
});

test('a runtime killed at any step of re-addressing ends with the new gateway first on the next start', async () => {
  for (let k = 0; k < 8; k++) {
    const br = fakeBridge(['10.0.0.1/24'], k);
    await ensureBridgeGateway('cbr0', '10.0.1.0/24', [], silentLogger, br.ip).catch(() => undefined);
    assert.ok(br.addrs.length > 0, `killed after ${k} changes: the bridge kept an address`);
    const restarted = { ...br.ip, add: async (b: string, a: string) => void br.addrs.push(a), del: async (b: string, a: string) => void br.addrs.splice(br.addrs.indexOf(a), 1) };
    await ensureBridgeGateway('cbr0', '10.0.1.0/24', [], silentLogger, restarted);
    assert.deepEqual(br.addrs, ['10.0.1.1/24'], `killed after ${k} changes`);
  }
});

test('a bridge without any IPv4 address gets the gateway', async () => {
  const br = fakeBridge([]);
  assert.equal(await ensureBridgeGateway('cbr0', '10.0.1.0/24', [], silentLogger, br.ip), true);
  assert.deepEqual(br.addrs, ['10.0.1.1/24']);
});
