/**
 * The V8 heap setting of the long-running daemons (`corelet runtime`, `corelet agent`). V8 lets its
 * young generation grow from 1 MiB to 16 MiB per semi-space (32 MiB committed and, once touched,
 * resident) as soon as a burst allocates fast: loading the CRI proto at start-up is one, a few pod
 * starts another. For a daemon that mostly waits that is a third of its footprint. A growth factor of 1
 * keeps the semi-spaces at their initial size: more, smaller scavenges (bench/memory.ts measures the
 * PSS and the CPU per pod cycle both ways; bench/README.md has the figures).
 *
 * It must run before the daemon's modules load (main.ts calls it before running the command), as V8
 * does not shrink a grown young generation back. CORELET_DAEMON_HEAP=v8 leaves V8's defaults.
 */
import { setFlagsFromString } from 'node:v8';

export const DAEMON_V8_FLAGS = '--semi-space-growth-factor=1';

/** Applies DAEMON_V8_FLAGS unless env.CORELET_DAEMON_HEAP is "v8"; returns the flags applied. */
export function leanDaemonHeap(env: NodeJS.ProcessEnv = process.env): string {
  const choice = env.CORELET_DAEMON_HEAP ?? 'lean';
  if (choice === 'v8') return '';
  if (choice !== 'lean') throw new Error(`CORELET_DAEMON_HEAP: "${choice}" is not lean or v8`);
  setFlagsFromString(DAEMON_V8_FLAGS);
  return DAEMON_V8_FLAGS;
}
