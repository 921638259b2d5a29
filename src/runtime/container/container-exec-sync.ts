import type { UnaryImpl } from '../../cri/server.js';
import { CoreletError, invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';
import { capExecSyncOutput, EXEC_SYNC_OUTPUT_BUDGET } from './exec-sync-output.js';

export const execSync = (rt: RuntimeContext): UnaryImpl<'ExecSync'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const timeout = Number(req.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be >= 0 seconds, got ${req.timeout}`);
  const r = await rt.containers.execSync(req.container_id, req.cmd, timeout);
  if (r.timedOut) {
    throw new CoreletError('DeadlineExceeded', `command ${JSON.stringify(req.cmd)} timed out after ${timeout}s`);
  }
  // Output past 16 MiB is dropped and the command's result stands (the CRI's rule); see exec-sync-output.ts.
  const out = capExecSyncOutput(r.stdout, r.stderr);
  if (out.truncated) {
    rt.deps.logger.info({ container: req.container_id, stdout: r.stdout.length, stderr: r.stderr.length, budget: EXEC_SYNC_OUTPUT_BUDGET }, 'ExecSync output truncated to fit one 16 MiB reply');
  }
  return { stdout: out.stdout, stderr: out.stderr, exit_code: r.exitCode };
};
