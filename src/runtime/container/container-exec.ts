import type { UnaryImpl } from '../../cri/server.js';
import { failedPrecondition, invalidArgument } from '../../lib/errors.js';
import type { RuntimeContext } from '../runtime-context.js';

/** Exec: a single-use URL on the streaming server for an interactive command in a running container. */
export const exec = (rt: RuntimeContext): UnaryImpl<'Exec'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  if (req.cmd.length === 0) throw invalidArgument('cmd is required');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument('one of stdin, stdout and stderr must be requested');
  if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be requested: a terminal merges them');
  const rec = await rt.containers.refresh(rt.deps.store.container(req.container_id).id);
  if (!rec || rec.state !== 'running') throw failedPrecondition(`container ${req.container_id} is not running`);
  return { url: rt.streaming.requestExec({ containerId: rec.id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};

/** Attach: a single-use URL connecting to a running container's stdio. */
export const attach = (rt: RuntimeContext): UnaryImpl<'Attach'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument('one of stdin, stdout and stderr must be requested');
  if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be requested: a terminal merges them');
  const rec = await rt.containers.refresh(rt.deps.store.container(req.container_id).id);
  if (!rec || rec.state !== 'running') throw failedPrecondition(`container ${req.container_id} is not running`);
  return { url: rt.streaming.requestAttach({ containerId: rec.id, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
};
