import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuMillis,
  formatCpu,
  formatMemory,
  memoryBytes,
  parseQuantity,
  parseQuantityNanos,
} from '../../../src/api/index.js';
import { CoreletError } from '../../../src/lib/index.js';

const invalid = (s: string, why = '') => (err: unknown) =>
  err instanceof CoreletError && err.kind === 'InvalidArgument' && err.message === `invalid quantity ${JSON.stringify(s)}${why}`;

describe('parseQuantity', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['00', 0],
    ['1', 1],
    ['+1', 1],
    ['-1', -1],
    ['0.1', 0.1],
    ['.5', 0.5],
    ['1.', 1],
    ['1.5', 1.5],
    ['500m', 0.5],
    ['250u', 0.00025],
    ['10n', 1e-8],
    ['1k', 1000],
    ['100M', 100_000_000],
    ['2G', 2e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['100Mi', 104_857_600],
    ['1.5Gi', 1_610_612_736],
    ['2Ti', 2 * 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['0.5Ki', 512],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['1e-3', 0.001],
    ['1.5e3', 1500],
    ['12e0', 12],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseQuantity(input), want));
  }

  it('distinguishes decimal from binary suffixes', () => {
    assert.equal(parseQuantity('100M'), 100_000_000);
    assert.equal(parseQuantity('100Mi'), 104_857_600);
    assert.equal(parseQuantity('1G') < parseQuantity('1Gi'), true);
  });

  it('is exact in nano-units and rounds finer precision up, as resource.Quantity does', () => {
    assert.equal(parseQuantityNanos('0.1'), 100_000_000n);
    assert.equal(parseQuantityNanos('1n'), 1n);
    assert.equal(parseQuantityNanos('1e-12'), 1n);
    assert.equal(parseQuantityNanos('0.0000000015'), 2n);
    assert.equal(parseQuantityNanos('-0.0000000015'), -2n);
    assert.equal(parseQuantityNanos('1e-1000000000'), 1n);
    assert.equal(parseQuantityNanos('0e-1000000000'), 0n);
    assert.equal(parseQuantityNanos('0.1Ki'), 102_400_000_000n);
  });

  it('caps magnitudes at 2^63-1', () => {
    const max = (2n ** 63n - 1n) * 1_000_000_000n;
    assert.equal(parseQuantityNanos('9223372036854775807'), max);
    assert.equal(parseQuantityNanos('9223372036854775808'), max);
    assert.equal(parseQuantityNanos('1e100'), max);
    assert.equal(parseQuantityNanos('16Ei'), max);
    assert.equal(parseQuantityNanos('-1e999999999'), -max);
  });

  const bad = ['', ' 1', '1 ', '12Q', 'lots', '1.1.M', '1+1.0M', '0.1mi', '0.1am', 'aoeu', '.5i', '1i', '-3.01i', '-3.01e-', '1e', '1Mib', '1 Mi', 'm', '.', '-', '0x10', '1,5'];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.throws(() => parseQuantity(input), invalid(input)));
  }
});

describe('cpuMillis', () => {
  const cases: [string, number][] = [
    ['0.5', 500],
    ['500m', 500],
    ['1', 1000],
    ['0.1', 100],
    ['1.5', 1500],
    ['0.0001', 1],
    ['100u', 1],
    ['1500m', 1500],
    ['1e3', 1_000_000],
    ['0', 0],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}m`, () => assert.equal(cpuMillis(input), want));
  }
  it('rejects negative and malformed values', () => {
    assert.throws(() => cpuMillis('-1'), invalid('-1', ': must be greater than or equal to 0'));
    assert.throws(() => cpuMillis('-100m'), invalid('-100m', ': must be greater than or equal to 0'));
    assert.throws(() => cpuMillis('one'), invalid('one'));
  });
});

describe('memoryBytes', () => {
  const cases: [string, number][] = [
    ['128Mi', 134_217_728],
    ['1.5Gi', 1_610_612_736],
    ['100M', 100_000_000],
    ['100Mi', 104_857_600],
    ['1e3', 1000],
    ['1k', 1000],
    ['1Ki', 1024],
    ['0.5', 1],
    ['500m', 1],
    ['1001m', 2],
    ['0', 0],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want} bytes`, () => assert.equal(memoryBytes(input), want));
  }
  it('rejects negative and malformed values', () => {
    assert.throws(() => memoryBytes('-1'), invalid('-1', ': must be greater than or equal to 0'));
    assert.throws(() => memoryBytes('-1Gi'), invalid('-1Gi', ': must be greater than or equal to 0'));
    assert.throws(() => memoryBytes('12Q'), invalid('12Q'));
  });
});

describe('formatting', () => {
  it('formats millicores', () => {
    assert.equal(formatCpu(500), '500m');
    assert.equal(formatCpu(1000), '1');
    assert.equal(formatCpu(2500), '2500m');
    assert.equal(formatCpu(0), '0');
  });
  it('formats bytes with the largest exact suffix', () => {
    assert.equal(formatMemory(134_217_728), '128Mi');
    assert.equal(formatMemory(1_610_612_736), '1536Mi');
    assert.equal(formatMemory(2 ** 30), '1Gi');
    assert.equal(formatMemory(1024), '1Ki');
    assert.equal(formatMemory(100_000_000), '100M');
    assert.equal(formatMemory(1536), '1536');
    assert.equal(formatMemory(1000), '1k');
    assert.equal(formatMemory(0), '0');
    assert.equal(formatMemory(7), '7');
  });
  it('round-trips through the parser', () => {
    for (const bytes of [1, 999, 1024, 3 * 2 ** 20, 5e9, 2 ** 40]) assert.equal(memoryBytes(formatMemory(bytes)), bytes);
    for (const millis of [1, 250, 1000, 1750, 64000]) assert.equal(cpuMillis(formatCpu(millis)), millis);
  });
});
