#!/usr/bin/env node
/** The corelet binary: the CLI (run.ts) with the process's arguments, streams and environment. */
import { runCli } from './run.js';

const { exitCode, failed } = await runCli(process.argv.slice(2));
// A failed command ends at once, as commander ends a usage error: nothing it started may hold the
// process open. One that succeeded ends when its work is done, with the exit code it left.
if (failed) process.exit(exitCode);
process.exitCode = exitCode;
