/**
 * Bootstrap tokens through the REST API (behind its authentication and authorization: the resource
 * "bootstraptokens" is cluster-scoped):
 *   GET    /api/v1/bootstraptokens         {kind: BootstrapTokenList, items: [{id, description, expires}]}
 *   POST   /api/v1/bootstraptokens         {ttlSeconds?, description?} → 201 {id, token, expires}: the only time the token is shown
 *   DELETE /api/v1/bootstraptokens/ID      the record; joined nodes keep working with their certificates
 * Only hashes are stored (tokens.ts); lists never show a secret.
 */
import { invalidArgument } from '../../lib/index.js';
import { DEFAULT_BOOTSTRAP_TTL_SECONDS, newTokenRecord, type TokenRecord, type TokenStore } from '../auth/index.js';

/** A bootstrap token as lists show it. */
export interface BootstrapTokenInfo {
  id: string;
  description?: string;
  /** RFC 3339; absent = never expires. */
  expires?: string;
}

const info = (r: TokenRecord): BootstrapTokenInfo => ({ id: r.id, ...(r.description ? { description: r.description } : {}), ...(r.expires ? { expires: r.expires } : {}) });

/** The answer to GET|POST bootstraptokens or DELETE bootstraptokens/ID (rest = the path after /api/v1; the router checks methods). */
export function bootstrapTokensRoute(tokens: TokenStore, method: string, rest: string[], body: string | undefined, now: Date): { status: number; body: unknown } {
  if (rest.length === 1) {
    if (method === 'GET') {
      return { status: 200, body: { kind: 'BootstrapTokenList', apiVersion: 'v1', items: tokens.list().filter((t) => t.usage === 'bootstrap').map(info) } };
    }
    if (method === 'POST') {
      let req: { ttlSeconds?: unknown; description?: unknown } = {};
      if (body && body.trim() !== '') {
        try {
          req = JSON.parse(body) as typeof req;
        } catch {
          throw invalidArgument('the body must be JSON: {"ttlSeconds": N, "description": "..."}');
        }
      }
      if (req.ttlSeconds !== undefined && (typeof req.ttlSeconds !== 'number' || !Number.isInteger(req.ttlSeconds) || req.ttlSeconds < 0)) {
        throw invalidArgument(`ttlSeconds: expected a whole number of seconds (0 = never expires), got ${JSON.stringify(req.ttlSeconds)}`);
      }
      if (req.description !== undefined && (typeof req.description !== 'string' || req.description.length > 256)) {
        throw invalidArgument('description: expected a string of at most 256 characters');
      }
      const ttl = req.ttlSeconds ?? DEFAULT_BOOTSTRAP_TTL_SECONDS;
      const { token, record } = newTokenRecord('bootstrap', { description: req.description as string | undefined, now });
      if (ttl === 0) delete record.expires;
      else record.expires = new Date(now.getTime() + ttl * 1000).toISOString();
      tokens.add(record);
      return { status: 201, body: { kind: 'BootstrapToken', apiVersion: 'v1', ...info(record), token } };
    }
  }
  // DELETE bootstraptokens/ID (the router allows nothing else)
  return { status: 200, body: { kind: 'BootstrapToken', apiVersion: 'v1', ...info(tokens.delete(rest[1])) } };
}
