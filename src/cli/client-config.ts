/**
 * Where the cluster CLI finds the scheduler and its credentials, like kubectl's kubeconfig: the JSON
 * file `corelet scheduler init` writes ({server, token, caCert}) at ~/.corelet/config, or the file
 * $CORELET_CONFIG names; --server, --token, --ca-cert and --insecure-skip-tls-verify override it
 * field by field. Only this module reads the environment (through io.ts) and the config file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliIo, homeDir } from './io.js';

/** The connection flags every cluster command takes. */
export interface ClusterFlags {
  server?: string;
  token?: string;
  /** A PEM file with the CA that signed the scheduler's certificate. */
  caCert?: string;
  insecureSkipTlsVerify?: boolean;
  /** The context of the config file to use instead of its currentContext. */
  context?: string;
  /** Impersonation (needs the "impersonate" verb): --as USER, --as-group G. */
  as?: string;
  asGroup?: string[];
}

/** How to reach the scheduler, settled. */
export interface ClientConfig {
  /** "https://HOST:PORT". */
  server: string;
  /** Bearer token; absent when a client certificate authenticates. */
  token?: string;
  /** PEM of the CA to trust; undefined: the system's CAs. */
  caCert?: string;
  insecureSkipTlsVerify: boolean;
  /** PEM client certificate and key (a context whose user has client-certificate files). */
  clientCert?: string;
  clientKey?: string;
  /** The context's namespace, when it names one. */
  namespace?: string;
  impersonateUser?: string;
  impersonateGroups?: string[];
}

/** What resolution reads from the outside world (tests pass their own). */
export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** The file's text, or undefined when it does not exist. */
  readFile: (path: string) => string | undefined;
}

