/**
 * `corelet config kubeconfig`: a kubeconfig (kubectl's, client-go's) for the current context of the
 * CLI config, or --context's: the scheduler's URL and CA, the user's token or client certificate
 * embedded, the context's namespace. `corelet config kubeconfig > ~/.kube/config` and kubectl talks
 * to the cluster as that user.
 */
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { resolveClientConfig, systemSources, type ClientConfig, type ConfigFile } from './client-config.js';
import { outLine } from './io.js';

const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');

/** The kubeconfig (as an object) for a resolved client config; names are "corelet" and the user's. */
export function kubeconfigOf(cfg: ClientConfig, names: { cluster: string; user: string; context: string }): Record<string, unknown> {
  const cluster: Record<string, unknown> = { server: cfg.server };
  if (cfg.caCert) cluster['certificate-authority-data'] = b64(cfg.caCert);
  if (cfg.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = {};
  if (cfg.token) user.token = cfg.token;
  if (cfg.clientCert && cfg.clientKey) {
    user['client-certificate-data'] = b64(cfg.clientCert);
    user['client-key-data'] = b64(cfg.clientKey);
  }
  if (cfg.impersonateUser) user.as = cfg.impersonateUser;
  if (cfg.impersonateGroups?.length) user['as-groups'] = cfg.impersonateGroups;
  const context: Record<string, unknown> = { cluster: names.cluster, user: names.user };
  if (cfg.namespace) context.namespace = cfg.namespace;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: names.cluster, cluster }],
    users: [{ name: names.user, user }],
    contexts: [{ name: names.context, context }],
    'current-context': names.context,
    preferences: {},
  };
}

/** Registers `corelet config kubeconfig` under `corelet config`; readConfig gives the CLI config file's contexts. */
export function registerKubeconfigCommand(config: Command, readConfig: () => ConfigFile): void {
  config
    .command('kubeconfig')
    .description("print a kubeconfig for kubectl with the current context's server, CA and credentials (corelet config kubeconfig > ~/.kube/config)")
    .option('--context <name>', 'the context of the CLI config to export (default: its currentContext)')
    .action((opts: { context?: string }) => {
      const cfg = resolveClientConfig({ context: opts.context }, systemSources());
      if (!cfg.token && !(cfg.clientCert && cfg.clientKey)) {
        throw new Error('the context has no credentials (a token or a client certificate) to put in a kubeconfig; see `corelet config get-contexts`');
      }
      const file = readConfig();
      const name = opts.context ?? file.currentContext;
      const ctx = file.contexts.find((c) => c.name === name);
      const names = ctx ? { cluster: ctx.cluster, user: ctx.user, context: ctx.name } : { cluster: 'corelet', user: 'admin', context: 'admin@corelet' };
      outLine(yaml().stringify(kubeconfigOf(cfg, names)).trimEnd());
    });
}
