import { randomBytes } from 'node:crypto';
import { CoreletError } from '../lib/index.js';

export interface TokenCacheOptions {
  /** How long a token stays valid (default one minute). */
  ttlMs?: number;
  /** Tokens that may wait at once (default 1000); beyond it put() fails with Unavailable. */
  maxInFlight?: number;
  /** Milliseconds clock; tests inject one. */
  now?: () => number;
}

/**
 * Pending streaming requests keyed by unguessable single-use tokens: an Exec/Attach/PortForward RPC
 * puts its request here and answers with a URL holding the token; the client's HTTP request takes it
 * out. The streaming server has no other authentication, so tokens carry 128 random bits, expire,
 * and work once.
 */
export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;

  constructor(opts: TokenCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxInFlight = opts.maxInFlight ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Stores value under a new token. Throws Unavailable when maxInFlight tokens are pending. */
  put(value: T): string {
    this.sweep();
    if (this.entries.size >= this.maxInFlight) {
      throw new CoreletError(
        'Unavailable',
        `streaming server is busy: ${this.maxInFlight} streaming requests are waiting for their client to connect; retry later`,
      );
    }
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** Removes and returns the value of a valid token; undefined if unknown, used or expired. */
  take(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  /** Tokens pending (expired ones included until the next put). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops expired tokens. Every token has the same lifetime, so insertion order is expiry order. */
  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(token);
    }
  }
}
