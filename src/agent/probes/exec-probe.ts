import { isDeadlineExceeded } from '../../cri/index.js';
import { CoreletError, messageOf } from '../../lib/index.js';
import type { ExecAction } from '../../api/index.js';
import { ExecTimeoutError, type ProbeDeps, type ProbeOutcome } from './probe-types.js';

/** True when an execSync rejection means "the command ran out of time" rather than "could not run". */
export function isExecTimeout(err: unknown): boolean {
  if (err instanceof ExecTimeoutError) return true;
  if (err instanceof CoreletError) return err.kind === 'DeadlineExceeded';
  return isDeadlineExceeded(err);
}

/** Exec probe: exit code 0 is success; the output is stdout followed by stderr, as a user would see it. */
export async function runExecProbe(
  action: ExecAction,
  containerId: string,
  timeoutSeconds: number,
  deps: ProbeDeps,
): Promise<ProbeOutcome> {
  try {
    const r = await deps.execSync(containerId, action.command, timeoutSeconds);
    const output = r.stdout + r.stderr;
    return { result: r.exitCode === 0 ? 'Success' : 'Failure', output };
  } catch (err) {
    if (isExecTimeout(err)) {
      return { result: 'Failure', output: `command timed out after ${timeoutSeconds}s: ${action.command.join(' ')}` };
    }
    // The kubelet discards such results as Unknown; with two verdicts, a command that cannot run fails.
    return { result: 'Failure', output: `exec probe failed: ${messageOf(err)}` };
  }
}
