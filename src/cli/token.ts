/**
 * `corelet token create|list|delete`: the agents' bootstrap tokens, through the scheduler's API
 * (/api/v1/bootstraptokens), as `kubeadm token` manages them. `create` prints the token once; the
 * scheduler keeps only its hash.
 */
import type { Command } from 'commander';
import { NODE_PATHS } from '../lib/index.js';
import type { ClusterFlags } from './client-config.js';
import { withClient, withConnectionOptions } from './cluster-options.js';
import { parseDuration } from './progress.js';
import { age, formatTable } from './table.js';
import { outLine } from './io.js';

const PATH = '/api/v1/bootstraptokens';

interface TokenInfo {
  id: string;
  description?: string;
  expires?: string;
  token?: string;
}

/** "24h", "90m", "0" (never) → seconds. */
export function ttlSeconds(text: string, flag = '--ttl'): number {
  const ms = parseDuration(text, flag);
  if (ms !== 0 && ms < 1000) throw new Error(`${flag}: "${text}" is under a second; use e.g. 30m, 24h, or 0 for a token that never expires`);
  return Math.round(ms / 1000);
}

/** Registers `corelet token`. */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description("manage the agents' bootstrap tokens (joining nodes)");

  const create = token
    .command('create')
    .description('create a bootstrap token and print it (shown only once)')
    .option('--ttl <duration>', 'how long the token can join nodes (e.g. 30m, 24h); 0 = never expires', '24h')
    .option('--description <text>', 'what the token is for')
    .option('--print-join-command', 'print the whole `corelet agent` command (token written to a 0600 file first)');
  withConnectionOptions(create).action(async (opts: ClusterFlags & { ttl: string; description?: string; printJoinCommand?: boolean }) => {
    const ttl = ttlSeconds(opts.ttl);
    await withClient(opts, async (client) => {
      const { body } = await client.request<TokenInfo>('POST', PATH, { json: { ttlSeconds: ttl, ...(opts.description ? { description: opts.description } : {}) } });
      if (!opts.printJoinCommand) {
        outLine(String(body.token));
        return;
      }
      if (!client.config.caCert) throw new Error('--print-join-command needs the cluster CA (caCert in the CLI config or --ca-cert) to print its hash');
      const server = client.config.server.replace(/^https:/, 'wss:');
      // Loaded here: the PKI module brings node-forge, which no other token verb needs.
      const { caCertHash } = await import('../join/index.js');
      outLine(`umask 077; echo ${body.token} > ${NODE_PATHS.bootstrapTokenFile}`);
      outLine(`corelet agent --server ${server} --token-file ${NODE_PATHS.bootstrapTokenFile} --ca-cert-hash ${caCertHash(client.config.caCert)}`);
    });
  });

  const list = token.command('list').description('list the bootstrap tokens (ids only: secrets are not kept)');
  withConnectionOptions(list).action(async (opts: ClusterFlags) => {
    await withClient(opts, async (client) => {
      const { items } = await client.get<{ items: TokenInfo[] }>(PATH);
      const now = new Date();
      const rows = items.map((t) => [t.id, t.expires ? (Date.parse(t.expires) <= now.getTime() ? '<expired>' : untilText(t.expires, now)) : '<forever>', t.expires ?? '<never>', t.description ?? '']);
      outLine(formatTable([['TOKEN ID', 'TTL', 'EXPIRES', 'DESCRIPTION'], ...rows]).trimEnd());
    });
  });

  const del = token.command('delete <id>').description('delete a bootstrap token (nodes that joined with it keep working with their certificates)');
  withConnectionOptions(del).action(async (id: string, opts: ClusterFlags) => {
    // Accept a whole token too (kubeadm does), but never echo its secret.
    const tokenId = id.includes('.') ? id.slice(0, id.indexOf('.')) : id;
    if (!/^[a-z0-9]{6}$/.test(tokenId)) throw new Error('expected a token id: 6 lower-case letters or digits (`corelet token list` shows them)');
    await withClient(opts, (client) => client.delete(`${PATH}/${tokenId}`));
    outLine(`bootstrap token "${tokenId}" deleted`);
  });
}

/** "23h" until the timestamp (age() measures from the past, so flip it). */
function untilText(expires: string, now: Date): string {
  return age(new Date(2 * now.getTime() - Date.parse(expires)).toISOString(), now);
}
