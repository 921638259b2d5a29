import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, mergeArgs, overrideEnv, workingDir, DEFAULT_PATH_ENV } from '../../../src/runtime/spec/index.js';
import { containerConfig, containerInput, env, errorOf } from './fixtures.js';

describe('argv: CRI command/args merged with image entrypoint/cmd', () => {
  const cases: { name: string; command?: string[]; args?: string[]; entrypoint?: string[]; cmd?: string[]; want: string[] }[] = [
    { name: 'image entrypoint + cmd', entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'], want: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'] },
    { name: 'image cmd only', cmd: ['sh'], want: ['sh'] },
    { name: 'image entrypoint only', entrypoint: ['/pause'], want: ['/pause'] },
    { name: 'CRI args replace image cmd, keep entrypoint', args: ['-c', 'x'], entrypoint: ['/bin/sh'], cmd: ['-l'], want: ['/bin/sh', '-c', 'x'] },
    { name: 'CRI command replaces entrypoint and drops cmd', command: ['top'], entrypoint: ['/e'], cmd: ['c'], want: ['top'] },
    { name: 'CRI command and args', command: ['sh', '-c'], args: ['echo hi'], entrypoint: ['/e'], cmd: ['c'], want: ['sh', '-c', 'echo hi'] },
    { name: 'CRI command without any image config', command: ['/bin/true'], want: ['/bin/true'] },
    { name: 'entrypoint [""] means none', entrypoint: [''], cmd: ['sh'], want: ['sh'] },
    { name: 'CRI args alone with no entrypoint', args: ['sleep', '10'], want: ['sleep', '10'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(mergeArgs({ command: c.command, args: c.args }, { entrypoint: c.entrypoint, cmd: c.cmd }), c.want);
    });
  }

  it('nothing to run is InvalidArgument', () => {
    assert.throws(() => mergeArgs({}, {}), errorOf('InvalidArgument', /no command/));
    assert.throws(() => mergeArgs({ command: [], args: [] }, { entrypoint: [''] }), errorOf('InvalidArgument'));
  });

  it('the spec carries the merged argv', () => {
    const spec = buildContainerSpec(containerInput({ config: containerConfig({ args: ['-c', 'echo ok'] }), image: { entrypoint: ['/bin/sh'], cmd: ['-i'] } }));
    assert.deepEqual(spec.process.args, ['/bin/sh', '-c', 'echo ok']);
  });
});

describe('environment', () => {
  it('starts with the default PATH and HOSTNAME', () => {
    const spec = buildContainerSpec(containerInput({ image: { cmd: ['sh'] } }));
    assert.deepEqual(spec.process.env, [DEFAULT_PATH_ENV, 'HOSTNAME=web']);
  });

  it('image env replaces PATH in place and is appended; CRI envs override by key', () => {
    const spec = buildContainerSpec(
      containerInput({
        image: { cmd: ['sh'], env: ['PATH=/opt/bin:/bin', 'LANG=C', 'MODE=image'] },
        config: containerConfig({
          envs: [
            env('MODE', 'cri'),
            env('EXTRA', 'a=b'),
            env('HOSTNAME', 'override'),
          ],
        }),
      }),
    );
    assert.deepEqual(spec.process.env, ['PATH=/opt/bin:/bin', 'HOSTNAME=override', 'LANG=C', 'MODE=cri', 'EXTRA=a=b']);
  });

  it('overrideEnv: KEY=V replaces, bare KEY removes, new keys append', () => {
    assert.deepEqual(overrideEnv(['A=1', 'B=2', 'C=3'], ['B=20', 'A', 'D=4', 'E=']), ['B=20', 'C=3', 'D=4', 'E=']);
  });

  it('CRI env values are bytes since v1.37: UTF-8 is decoded, anything else refused naming the entry', () => {
    const spec = buildContainerSpec(containerInput({ config: containerConfig({ envs: [env('GREETING', 'grüße ✓')] }) }));
    assert.ok(spec.process.env.includes('GREETING=grüße ✓'));
    const bad = containerConfig({ envs: [env('A', 'ok'), { key: 'B', value: Buffer.from([0x66, 0xff, 0xfe]) }] });
    assert.throws(() => buildContainerSpec(containerInput({ config: bad })), errorOf('InvalidArgument', /config\.envs\[1\]\.value \(B\) is not valid UTF-8/));
  });

  it('CRI envs with an empty key are ignored', () => {
    const spec = buildContainerSpec(containerInput({ config: containerConfig({ envs: [env('', 'x')] }) }));
    assert.equal(spec.process.env.some((e) => e === '=x'), false);
  });
});

describe('working directory', () => {
  const cases: [string | undefined, string | undefined, string][] = [
    ['/work', '/img', '/work'],
    ['', '/img', '/img'],
    [undefined, undefined, '/'],
    ['', '', '/'],
  ];
  for (const [cri, img, want] of cases) {
    it(`CRI ${JSON.stringify(cri)} image ${JSON.stringify(img)} → ${want}`, () => {
      assert.equal(workingDir(cri, img), want);
      const spec = buildContainerSpec(containerInput({ config: containerConfig({ working_dir: cri ?? '' }), image: { cmd: ['sh'], workingDir: img } }));
      assert.equal(spec.process.cwd, want);
    });
  }
  it('a relative working directory is InvalidArgument', () => {
    assert.throws(() => workingDir('relative', undefined), errorOf('InvalidArgument', /absolute/));
  });
});

describe('terminal', () => {
  it('follows config.tty', () => {
    assert.equal(buildContainerSpec(containerInput({ config: containerConfig({ tty: true }) })).process.terminal, true);
    assert.equal(buildContainerSpec(containerInput()).process.terminal, false);
  });
});
