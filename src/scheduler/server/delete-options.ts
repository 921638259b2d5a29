/**
 * DeleteOptions of a DELETE request, as kube-apiserver reads them: `?gracePeriodSeconds=N` in the
 * query, or a DeleteOptions body (`{"kind":"DeleteOptions","gracePeriodSeconds":N}`); the body wins
 * when both are given. Only gracePeriodSeconds is used (for pods); other fields are accepted and ignored.
 */
import { MAX_GRACE_PERIOD_SECONDS } from '../../api/index.js';
import { invalidArgument, messageOf } from '../../lib/index.js';

function checkGrace(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_GRACE_PERIOD_SECONDS) {
    throw invalidArgument(`${where}: must be a whole number of seconds between 0 and ${MAX_GRACE_PERIOD_SECONDS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The requested grace period, or undefined (the pod's own terminationGracePeriodSeconds). */
export function requestedGracePeriod(query: URLSearchParams, body: string): number | undefined {
  let grace: number | undefined;
  const q = query.get('gracePeriodSeconds');
  if (q !== null) grace = checkGrace(q, 'gracePeriodSeconds');
  if (body.trim() === '') return grace;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw invalidArgument(`DeleteOptions body: not JSON: ${messageOf(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument('DeleteOptions body: expected an object');
  const g = (parsed as { gracePeriodSeconds?: unknown }).gracePeriodSeconds;
  if (g !== undefined && g !== null) grace = checkGrace(g, 'DeleteOptions.gracePeriodSeconds');
  return grace;
}
