/**
 * Where the cluster CLI finds the scheduler and its credentials, like kubectl's kubeconfig: the JSON
 * file `corelet scheduler init` writes ({server, token, caCert}) at ~/.corelet/config, or the file
 * $CORELET_CONFIG names; --server, --token, --ca-cert and --insecure-skip-tls-verify override it
 * field by field. Only this module reads the environment and the config file.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The connection flags every cluster command takes. */
export interface ClusterFlags {
  server?: string;
  token?: string;
  /** A PEM file with the CA that signed the scheduler's certificate. */
  caCert?: string;
  insecureSkipTlsVerify?: boolean;
}

/** How to reach the scheduler, settled. */
export interface ClientConfig {
  /** "https://HOST:PORT". */
  server: string;
  token: string;
  /** PEM of the CA to trust; undefined: the system's CAs. */
  caCert?: string;
  insecureSkipTlsVerify: boolean;
}

/** What resolution reads from the outside world (tests pass their own). */
export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** The file's text, or undefined when it does not exist. */
  readFile: (path: string) => string | undefined;
}

/** The real environment, home directory and files. */
export function systemSources(): ConfigSources {
  return {
    env: process.env,
    home: homedir(),
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`cannot read ${path}: ${(err as Error).message}`);
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

/**
 * Settles the connection: the flags, over the config file's fields. Fails with what to do when the
 * file is missing and the flags do not say enough, or when the file is not the expected JSON.
 */
export function resolveClientConfig(flags: ClusterFlags, src: ConfigSources): ClientConfig {
  const path = configPath(src);
  const text = src.readFile(path);
  let file: { server?: unknown; token?: unknown; caCert?: unknown } = {};
  if (text !== undefined) {
    try {
      file = JSON.parse(text) as typeof file;
    } catch (err) {
      throw new Error(`${path} is not valid JSON (${(err as Error).message}); it should hold {"server", "token", "caCert"} as \`corelet scheduler init\` writes it`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new Error(`${path} should hold a JSON object {"server", "token", "caCert"}`);
  } else if (!flags.server || !flags.token) {
    const named = src.env.CORELET_CONFIG ? ` ($CORELET_CONFIG names ${path}, which does not exist)` : ` (${path} does not exist)`;
    throw new Error(`no cluster configured${named}: run \`corelet scheduler init\` or pass --server and --token`);
  }
  for (const field of ['server', 'token', 'caCert'] as const) {
    if (file[field] !== undefined && typeof file[field] !== 'string') throw new Error(`${path}: "${field}" must be a string`);
  }
  const server = flags.server ?? (file.server as string | undefined);
  const token = flags.token ?? (file.token as string | undefined);
  if (!server) throw new Error(`no scheduler address: pass --server https://HOST:PORT or set "server" in ${path}`);
  if (!token) throw new Error(`no API token: pass --token or set "token" in ${path} (\`corelet scheduler init\` writes one)`);
  let caCert = file.caCert as string | undefined;
  if (flags.caCert) {
    const pem = src.readFile(flags.caCert);
    if (pem === undefined) throw new Error(`--ca-cert ${flags.caCert}: no such file`);
    caCert = pem;
  }
  return {
    server: normalizeServer(server, flags.server ? '--server' : path),
    token: token.trim(),
    caCert,
    insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true,
  };
}
