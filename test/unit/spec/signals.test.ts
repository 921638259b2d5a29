import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSignal, signalTable, SIGNAL_NUMBERS } from '../../../src/runtime/spec/index.js';
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
    ['SIGNAL_SIGTERM', 15],
    ['SIGNAL_SIGRTMINPLUS3', 37],
    ['SIGNAL_SIGRTMAXMINUS14', 50],
  ];
  for (const [name, n] of cases) it(`${JSON.stringify(name)} → ${n}`, () => assert.equal(normalizeSignal(name), n));

  for (const bad of ['', 'SIGFOO', '0', '65', 'SIGRTMIN+31', 'SIGRTMAX-31', 'RUNTIME_DEFAULT', 'SIGNAL_RUNTIME_DEFAULT', 'SIGNAL_', '-1', 'SIG']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => normalizeSignal(bad), errorOf('InvalidArgument')));
  }
});

/** os.constants.signals as Node reports it on Linux x86_64 (and arm64, s390x: the generic numbers). */
const X86_64 = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11,
  SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGSTKFLT: 16, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21,
  SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};
/** Linux MIPS numbers (arch/mips/include/uapi/asm/signal.h): no SIGSTKFLT, an SIGEMT, and _NSIG 128. */
const MIPS = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGEMT: 7, SIGFPE: 8, SIGKILL: 9, SIGBUS: 10, SIGSEGV: 11,
  SIGSYS: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGUSR1: 16, SIGUSR2: 17, SIGCHLD: 18, SIGPWR: 19, SIGWINCH: 20, SIGURG: 21, SIGIO: 22,
  SIGPOLL: 22, SIGSTOP: 23, SIGTSTP: 24, SIGCONT: 25, SIGTTIN: 26, SIGTTOU: 27, SIGVTALRM: 28, SIGPROF: 29, SIGXCPU: 30, SIGXFSZ: 31,
};

describe('signal numbers come from the host (os.constants.signals), the accepted names stay the same', () => {
  it('x86_64: the table corelet always had, CLD and the real-time bounds included', () => {
    assert.deepEqual({ ...signalTable(X86_64, 'x64').numbers }, {
      HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14,
      TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26,
      PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, RTMIN: 34, RTMAX: 64,
    });
  });
  it('this host: SIGNAL_NUMBERS is os.constants.signals under the same names', () => {
    assert.deepEqual(SIGNAL_NUMBERS, signalTable(undefined, process.arch).numbers);
    assert.equal(normalizeSignal('SIGUSR1'), signalTable().numbers.USR1);
  });
  describe('MIPS (a parameter: this host is not one)', () => {
    const mips = signalTable(MIPS, 'mipsel');
    const cases: [string, number][] = [
      ['SIGUSR1', 16],
      ['SIGUSR2', 17],
      ['SIGCHLD', 18],
      ['SIGCLD', 18],
      ['SIGBUS', 10],
      ['SIGCONT', 25],
      ['SIGTERM', 15],
      ['SIGRTMAX', 127],
      ['SIGRTMAX-2', 125],
      ['SIGRTMIN+40', 74],
      ['100', 100],
    ];
    for (const [name, n] of cases) it(`${JSON.stringify(name)} → ${n}`, () => assert.equal(normalizeSignal(name, mips), n));
    for (const bad of ['SIGSTKFLT', 'SIGEMT', '128', 'SIGRTMAX+1']) {
      it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => normalizeSignal(bad, mips), errorOf('InvalidArgument')));
    }
  });
});
