/** The stored token records (hashes only), in the store's meta table under "tokens". */
import { notFound } from '../../lib/index.js';
import type { MetaStore } from './meta.js';
import type { TokenRecord } from './tokens.js';

export const TOKENS_META_KEY = 'tokens';

/** Bootstrap and API token records, kept as one JSON list. */
export class TokenStore {
  constructor(private readonly meta: MetaStore) {}

  list(): TokenRecord[] {
    return JSON.parse(this.meta.getMeta(TOKENS_META_KEY) ?? '[]') as TokenRecord[];
  }

  lookup(id: string): TokenRecord | undefined {
    return this.list().find((t) => t.id === id);
  }

  add(...records: TokenRecord[]): void {
    this.meta.setMeta(TOKENS_META_KEY, JSON.stringify([...this.list(), ...records]));
  }

  /** Removes the token with this id; NotFound when there is none. */
  delete(id: string): TokenRecord {
    const all = this.list();
    const found = all.find((t) => t.id === id);
    if (!found) throw notFound(`bootstrap token ${id} not found`);
    this.meta.setMeta(TOKENS_META_KEY, JSON.stringify(all.filter((t) => t.id !== id)));
    return found;
  }
}
