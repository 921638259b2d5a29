import type { UnaryImpl } from '../../cri/server.js';
import { invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

/**
 * Exec: a single-use URL on the streaming server for an interactive command in a running container.
 * The streaming server checks the stream choice (cmd, stdin/stdout/stderr, tty without stderr).
 */
export const exec = (rt: RuntimeContext): UnaryImpl<'Exec'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = await rt.containers.running(req.container_id);
  return { url: rt.streaming.requestExec({ containerId: rec.id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};

/** Attach: a single-use URL connecting to a running container's stdio. */
export const attach = (rt: RuntimeContext): UnaryImpl<'Attach'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  const rec = await rt.containers.running(req.container_id);
  return { url: rt.streaming.requestAttach({ containerId: rec.id, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};
