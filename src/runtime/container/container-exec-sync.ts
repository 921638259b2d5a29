import type { UnaryImpl } from '../../cri/server.js';
import { CoreletError, invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

export const execSync = (rt: RuntimeContext): UnaryImpl<'ExecSync'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const timeout = Number(req.timeout);
  const r = await rt.containers.execSync(req.container_id, req.cmd, timeout);
  if (r.timedOut) {
    throw new CoreletError('DeadlineExceeded', `command ${JSON.stringify(req.cmd)} timed out after ${timeout}s`);
  }
  return { stdout: r.stdout, stderr: r.stderr, exit_code: r.exitCode };
};
