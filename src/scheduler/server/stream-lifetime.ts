/**
 * How long a watch or a followed log may run, as kube-apiserver bounds them: a watch ends after its
 * ?timeoutSeconds=, and every watch and log follow ends at a server timeout picked at random
 * between 1× and 2× the minimum request timeout (--min-request-timeout, 1800 s), so that clients
 * re-list, re-authenticate and spread over time. A stream also ends as soon as its caller's
 * credentials or permissions are gone (a deleted token or ServiceAccount, a removed binding):
 * checked every few seconds and, throttled, before sending.
 */
import { invalidArgument, setLongTimeout } from '../../lib/index.js';

/** kube-apiserver's --min-request-timeout default. */
export const DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS = 1800;
/** How often a stream's caller is checked again, by default. */
export const DEFAULT_STREAM_RECHECK_MS = 5000;

/** ?timeoutSeconds= of a watch: a non-negative whole number; 0 or absent means none. */
export function requestedTimeoutSeconds(url: URL): number | undefined {
  const v = url.searchParams.get('timeoutSeconds');
  if (v === null || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) throw invalidArgument(`timeoutSeconds must be a non-negative whole number of seconds, got ${JSON.stringify(v)}`);
  const n = Number(v);
  return n === 0 ? undefined : n;
}

/** The stream's lifetime in ms: the server's random timeout, shortened by the request's. */
export function streamTimeoutMs(requestedSeconds: number | undefined, minRequestTimeoutSeconds = DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS, random = Math.random): number {
  const server = minRequestTimeoutSeconds * 1000 * (1 + random());
  return requestedSeconds === undefined ? server : Math.min(server, requestedSeconds * 1000);
}

export interface StreamLifetime {
  /** False (and the stream is ended) when the caller may no longer read it; throttled. */
  check(): boolean;
  /** Clears the timers (the stream ended another way). */
  stop(): void;
}

/**
 * Calls end(reason) once: after timeoutMs, or when stillAllowed() turns false (checked every
 * recheckMs, and by check() at most once per min(1 s, recheckMs)).
 */
export function streamLifetime(opts: { timeoutMs: number; recheckMs?: number; stillAllowed?: () => boolean; end: (reason: 'timeout' | 'revoked') => void }): StreamLifetime {
  const recheckMs = opts.recheckMs ?? DEFAULT_STREAM_RECHECK_MS;
  let over = false;
  let lastCheck = Date.now();
  const finish = (reason: 'timeout' | 'revoked') => {
    if (over) return;
    over = true;
    timer.clear();
    clearInterval(recheck);
    opts.end(reason);
  };
  const allowed = (): boolean => {
    if (over) return false;
    lastCheck = Date.now();
    let ok: boolean;
    try {
      ok = opts.stillAllowed ? opts.stillAllowed() : true;
    } catch {
      ok = false;
    }
    if (!ok) finish('revoked');
    return ok;
  };
  const timer = setLongTimeout(() => finish('timeout'), opts.timeoutMs);
  const recheck = setInterval(allowed, recheckMs);
  timer.unref();
  recheck.unref();
  return {
    check: () => (over ? false : Date.now() - lastCheck < Math.min(1000, recheckMs) ? true : allowed()),
    stop: () => {
      over = true;
      timer.clear();
      clearInterval(recheck);
    },
  };
}