/** The real environment (the running command's: see io.ts), home directory and files. */
export function systemSources(): ConfigSources {
  return {
    env: cliIo().env,
    home: homeDir(),
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** The config file to read: $CORELET_CONFIG, else ~/.corelet/config. */
export function configPath(src: Pick<ConfigSources, 'env' | 'home'>): string {
  return src.env.CORELET_CONFIG || join(src.home, '.corelet', 'config');
}

/** "HOST:PORT" → "https://HOST:PORT"; the scheduler speaks HTTPS only. */
export function normalizeServer(server: string, where: string): string {
  const s = server.trim().replace(/\/+$/, '');
  if (/^https:\/\//i.test(s)) return s;
  if (/^wss:\/\//i.test(s)) return `https://${s.slice(6)}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw new Error(`${where}: "${server}" is not an https:// address; the scheduler's API is https://HOST:PORT`);
  return `https://${s}`;
}

/** A named entry of the config file. */
interface Named {
  name: string;
  [field: string]: unknown;
}

/** The kubeconfig-like shape: clusters, users, contexts, currentContext. */
export interface ConfigFile {
  currentContext?: string;
  clusters: { name: string; server: string; caCert?: string; insecureSkipTlsVerify?: boolean }[];
  users: { name: string; token?: string; clientCertificate?: string; clientKey?: string }[];
  contexts: { name: string; cluster: string; user: string; namespace?: string }[];
}

/** True when parsed config text has the contexts shape (rather than the flat {server, token, caCert}). */
export function isContextConfig(file: unknown): file is ConfigFile {
  return typeof file === 'object' && file !== null && !Array.isArray(file) && Array.isArray((file as Record<string, unknown>).contexts);
}

function entry<T extends Named>(list: unknown, name: string, what: string, path: string): T {
  const found = (Array.isArray(list) ? list : []).find((e): e is T => typeof e === 'object' && e !== null && (e as Named).name === name);
  if (!found) throw new Error(`${path}: no ${what} named "${name}"`);
  return found;
}

/** The flat fields a context stands for: server, CA, token or certificate files, namespace. */
function fromContext(file: ConfigFile, name: string, path: string, src: ConfigSources) {
  const ctx = entry<ConfigFile['contexts'][number] & Named>(file.contexts, name, 'context', path);
  const cluster = entry<ConfigFile['clusters'][number] & Named>(file.clusters, ctx.cluster, 'cluster', path);
  const user = entry<ConfigFile['users'][number] & Named>(file.users, ctx.user, 'user', path);
  const read = (f: unknown, field: string) => {
    if (typeof f !== 'string') throw new Error(`${path}: user "${user.name}": "${field}" must be a file path`);
    const text = src.readFile(f);
    if (text === undefined) throw new Error(`${path}: user "${user.name}": ${field} ${f}: no such file`);
    return text;
  };
  return {
    server: cluster.server,
    caCert: cluster.caCert,
    insecure: cluster.insecureSkipTlsVerify === true,
    token: user.token,
    clientCert: user.clientCertificate !== undefined ? read(user.clientCertificate, 'clientCertificate') : undefined,
    clientKey: user.clientKey !== undefined ? read(user.clientKey, 'clientKey') : undefined,
    namespace: ctx.namespace,
  };
}

/**
 * Settles the connection: the flags, over the config file's fields (the file's current context, or
 * --context, when it has contexts). Fails with what to do when the file is missing and the flags do
 * not say enough, or when the file is not the expected JSON.
 */
export function resolveClientConfig(flags: ClusterFlags, src: ConfigSources): ClientConfig {
  const path = configPath(src);
  const text = src.readFile(path);
  let file: { server?: unknown; token?: unknown; caCert?: unknown } = {};
  let ctx: ReturnType<typeof fromContext> | undefined;
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path} is not valid JSON (${(err as Error).message}); it should hold {"server", "token", "caCert"} as \`corelet scheduler init\` writes it`, { cause: err });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path} should hold a JSON object {"server", "token", "caCert"}`);
    if (isContextConfig(parsed)) {
      const name = flags.context ?? parsed.currentContext;
      if (!name) throw new Error(`${path}: no current context: pick one with \`corelet config use-context NAME\` or pass --context`);
      ctx = fromContext(parsed, name, path, src);
      file = { server: ctx.server, token: ctx.token, caCert: ctx.caCert };
    } else {
      if (flags.context) throw new Error(`--context ${flags.context}: ${path} has no contexts (it is the flat {"server", "token", "caCert"} file)`);
      file = parsed as typeof file;
    }
  } else if (!flags.server || !flags.token) {
    const named = src.env.CORELET_CONFIG ? ` ($CORELET_CONFIG names ${path}, which does not exist)` : ` (${path} does not exist)`;
    throw new Error(`no cluster configured${named}: run \`corelet scheduler init\` or pass --server and --token`);
  }
  for (const field of ['server', 'token', 'caCert'] as const) {
    if (file[field] !== undefined && typeof file[field] !== 'string') throw new Error(`${path}: "${field}" must be a string`);
  }
  const server = flags.server ?? (file.server as string | undefined);
  const token = flags.token ?? (file.token as string | undefined);
  const certAuth = !flags.token && ctx?.clientCert !== undefined && ctx.clientKey !== undefined;
  if (!server) throw new Error(`no scheduler address: pass --server https://HOST:PORT or set "server" in ${path}`);
  if (!token && !certAuth) throw new Error(`no API token: pass --token or set "token" in ${path} (\`corelet scheduler init\` writes one)`);
  let caCert = file.caCert as string | undefined;
  if (flags.caCert) {
    const pem = src.readFile(flags.caCert);
    if (pem === undefined) throw new Error(`--ca-cert ${flags.caCert}: no such file`);
    caCert = pem;
  }
  const out: ClientConfig = {
    server: normalizeServer(server, flags.server ? '--server' : path),
    ...(token && !certAuth ? { token: token.trim() } : {}),
    caCert,
    insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true || ctx?.insecure === true,
  };
  if (certAuth) {
    out.clientCert = ctx!.clientCert;
    out.clientKey = ctx!.clientKey;
  }
  if (ctx?.namespace) out.namespace = ctx.namespace;
  if (flags.as) out.impersonateUser = flags.as;
  if (flags.asGroup && flags.asGroup.length > 0) {
    if (!flags.as) throw new Error('--as-group needs --as USER');
    out.impersonateGroups = flags.asGroup;
  }
  return out;
}
