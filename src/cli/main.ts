#!/usr/bin/env node
/** The corelet binary: the CLI (run.ts) with the process's arguments, streams and environment. */
import { leanDaemonHeap } from './daemon-heap.js';
import { runCli, startsDaemon } from './run.js';

const args = process.argv.slice(2);
// before the daemon's modules load: see daemon-heap.ts
try {
  if (startsDaemon(args)) leanDaemonHeap();
} catch (err) {
  process.stderr.write(`corelet: ${(err as Error).message}\n`);
  process.exit(1);
}
const { exitCode, failed } = await runCli(args);
// A failed command ends at once, as commander ends a usage error: nothing it started may hold the
// process open. One that succeeded ends when its work is done, with the exit code it left.
if (failed) process.exit(exitCode);
process.exitCode = exitCode;
