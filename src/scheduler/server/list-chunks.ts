/**
 * The list and watch parameters of kube-apiserver that concern versions: ?limit= and ?continue= (a
 * list in chunks), ?resourceVersion= on a watch (resume after that version) and
 * ?sendInitialEvents=true (a watch that starts with the current state whatever the version). The
 * continue token is opaque to clients: base64 of {"rv": the first chunk's version, "ns", "name": the
 * last object sent, "t": when the first chunk was read}. A token lives {@link CONTINUE_TOKEN_TTL_SECONDS}
 * (kube-apiserver's tokens live until etcd compacts their revision, every 5 minutes by default).
 */
import { invalidArgument } from '../../lib/index.js';

/** How long a continue token can be used. */
export const CONTINUE_TOKEN_TTL_SECONDS = 300;

/** Where a chunked list goes on. */
export interface ContinueToken {
  /** The resourceVersion of the list's first chunk (every chunk reports it). */
  rv: string;
  namespace: string;
  name: string;
  /** When the list's first chunk was read (seconds since the epoch). */
  issuedAt: number;
}

/** What a list or watch request asks about versions and chunks. */
export interface VersionParams {
  /** ?limit=N (a positive integer; 0 or absent: everything). */
  limit?: number;
  continueFrom?: ContinueToken;
  /** A watch's ?resourceVersion=N other than "" and "0": only changes after N. */
  resumeFrom?: number;
  /** ?sendInitialEvents=true: the watch starts with the current objects even when resuming. */
  sendInitialEvents: boolean;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ rv: token.rv, ns: token.namespace, name: token.name, t: token.issuedAt })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    o = undefined;
  }
  const t = o as { rv?: unknown; ns?: unknown; name?: unknown; t?: unknown } | undefined;
  if (typeof t !== 'object' || t === null || typeof t.rv !== 'string' || !/^[0-9]+$/.test(t.rv) || typeof t.ns !== 'string' || typeof t.name !== 'string' || !Number.isInteger(t.t)) {
    throw invalidArgument('continue: the token is not one this server gave (list again without it)');
  }
  return { rv: t.rv, namespace: t.ns, name: t.name, issuedAt: t.t as number };
}

/** The version parameters of a request, each checked (the error names the parameter). */
export function versionParams(q: URLSearchParams): VersionParams {
  const out: VersionParams = { sendInitialEvents: q.get('sendInitialEvents') === 'true' };
  const limit = q.get('limit');
  if (limit !== null && limit !== '') {
    if (!/^[0-9]+$/.test(limit)) throw invalidArgument(`limit must be a non-negative integer, got ${JSON.stringify(limit)}`);
    if (Number(limit) > 0) out.limit = Math.min(Number(limit), 2 ** 31 - 1);
  }
  const cont = q.get('continue');
  if (cont) out.continueFrom = decodeContinue(cont);
  const rv = q.get('resourceVersion');
  if (rv !== null && rv !== '' && rv !== '0') {
    if (!/^[1-9][0-9]*$/.test(rv)) throw invalidArgument(`resourceVersion: Invalid value: ${JSON.stringify(rv)}: must be a decimal resourceVersion this server gave`);
    out.resumeFrom = Number(rv);
  }
  return out;
}
