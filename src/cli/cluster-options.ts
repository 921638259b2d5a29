/**
 * What every cluster command shares: the connection flags (--server, --token, --ca-cert,
 * --insecure-skip-tls-verify), the namespace flags (-n, -A), and opening a client from them.
 */
import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { resolveClientConfig, systemSources, type ClusterFlags } from './client-config.js';

/** The namespace used when -n is not given (kubectl's default context namespace). */
export const DEFAULT_NAMESPACE = 'default';

/** Flags of a command with connection and namespace options. */
export interface CommonOptions extends ClusterFlags {
  namespace?: string;
  allNamespaces?: boolean;
}

/** Adds the connection flags (they override ~/.corelet/config field by field). */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', "the scheduler's API, https://HOST:PORT (default: from ~/.corelet/config or $CORELET_CONFIG)")
    .option('--token <token>', 'API token (default: from the config file)')
    .option('--ca-cert <file>', "PEM file with the scheduler's CA (default: from the config file)")
    .option('--insecure-skip-tls-verify', "do not check the scheduler's certificate (insecure)")
    .option('--context <name>', 'the context of the config file to use (default: its currentContext)')
    .option('--as <user>', 'act as this user (impersonation: needs the "impersonate" verb)')
    .option('--as-group <group>', 'act with this group (repeatable; needs --as)', collect);
}

/** Adds -n (and, with allNamespaces, -A). */
export function withNamespaceOptions(cmd: Command, allNamespaces = false): Command {
  cmd.option('-n, --namespace <namespace>', `the namespace (default "${DEFAULT_NAMESPACE}")`);
  if (allNamespaces) cmd.option('-A, --all-namespaces', 'every namespace');
  return cmd;
}

/** The namespace the flags select. */
export function namespaceOf(opts: CommonOptions): string {
  return opts.namespace || DEFAULT_NAMESPACE;
}

/** Opens a client from the flags and config, runs fn, and closes the client (so the process can exit). */
export async function withClient<T>(opts: ClusterFlags, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = new ApiClient(resolveClientConfig(opts, systemSources()));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Collects a repeatable option's values (-f a -f b). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
