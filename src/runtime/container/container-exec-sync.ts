import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UnaryImpl } from '../../cri/index.js';
import { CoreletError, invalidArgument } from '../../lib/index.js';
import type { OciSpec } from '../spec/index.js';
import type { ExecResult } from '../ports.js';
import type { LifecycleDeps } from '../lifecycle.js';
import type { ContainerManager } from './container-manager.js';
import { capExecSyncOutput, EXEC_SYNC_OUTPUT_BUDGET } from './exec-sync-output.js';

/** What ExecSync works with: the running container's spec (its process) and runc exec. */
export type ExecSyncDeps = Pick<LifecycleDeps, 'oci' | 'logger'> & {
  readonly containers: Pick<ContainerManager, 'running' | 'dir'>;
};

/** Runs cmd in the running container, with the container's process settings, and collects its output. */
export async function execSyncIn(d: ExecSyncDeps, idOrPrefix: string, cmd: string[], timeoutSeconds: number): Promise<ExecResult> {
  if (cmd.length === 0) throw invalidArgument('cmd is required');
  const t0 = performance.now();
  const rec = await d.containers.running(idOrPrefix);
  const t1 = performance.now();
  const spec = JSON.parse(await readFile(join(d.containers.dir(rec.id), 'config.json'), 'utf8')) as OciSpec;
  d.logger.debug({ id: rec.id, lookupMs: Math.round((t1 - t0) * 10) / 10, specMs: Math.round((performance.now() - t1) * 10) / 10 }, 'exec sync prepared');
  return d.oci.exec(rec.id, { process: spec.process, args: cmd, timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined });
}

export const execSync = (d: ExecSyncDeps): UnaryImpl<'ExecSync'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const timeout = Number(req.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be >= 0 seconds, got ${req.timeout}`);
  const r = await execSyncIn(d, req.container_id, req.cmd, timeout);
  if (r.timedOut) {
    throw new CoreletError('DeadlineExceeded', `command ${JSON.stringify(req.cmd)} timed out after ${timeout}s`);
  }
  // Output past 16 MiB is dropped and the command's result stands (the CRI's rule); see exec-sync-output.ts.
  const out = capExecSyncOutput(r.stdout, r.stderr);
  if (out.truncated) {
    d.logger.info({ container: req.container_id, stdout: r.stdout.length, stderr: r.stderr.length, budget: EXEC_SYNC_OUTPUT_BUDGET }, 'ExecSync output truncated to fit one 16 MiB reply');
  }
  return { stdout: out.stdout, stderr: out.stderr, exit_code: r.exitCode };
};
