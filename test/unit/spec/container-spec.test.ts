import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, DEFAULT_CAPABILITIES, sortCapabilities } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, env } from './fixtures.js';

describe('a whole busybox container spec', () => {
  it('matches what containerd would produce for the same request', () => {
    const spec = buildContainerSpec(
      containerInput({
        config: containerConfig({ command: ['sh', '-c', 'echo ok'], envs: [env('GREETING', 'hi')] }, undefined, {
          cpu_shares: '102',
          memory_limit_in_bytes: '67108864',
          oom_score_adj: '1000',
        }),
      }),
    );
    assert.deepEqual(spec.process, {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [0, 10] },
      args: ['sh', '-c', 'echo ok'],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOSTNAME=web', 'GREETING=hi'],
      cwd: '/',
      capabilities: {
        bounding: sortCapabilities(DEFAULT_CAPABILITIES),
        effective: sortCapabilities(DEFAULT_CAPABILITIES),
        permitted: sortCapabilities(DEFAULT_CAPABILITIES),
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: false,
      oomScoreAdj: 1000,
    });
    assert.equal(spec.hostname, 'web');
    assert.deepEqual(spec.linux.resources, {
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 67108864, swap: 67108864 },
      cpu: { shares: 102 },
    });
    assert.deepEqual(spec.linux.sysctl, {});
    assert.deepEqual(spec.linux.devices, []);
    // Survives a JSON round trip unchanged: no undefined fields, no non-JSON values.
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
    assert.equal(JSON.stringify(spec).includes('null'), false);
  });

  it('does not mutate its input', () => {
    const input = containerInput({ config: containerConfig({ command: ['x'] }) });
    const before = JSON.stringify(input);
    buildContainerSpec(input);
    assert.equal(JSON.stringify(input), before);
  });

  it('copes with a minimally decoded config (null linux, missing lists)', () => {
    const decoded = { ...containerConfig({ command: ['true'] }), linux: null } as Record<string, unknown>;
    for (const k of ['args', 'envs', 'mounts', 'devices', 'annotations']) delete decoded[k];
    const spec = buildContainerSpec(containerInput({ config: decoded as unknown as ReturnType<typeof containerConfig> }));
    assert.deepEqual(spec.process.args, ['true']);
  });
});
