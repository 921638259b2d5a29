/** The admin's connection from a CLI config file, in either shape (contexts, or the old flat one). */
import { readFile } from 'node:fs/promises';

export interface AdminConnection {
  server: string;
  token: string;
  caCert: string;
}

/** server, token and caCert of the file's current context (or of its flat fields). */
export async function readAdminConfig(path: string): Promise<AdminConnection> {
  const file = JSON.parse(await readFile(path, 'utf8'));
  if (!Array.isArray(file.contexts)) return { server: file.server, token: file.token, caCert: file.caCert };
  const ctx = file.contexts.find((c: any) => c.name === file.currentContext);
  const cluster = file.clusters.find((c: any) => c.name === ctx.cluster);
  const user = file.users.find((u: any) => u.name === ctx.user);
  return { server: cluster.server, token: user.token, caCert: cluster.caCert };
}
