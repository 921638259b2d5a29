import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSignal } from '../../../src/runtime/spec/index.js';
import { errorOf } from './fixtures.js';

describe('normalizeSignal', () => {
  const cases: [string, number][] = [
    ['SIGTERM', 15],
    ['TERM', 15],
    ['term', 15],
    ['sigkill', 9],
    ['15', 15],
    ['9', 9],
    ['SIGHUP', 1],
    ['SIGQUIT', 3],
    ['SIGINT', 2],
    ['SIGUSR1', 10],
    ['SIGUSR2', 12],
    ['SIGWINCH', 28],
    ['SIGCHLD', 17],
    ['SIGCLD', 17],
    ['SIGIOT', 6],
    ['SIGPOLL', 29],
    ['SIGSTKFLT', 16],
    ['SIGPWR', 30],
    ['SIGSYS', 31],
    ['SIGRTMIN', 34],
    ['SIGRTMIN+3', 37],
    ['RTMIN+1', 35],
    ['SIGRTMAX', 64],
    ['SIGRTMAX-2', 62],
    ['SIGRTMINPLUS3', 37],
    ['SIGRTMAXMINUS14', 50],
    ['64', 64],
    [' SIGTERM ', 15],
  ];
  for (const [name, n] of cases) it(`${JSON.stringify(name)} → ${n}`, () => assert.equal(normalizeSignal(name), n));

  for (const bad of ['', 'SIGFOO', '0', '65', 'SIGRTMIN+31', 'SIGRTMAX-31', 'RUNTIME_DEFAULT', '-1', 'SIG']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => normalizeSignal(bad), errorOf('InvalidArgument')));
  }
});
