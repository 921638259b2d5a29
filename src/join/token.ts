/**
 * The token format (kubeadm's bootstrap-token format, "<id>.<secret>" = [a-z0-9]{6}.[a-z0-9]{16}):
 * parsed by the agent (--token) and by the control plane (which issues, hashes and checks tokens:
 * scheduler/auth/tokens.ts).
 */
import { invalidArgument } from '../lib/index.js';

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** The format, as shown in error messages. */
export const TOKEN_FORMAT = '[a-z0-9]{6}.[a-z0-9]{16}';

/** A token split into its public id and its secret. */
export interface ParsedToken {
  id: string;
  secret: string;
}

/**
 * Splits a token into id and secret. Throws InvalidArgument naming the expected format; the message
 * never repeats the input (it may be a real secret pasted in the wrong place).
 */
export function parseToken(token: string): ParsedToken {
  const m = TOKEN_RE.exec(token);
  if (!m) {
    const why = token === '' ? 'it is empty' : !token.includes('.') ? 'it has no "." between id and secret' : 'wrong length or characters (lower-case letters and digits only)';
    throw invalidArgument(`invalid token: expected the format ${TOKEN_FORMAT}, but ${why}`);
  }
  return { id: m[1], secret: m[2] };
}

/** True when s has the token format. */
export function isTokenFormat(s: string): boolean {
  return TOKEN_RE.test(s);
}
