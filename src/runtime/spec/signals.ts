/**
 * Signal names (image StopSignal, CRI stop_signal) to the host's Linux signal numbers: the numbers
 * come from Node's os.constants.signals (they differ between architectures: SIGUSR1 is 10 on x86,
 * arm and s390, 16 on MIPS), the accepted names stay one fixed list.
 */
import { constants } from 'node:os';
import { invalidArgument } from '../../lib/index.js';

/** The names accepted (without the SIG prefix), aliases included: the same on every architecture. */
const SIGNAL_NAMES = [
  'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'IOT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM',
  'STKFLT', 'CHLD', 'CLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO',
  'POLL', 'PWR', 'SYS',
] as const;

/** Aliases Node's table may lack, and the name they stand for. */
const ALIASES: Readonly<Record<string, string>> = { CLD: 'CHLD', IOT: 'ABRT', POLL: 'IO' };

/** A signal table: numbers by name without the SIG prefix, and the real-time range. */
export interface SignalTable {
  readonly numbers: Readonly<Record<string, number>>;
  readonly rtmin: number;
  readonly rtmax: number;
}

/**
 * The signal table of an architecture from its os.constants.signals (SIGHUP: 1, …) and Node's
 * arch name: a name missing there is not accepted on that host. SIGRTMIN is 34 (the kernel's 32
 * plus the two glibc keeps for itself); SIGRTMAX is 64, 127 on MIPS (_NSIG 128), as moby's
 * signal tables have them.
 */
export function signalTable(signals: Readonly<Record<string, number>> = constants.signals, arch: string = process.arch): SignalTable {
  const numbers: Record<string, number> = {};
  for (const name of SIGNAL_NAMES) {
    const n = signals[`SIG${name}`] ?? (ALIASES[name] !== undefined ? signals[`SIG${ALIASES[name]}`] : undefined);
    if (n !== undefined) numbers[name] = n;
  }
  const rtmin = 34;
  const rtmax = arch.startsWith('mips') ? 127 : 64;
  numbers.RTMIN = rtmin;
  numbers.RTMAX = rtmax;
  return { numbers: Object.freeze(numbers), rtmin, rtmax };
}

const HOST = signalTable();

/** This host's signal numbers by name (without the SIG prefix), aliases included. */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = HOST.numbers;

/**
 * A signal given by name or number as its number: "SIGTERM", "term", "15", "SIGRTMIN+3",
 * "RTMAX-2", and the CRI enum spellings "SIGRTMINPLUS3" / "SIGRTMAXMINUS2" (v1.37's with the
 * enum's prefix too: "SIGNAL_SIGTERM", "SIGNAL_SIGRTMINPLUS3"). Throws
 * InvalidArgument for anything else (including 0 and numbers above SIGRTMAX). `table` is this
 * host's by default.
 */
export function normalizeSignal(name: string, table: SignalTable = HOST): number {
  const { rtmin: SIGRTMIN, rtmax: SIGRTMAX } = table;
  const raw = name.trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= SIGRTMAX) return n;
    throw invalidArgument(`invalid signal number ${raw}`);
  }
  let s = raw.toUpperCase();
  if (s.startsWith('SIGNAL_SIG')) s = s.slice('SIGNAL_'.length);
  if (s.startsWith('SIG')) s = s.slice(3);
  s = s.replace(/^(RTMIN|RTMAX)PLUS(\d+)$/, '$1+$2').replace(/^(RTMIN|RTMAX)MINUS(\d+)$/, '$1-$2');
  const rt = /^(RTMIN|RTMAX)([+-])(\d+)$/.exec(s);
  if (rt) {
    const base = rt[1] === 'RTMIN' ? SIGRTMIN : SIGRTMAX;
    const n = rt[2] === '+' ? base + Number(rt[3]) : base - Number(rt[3]);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    throw invalidArgument(`invalid signal ${name}: outside SIGRTMIN..SIGRTMAX`);
  }
  const n = table.numbers[s];
  if (n === undefined) throw invalidArgument(`unknown signal "${name}"`);
  return n;
}
