/** The part of the store the auth records live in: named JSON values (the store's meta table). */
export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string | undefined): void;
}
