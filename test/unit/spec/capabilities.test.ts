import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  buildContainerSpec,
  computeCapabilities,
  parseCapabilityMask,
  sortCapabilities,
  toCapabilityName,
} from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, errorOf, sandboxConfig } from './fixtures.js';

const DEFAULTS = sortCapabilities(DEFAULT_CAPABILITIES);
const caps = (add?: string[], drop?: string[], extra: Parameters<typeof containerConfig>[1] = {}) =>
  buildContainerSpec(
    containerInput({
      config: containerConfig({}, { capabilities: { add_capabilities: add ?? [], drop_capabilities: drop ?? [], add_ambient_capabilities: [] }, ...extra }),
    }),
  ).process.capabilities;

describe('capability names', () => {
  it('lists every capability up to CAP_CHECKPOINT_RESTORE in number order', () => {
    assert.equal(ALL_CAPABILITIES.length, 41);
    assert.equal(ALL_CAPABILITIES[0], 'CAP_CHOWN');
    assert.equal(ALL_CAPABILITIES[21], 'CAP_SYS_ADMIN');
    assert.equal(ALL_CAPABILITIES[40], 'CAP_CHECKPOINT_RESTORE');
  });
  it('accepts CRI names in any case, with or without CAP_', () => {
    assert.equal(toCapabilityName('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(toCapabilityName('CAP_SYS_TIME'), 'CAP_SYS_TIME');
    assert.throws(() => toCapabilityName('FLY'), errorOf('InvalidArgument', /unknown capability/));
  });
  it('decodes a /proc status mask', () => {
    const held = parseCapabilityMask('000001fffeffffff');
    assert.equal(held.length, 40);
    assert.equal(held.includes('CAP_SYS_RESOURCE'), false);
    assert.deepEqual(parseCapabilityMask('0000000000000001'), ['CAP_CHOWN']);
    assert.deepEqual(parseCapabilityMask('0'), []);
  });
});

describe('capability sets of a root container', () => {
  const cases: { name: string; add?: string[]; drop?: string[]; want: (string[]) }[] = [
    { name: 'default set', want: DEFAULTS },
    { name: 'add NET_ADMIN', add: ['NET_ADMIN'], want: sortCapabilities([...DEFAULTS, 'CAP_NET_ADMIN']) },
    { name: 'drop NET_RAW', drop: ['NET_RAW'], want: DEFAULTS.filter((c) => c !== 'CAP_NET_RAW') },
    { name: 'add ALL', add: ['ALL'], want: [...ALL_CAPABILITIES] },
    { name: 'drop ALL', drop: ['ALL'], want: [] },
    { name: 'add ALL then drop CHOWN', add: ['ALL'], drop: ['CHOWN'], want: ALL_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN') },
    { name: 'drop ALL then add NET_BIND_SERVICE', add: ['NET_BIND_SERVICE'], drop: ['ALL'], want: ['CAP_NET_BIND_SERVICE'] },
    { name: 'add and drop the same: drop wins', add: ['SYS_TIME'], drop: ['sys_time'], want: DEFAULTS },
    { name: 'lower-case all', add: ['all'], want: [...ALL_CAPABILITIES] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = caps(c.add, c.drop);
      assert.deepEqual(got.bounding, c.want);
      assert.deepEqual(got.effective, c.want);
      assert.deepEqual(got.permitted, c.want);
      assert.deepEqual(got.inheritable, []);
      assert.deepEqual(got.ambient, []);
    });
  }
  it('unknown names are InvalidArgument', () => {
    assert.throws(() => caps(['NOT_A_CAP']), errorOf('InvalidArgument'));
  });
});

describe('privileged containers', () => {
  it('get every capability, whatever add/drop say', () => {
    const spec = buildContainerSpec(
      containerInput({
        sandboxConfig: sandboxConfig({}, { privileged: true }),
        config: containerConfig({}, { privileged: true, capabilities: { add_capabilities: [], drop_capabilities: ['ALL'], add_ambient_capabilities: [] } }),
      }),
    );
    assert.deepEqual(spec.process.capabilities.bounding, [...ALL_CAPABILITIES]);
    assert.deepEqual(spec.process.capabilities.effective, [...ALL_CAPABILITIES]);
  });
  it('get only what the runtime holds (no CAP_SYS_RESOURCE here)', () => {
    const available = parseCapabilityMask('000001fffeffffff');
    const spec = buildContainerSpec(
      containerInput({
        availableCapabilities: available,
        sandboxConfig: sandboxConfig({}, { privileged: true }),
        config: containerConfig({}, { privileged: true }),
      }),
    );
    assert.deepEqual(spec.process.capabilities.bounding, available);
  });
});

describe('capabilities the runtime lacks', () => {
  const available = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE' && c !== 'CAP_NET_RAW');
  it('an explicit add is FailedPrecondition', () => {
    assert.throws(
      () => computeCapabilities({ add: ['SYS_RESOURCE'] }, { privileged: false, root: true, available }),
      errorOf('FailedPrecondition', /CAP_SYS_RESOURCE/),
    );
  });
  it('ALL and the defaults are cut down silently', () => {
    assert.equal(computeCapabilities({ add: ['ALL'] }, { privileged: false, root: true, available }).bounding.includes('CAP_SYS_RESOURCE'), false);
    assert.equal(computeCapabilities({}, { privileged: false, root: true, available }).bounding.includes('CAP_NET_RAW'), false);
  });
});

describe('non-root and ambient capabilities', () => {
  it('a non-root process keeps the bounding set but nothing effective', () => {
    const got = caps(['NET_ADMIN'], [], { run_as_user: { value: '1000' } });
    assert.deepEqual(got.bounding, sortCapabilities([...DEFAULTS, 'CAP_NET_ADMIN']));
    assert.deepEqual(got.effective, []);
    assert.deepEqual(got.permitted, []);
  });
  it('ambient capabilities survive for non-root and are also inheritable and bounding', () => {
    const spec = buildContainerSpec(
      containerInput({
        config: containerConfig(
          {},
          { run_as_user: { value: '1000' }, capabilities: { add_capabilities: [], drop_capabilities: ['ALL'], add_ambient_capabilities: ['NET_BIND_SERVICE'] } },
        ),
      }),
    );
    assert.deepEqual(spec.process.capabilities, {
      bounding: ['CAP_NET_BIND_SERVICE'],
      effective: ['CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_NET_BIND_SERVICE'],
      inheritable: ['CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    });
  });
});
