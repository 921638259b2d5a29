import { CoreletError, type ErrorKind } from '../../lib/index.js';

/**
 * Pulls the human message out of what an OCI runtime printed on stderr. runc prints logfmt lines
 * (`time="…" level=error msg="container does not exist"`), or JSON lines with `--log-format json`;
 * crun prints plain text. Error-level messages win; plain text is returned trimmed.
 */
export function runtimeErrorMessage(stderr: string): string {
  const messages: string[] = [];
  const errors: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const parsed = parseLogLine(line);
    if (parsed === undefined) {
      messages.push(line);
      continue;
    }
    if (parsed.level === 'error' || parsed.level === 'fatal') errors.push(parsed.msg);
    else messages.push(parsed.msg);
  }
  const chosen = errors.length > 0 ? errors : messages;
  return chosen.join('; ');
}

/** One logfmt or JSON log line of runc: its level and msg, or undefined when it is neither. */
function parseLogLine(line: string): { level: string; msg: string } | undefined {
  if (line.startsWith('{')) {
    try {
      const obj = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (typeof obj.msg === 'string') return { level: String(obj.level ?? ''), msg: obj.msg };
    } catch {
      // not JSON after all: fall through to logfmt
    }
  }
  const msg = logfmtValue(line, 'msg');
  if (msg === undefined) return undefined;
  return { level: logfmtValue(line, 'level') ?? '', msg };
}

/** The value of key in a logfmt line, unquoting `"…"` values with Go-style escapes. */
function logfmtValue(line: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|\\s)${key}=`);
  const m = re.exec(line);
  if (!m) return undefined;
  let i = m.index + m[0].length;
  if (line[i] !== '"') {
    const end = line.indexOf(' ', i);
    return end === -1 ? line.slice(i) : line.slice(i, end);
  }
  i++;
  let out = '';
  while (i < line.length) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      const n = line[i + 1];
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      i += 2;
      continue;
    }
    if (c === '"') return out;
    out += c;
    i++;
  }
  return out;
}

/**
 * The error kind a runtime message stands for: NotFound when the runtime does not know the
 * container, AlreadyExists for a duplicate id, FailedPrecondition when the container is in the
 * wrong state for the command, Internal otherwise.
 */
export function classifyRuntimeError(message: string): ErrorKind {
  const m = message.toLowerCase();
  // runc: "container does not exist"; crun: "error opening file `<root>/<id>/status`: No such file…"
  if (m.includes('container does not exist') || /\/status`?: no such file or directory/.test(m)) return 'NotFound';
  if (m.includes('already exists')) return 'AlreadyExists';
  if (
    m.includes('not running') ||
    m.includes('already running') ||
    m.includes('cannot start') ||
    m.includes('is paused') ||
    m.includes('not paused') ||
    m.includes('is stopped') ||
    m.includes('stopped container') ||
    m.includes('container is not')
  ) {
    return 'FailedPrecondition';
  }
  return 'Internal';
}

/**
 * The CoreletError for a failed runtime command: the runtime's own message (so the user sees
 * "container does not exist", not "exit code 1"), the command for context, the kind from the message.
 */
export function runtimeError(command: string, id: string, stderr: string, exitCode: number | null): CoreletError {
  const message = runtimeErrorMessage(stderr) || `exited with code ${exitCode ?? 'unknown'}`;
  return new CoreletError(classifyRuntimeError(message), `${command} ${id}: ${message}`);
}
