/**
 * Signal names (image StopSignal, CRI stop_signal) to Linux x86_64 signal numbers.
 */
import { invalidArgument } from '../../lib/errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Linux x86_64 signal numbers by name (without the SIG prefix), aliases included. */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
  RTMIN: SIGRTMIN,
  RTMAX: SIGRTMAX,
});

/**
 * A signal given by name or number as its number: "SIGTERM", "term", "15", "SIGRTMIN+3",
 * "RTMAX-2", and the CRI enum spellings "SIGRTMINPLUS3" / "SIGRTMAXMINUS2". Throws
 * InvalidArgument for anything else (including 0 and numbers above 64).
 */
export function normalizeSignal(name: string): number {
  const raw = name.trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= SIGRTMAX) return n;
    throw invalidArgument(`invalid signal number ${raw}`);
  }
  let s = raw.toUpperCase();
  if (s.startsWith('SIG')) s = s.slice(3);
  s = s.replace(/^(RTMIN|RTMAX)PLUS(\d+)$/, '$1+$2').replace(/^(RTMIN|RTMAX)MINUS(\d+)$/, '$1-$2');
  const rt = /^(RTMIN|RTMAX)([+-])(\d+)$/.exec(s);
  if (rt) {
    const base = rt[1] === 'RTMIN' ? SIGRTMIN : SIGRTMAX;
    const n = rt[2] === '+' ? base + Number(rt[3]) : base - Number(rt[3]);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    throw invalidArgument(`invalid signal ${name}: outside SIGRTMIN..SIGRTMAX`);
  }
  const n = SIGNAL_NUMBERS[s];
  if (n === undefined) throw invalidArgument(`unknown signal "${name}"`);
  return n;
}
