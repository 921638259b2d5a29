import type { CriClient } from '../../cri/index.js';
import type { ProbeDeps } from './probe-types.js';

/** Extra time the gRPC deadline allows beyond the command's own timeout, so the runtime reports it. */
const DEADLINE_SLACK_MS = 5000;

/**
 * Probe side effects over CRI: ExecSync with the probe's timeout. A runtime that times the command
 * out answers DEADLINE_EXCEEDED, and so does the gRPC deadline if the runtime hangs; both read as
 * "command timed out".
 */
export function criProbeDeps(client: Pick<CriClient, 'runtime'>): ProbeDeps {
  return {
    async execSync(containerId, cmd, timeoutSeconds) {
      const res = await client.runtime.ExecSync(
        { container_id: containerId, cmd, timeout: String(timeoutSeconds) },
        { deadlineMs: timeoutSeconds * 1000 + DEADLINE_SLACK_MS },
      );
      return { exitCode: res.exit_code, stdout: res.stdout.toString('utf8'), stderr: res.stderr.toString('utf8') };
    },
  };
}
