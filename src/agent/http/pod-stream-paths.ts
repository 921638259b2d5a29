/**
 * The kubelet's streaming paths on the agent's port (pure): /exec/NS/POD/CONTAINER,
 * /attach/NS/POD/CONTAINER (each optionally with the pod's uid before the container) and
 * /portForward/NS/POD(/UID), with the options in the query as kube-apiserver sends them to a kubelet
 * (input/output/error/tty=1, command=... repeated) or as kubectl sends them to the API server
 * (stdin/stdout/stderr/tty=true).
 */
import { invalidArgument } from '../../lib/index.js';

/** What a stream on the agent's port is for. */
export interface PodStreamRequest {
  kind: 'exec' | 'attach' | 'portforward';
  namespace: string;
  name: string;
  /** The pod's uid when the path names it (a pod recreated under the same name is not the one asked for). */
  uid?: string;
  /** exec and attach: the container. */
  container?: string;
  /** exec: the command and its arguments. */
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** portforward: the ports named in the query (kubectl names them per stream instead). */
  ports: number[];
}

const TRUE = new Set(['1', 'true', 'True', 'TRUE']);

function flag(q: URLSearchParams, ...names: string[]): boolean {
  return names.some((n) => TRUE.has(q.get(n) ?? ''));
}

/**
 * The stream a path asks for; undefined when the path is not a streaming path. Throws InvalidArgument
 * (naming the field) for a malformed one.
 */
export function parsePodStreamPath(pathname: string, query: URLSearchParams): PodStreamRequest | undefined {
  const parts = pathname.split('/').slice(1).map((p) => decodeURIComponent(p));
  const verb = parts[0];
  const kind = verb === 'exec' ? 'exec' : verb === 'attach' ? 'attach' : verb === 'portForward' || verb === 'portforward' ? 'portforward' : undefined;
  if (!kind) return undefined;
  const args = parts.slice(1);
  const withContainer = kind !== 'portforward';
  const min = withContainer ? 3 : 2;
  if (args.length < min || args.length > min + 1 || args.some((a) => a === '')) {
    const shape = withContainer ? `/${verb}/NAMESPACE/POD/[UID/]CONTAINER` : `/${verb}/NAMESPACE/POD[/UID]`;
    throw invalidArgument(`path ${pathname}: expected ${shape}`);
  }
  const [namespace, name] = args as [string, string];
  const uid = args.length === min + 1 ? args[2] : undefined;
  const container = withContainer ? args[args.length - 1] : undefined;
  const command = query.getAll('command');
  if (kind === 'exec' && (command.length === 0 || command[0] === '')) throw invalidArgument('command: exec needs a command to run (command=sh&command=-c&command=...)');
  const ports = query.getAll('port').map((p) => {
    const n = Number(p);
    if (!/^[0-9]+$/.test(p) || n < 1 || n > 65535) throw invalidArgument(`port: ${JSON.stringify(p)} is not a port number (1-65535)`);
    return n;
  });
  const tty = flag(query, 'tty');
  const stdin = flag(query, 'input', 'stdin');
  const stdout = flag(query, 'output', 'stdout');
  // A TTY merges stderr into stdout.
  const stderr = !tty && flag(query, 'error', 'stderr');
  if (kind !== 'portforward' && !stdin && !stdout && !stderr) throw invalidArgument('stdin, stdout, stderr: at least one must be true');
  return { kind, namespace, name, ...(uid !== undefined ? { uid } : {}), ...(container !== undefined ? { container } : {}), command, stdin, stdout, stderr, tty, ports };
}
