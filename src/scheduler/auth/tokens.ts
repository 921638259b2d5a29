/**
 * Tokens in kubeadm's bootstrap-token format, "<id>.<secret>" = [a-z0-9]{6}.[a-z0-9]{16}: bootstrap
 * tokens for agents joining, and API tokens for the CLI. The id is public (it names the token in
 * lists and logs); only a hash of the whole token is stored.
 *
 * The hash is a plain SHA-256, not scrypt: the secret is 16 random characters from 36 (about 82 bits),
 * so a slow hash adds nothing against guessing, and a fast one keeps per-request API checks cheap.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { CoreletError, invalidArgument, messageOf } from '../../lib/index.js';
import { isTokenFormat, parseToken, type ParsedToken } from '../../join/index.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HASH_RE = /^sha256:[0-9a-f]{64}$/;

/** kubeadm's default bootstrap token lifetime: 24 hours. */
export const DEFAULT_BOOTSTRAP_TTL_SECONDS = 24 * 60 * 60;

/** What a token may be used for. */
export type TokenUsage = 'bootstrap' | 'api';

/** A token as the scheduler stores it: never the secret, only its hash. */
export interface TokenRecord {
  /** The public part, "abcdef". */
  id: string;
  /** {@link hashToken} of the whole token. */
  hash: string;
  usage: TokenUsage;
  /** For API tokens: the corelet user the token authenticates as. */
  user?: string;
  /** For API tokens: the user's groups ("system:masters" for the admin `scheduler init` makes). */
  groups?: string[];
  /** For service-account tokens: the ServiceAccount (the token dies with it: same uid required). */
  serviceAccount?: { namespace: string; name: string; uid: string };
  description?: string;
  /** RFC 3339; absent = never expires. */
  expires?: string;
}

/**
 * A presented token was refused: malformed, unknown, wrong secret, expired or for another use. Kind
 * InvalidArgument (the error module has no "unauthenticated" kind): HTTP servers map this class to
 * 401 and the node socket closes with it. Messages name the token id, never the secret.
 */
export class AuthenticationError extends CoreletError {
  constructor(message: string) {
    super('InvalidArgument', message);
    this.name = 'AuthenticationError';
  }
}

function randomString(n: number): string {
  let s = '';
  // randomInt draws uniformly (rejection sampling), so no character is likelier than another.
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A new random token, "abcdef.0123456789abcdef". */
export function generateToken(): string {
  return `${randomString(6)}.${randomString(16)}`;
}

/** "sha256:<hex>" of a token (validated first; throws InvalidArgument when malformed). */
export function hashToken(token: string): string {
  parseToken(token);
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/**
 * True when presented is the token whose hash is storedHash. Compares in constant time; a malformed
 * presented token is simply false. Throws InvalidArgument when storedHash is not a {@link hashToken}
 * value (a corrupt store should be loud, not "wrong password").
 */
export function verifyToken(presented: string, storedHash: string): boolean {
  if (!HASH_RE.test(storedHash)) throw invalidArgument('stored token hash is malformed');
  if (!isTokenFormat(presented)) return false;
  const got = createHash('sha256').update(presented).digest();
  const want = Buffer.from(storedHash.slice('sha256:'.length), 'hex');
  return timingSafeEqual(got, want);
}

/** A new token and the record to store for it. The token is shown once; only the record is kept. */
export function newTokenRecord(
  usage: TokenUsage,
  options: { ttlSeconds?: number; user?: string; groups?: string[]; serviceAccount?: TokenRecord['serviceAccount']; description?: string; now?: Date } = {},
): { token: string; record: TokenRecord } {
  const token = generateToken();
  const now = options.now ?? new Date();
  const ttl = options.ttlSeconds ?? (usage === 'bootstrap' ? DEFAULT_BOOTSTRAP_TTL_SECONDS : undefined);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) throw invalidArgument(`token lifetime must be a positive number of seconds, got ${ttl}`);
  if (usage === 'api' && !options.user) throw invalidArgument('an API token needs the user it authenticates as');
  const record: TokenRecord = { id: parseToken(token).id, hash: hashToken(token), usage };
  if (options.user) record.user = options.user;
  if (options.groups) record.groups = [...options.groups];
  if (options.serviceAccount) record.serviceAccount = { ...options.serviceAccount };
  if (options.description) record.description = options.description;
  if (ttl !== undefined) record.expires = new Date(now.getTime() + ttl * 1000).toISOString();
  return { token, record };
}

/**
 * Checks a presented token against the stored records: format, known id, secret, usage and expiry.
 * Returns the matching record or throws {@link AuthenticationError} with the reason
 * ("token abcdef has expired", "token abcdef: wrong secret").
 */
export function authenticateToken(
  presented: string,
  lookup: (id: string) => TokenRecord | undefined,
  usage: TokenUsage,
  now: Date = new Date(),
): TokenRecord {
  let parsed: ParsedToken;
  try {
    parsed = parseToken(presented);
  } catch (err) {
    throw new AuthenticationError(messageOf(err));
  }
  const record = lookup(parsed.id);
  if (!record) throw new AuthenticationError(`token ${parsed.id} is not known to this scheduler (deleted, or made for another cluster)`);
  if (!verifyToken(presented, record.hash)) throw new AuthenticationError(`token ${parsed.id}: wrong secret`);
  if (record.usage !== usage) throw new AuthenticationError(`token ${parsed.id} is a ${record.usage} token and cannot be used for ${usage === 'api' ? 'the API' : 'joining nodes'}`);
  if (record.expires !== undefined && Date.parse(record.expires) <= now.getTime()) {
    throw new AuthenticationError(`token ${parsed.id} expired at ${record.expires}`);
  }
  return record;
}

/**
 * The token of an "Authorization: Bearer <token>" header, or undefined when the header is absent or
 * uses another scheme.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
}
