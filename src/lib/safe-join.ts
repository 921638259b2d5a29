import { isAbsolute, relative, resolve, sep } from 'node:path';
import { invalidArgument } from './errors.js';

/**
 * Joins parts under root and refuses any result outside it: every part must be a relative path
 * without NUL bytes and without '..' components (empty parts, absolute parts and '.'-only parts are
 * refused too), and the resolved result must lie under root. Use it for every path built from an
 * API or request value (pod uid, namespace, names, subPath, ...): `what` names the value in errors.
 * It works on the string only: symlinks inside root are not resolved (see subPath for that).
 */
export function safeJoin(root: string, parts: readonly string[], what = 'path'): string {
  if (typeof root !== 'string' || root === '' || root.includes('\0')) throw invalidArgument(`${what}: invalid root ${JSON.stringify(root)}`);
  const base = resolve(root);
  for (const part of parts) {
    const problem = pathPartProblem(part);
    if (problem) throw invalidArgument(`${what}: ${JSON.stringify(part)} ${problem}`);
  }
  const out = resolve(base, ...parts);
  const rel = relative(base, out);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw invalidArgument(`${what}: ${JSON.stringify(parts.join('/'))} leaves ${base}`);
  }
  return out;
}

/** Why a path part cannot be joined under a root, or undefined when it can. */
export function pathPartProblem(part: string): string | undefined {
  if (typeof part !== 'string' || part === '') return 'must be a non-empty string';
  if (part.includes('\0')) return 'must not contain NUL bytes';
  if (isAbsolute(part)) return 'must be a relative path';
  const components = part.split('/');
  if (components.includes('..')) return "must not contain '..'";
  if (components.every((c) => c === '' || c === '.')) return 'must name something below the root';
  return undefined;
}

/** s itself when it can be one path component (non-empty, no '/', no NUL, not '.' or '..'); else InvalidArgument naming `what`. */
export function safeSegment(s: string, what: string): string {
  if (typeof s !== 'string' || s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) {
    throw invalidArgument(`${what} ${JSON.stringify(s)} cannot be used as a file name`);
  }
  return s;
}
