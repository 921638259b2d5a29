/**
 * `corelet config get-contexts|use-context NAME|current-context|kubeconfig` (kubeconfig.ts), and adding a user's context to the
 * CLI config (`create user --set-context`). The flat file of older versions ({server, token, caCert})
 * is turned into the contexts shape the first time it is changed (cluster "corelet", user "admin").
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { configPath, isContextConfig, systemSources, type ConfigFile } from './client-config.js';
import { formatTable } from './table.js';
import { outLine } from './io.js';
import { registerKubeconfigCommand } from './kubeconfig.js';

/** The config as the contexts shape (a flat file converted), or an empty one. */
export function toContextShape(parsed: unknown): ConfigFile {
  if (isContextConfig(parsed)) {
    return { ...parsed, clusters: parsed.clusters ?? [], users: parsed.users ?? [], contexts: parsed.contexts ?? [] };
  }
  const flat = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { server?: string; token?: string; caCert?: string };
  if (!flat.server) return { clusters: [], users: [], contexts: [] };
  return {
    currentContext: 'admin@corelet',
    clusters: [{ name: 'corelet', server: flat.server, ...(flat.caCert ? { caCert: flat.caCert } : {}) }],
    users: [{ name: 'admin', ...(flat.token ? { token: flat.token } : {}) }],
    contexts: [{ name: 'admin@corelet', cluster: 'corelet', user: 'admin' }],
  };
}

/** Reads the CLI config file (its path and contents in the contexts shape). */
export function readConfigFile(): { path: string; config: ConfigFile } {
  const path = configPath(systemSources());
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let parsed: unknown = {};
  if (text !== undefined) {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path} is not valid JSON (${(err as Error).message})`, { cause: err });
    }
  }
  return { path, config: toContextShape(parsed) };
}

/** Writes the config file (0600, its folder 0700). */
export function writeConfigFile(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600); // it holds tokens: an older file may have been made with other bits
}

/** The config with a user entry and a context for it on the current context's cluster (replacing same-named ones). */
export function withUserContext(config: ConfigFile, user: ConfigFile['users'][number], contextName?: string): { config: ConfigFile; context: string } {
  const current = config.contexts.find((c) => c.name === config.currentContext) ?? config.contexts[0];
  const cluster = current?.cluster ?? config.clusters[0]?.name;
  if (!cluster) throw new Error('the CLI config names no cluster to add a context for; run `corelet scheduler init` first');
  const name = contextName ?? `${user.name}@${cluster}`;
  return {
    context: name,
    config: {
      ...config,
      users: [...config.users.filter((u) => u.name !== user.name), user],
      contexts: [...config.contexts.filter((c) => c.name !== name), { name, cluster, user: user.name }],
    },
  };
}

/** Registers `corelet config`. */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('the CLI config (~/.corelet/config or $CORELET_CONFIG): contexts of cluster and user');
  config
    .command('get-contexts')
    .description('list the contexts; * marks the current one')
    .action(() => {
      const { config: c } = readConfigFile();
      const rows = [['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE']];
      for (const ctx of c.contexts) rows.push([ctx.name === c.currentContext ? '*' : '', ctx.name, ctx.cluster, ctx.user, ctx.namespace ?? '']);
      outLine(formatTable(rows));
    });
  config
    .command('current-context')
    .description('print the current context')
    .action(() => {
      const { path, config: c } = readConfigFile();
      if (!c.currentContext) throw new Error(`current-context is not set in ${path}`);
      outLine(c.currentContext);
    });
  config
    .command('use-context <name>')
    .description('make a context the current one')
    .action((name: string) => {
      const { path, config: c } = readConfigFile();
      if (!c.contexts.some((x) => x.name === name)) throw new Error(`no context exists with the name: "${name}" (see \`corelet config get-contexts\`)`);
      writeConfigFile(path, { ...c, currentContext: name });
      outLine(`Switched to context "${name}".`);
    });
  registerKubeconfigCommand(config, () => readConfigFile().config);
}
