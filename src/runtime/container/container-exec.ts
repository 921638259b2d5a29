import type { UnaryImpl } from '../../cri/index.js';
import { invalidArgument } from '../../lib/index.js';
import type { StreamingServer } from '../../streaming/index.js';
import type { ContainerManager } from './container-manager.js';

/** What Exec and Attach work with: the running container, and the streaming server handing out URLs. */
export interface ContainerStreamDeps {
  readonly containers: Pick<ContainerManager, 'running'>;
  readonly streaming: Pick<StreamingServer, 'requestExec' | 'requestAttach'>;
}

/**
 * Exec: a single-use URL on the streaming server for an interactive command in a running container.
 * The streaming server checks the stream choice (cmd, stdin/stdout/stderr, tty without stderr).
 */
export const exec = (d: ContainerStreamDeps): UnaryImpl<'Exec'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = await d.containers.running(req.container_id);
  return { url: d.streaming.requestExec({ containerId: rec.id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};

/** Attach: a single-use URL connecting to a running container's stdio. */
export const attach = (d: ContainerStreamDeps): UnaryImpl<'Attach'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = await d.containers.running(req.container_id);
  return { url: d.streaming.requestAttach({ containerId: rec.id, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};
