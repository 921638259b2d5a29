/**
 * The CLI config `scheduler init` writes: kubeconfig-like JSON (clusters, users, contexts,
 * currentContext), read by src/cli/client-config.ts. Re-running init replaces its own cluster, user
 * and context and keeps the others; a file in the old flat shape ({server, token, caCert}) is replaced.
 */
import { readFile } from 'node:fs/promises';

export const INIT_CLUSTER = 'corelet';
export const INIT_USER = 'admin';
export const INIT_CONTEXT = 'admin@corelet';

interface Named {
  name: string;
  [k: string]: unknown;
}

/** The file's text, or undefined when it does not exist. */
export async function readConfigText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The config with init's cluster, admin user and context (made current). */
export function withInitContext(existing: string | undefined, c: { server: string; token: string; caCert: string }): Record<string, unknown> {
  let old: Record<string, unknown> = {};
  try {
    const parsed = existing === undefined ? {} : (JSON.parse(existing) as unknown);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Array.isArray((parsed as Record<string, unknown>).contexts)) old = parsed as Record<string, unknown>;
  } catch {
    // not JSON: replaced
  }
  const keep = (list: unknown, name: string): Named[] =>
    (Array.isArray(list) ? list : []).filter((e): e is Named => typeof e === 'object' && e !== null && (e as Named).name !== name);
  return {
    currentContext: INIT_CONTEXT,
    clusters: [...keep(old.clusters, INIT_CLUSTER), { name: INIT_CLUSTER, server: c.server, caCert: c.caCert }],
    users: [...keep(old.users, INIT_USER), { name: INIT_USER, token: c.token }],
    contexts: [...keep(old.contexts, INIT_CONTEXT), { name: INIT_CONTEXT, cluster: INIT_CLUSTER, user: INIT_USER }],
  };
}
