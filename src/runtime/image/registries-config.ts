import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { errnoCode, invalidArgument } from '../../lib/index.js';

/** TLS settings for one registry host (registries.yaml `configs.<host>.tls`). */
export interface TlsSettings {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify: boolean;
  /** Contents of caFile/certFile/keyFile, filled by loadRegistriesConfig. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Credentials for one registry host (registries.yaml `configs.<host>.auth`). */
export interface RegistryAuthConfig {
  username?: string;
  password?: string;
  /** base64 of `username:password`. */
  auth?: string;
  identityToken?: string;
}

/** A mirror rewrite rule: regex over the repository path and its replacement (`$1` groups). */
export interface MirrorRewrite {
  source: string;
  pattern: RegExp;
  replacement: string;
}

/** registries.yaml `mirrors.<registry>`: endpoints tried in order, then the registry itself. */
export interface MirrorConfig {
  /** Normalised endpoint URLs (scheme://host[:port][/path]). */
  endpoints: string[];
  rewrites: MirrorRewrite[];
}

/** registries.yaml `configs.<host>`. */
export interface RegistryHostConfig {
  auth?: RegistryAuthConfig;
  tls?: TlsSettings;
}

/** The compiled /etc/corelet/registries.yaml (k3s's format). Keys may be `*` (applies to all). */
export interface RegistriesConfig {
  readonly mirrors: ReadonlyMap<string, MirrorConfig>;
  readonly configs: ReadonlyMap<string, RegistryHostConfig>;
}

/** A configuration with no mirrors and no per-host settings. */
export function emptyRegistriesConfig(): RegistriesConfig {
  return { mirrors: new Map(), configs: new Map() };
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates registries.yaml text (no file access: TLS files are read by
 * loadRegistriesConfig). Errors are InvalidArgument and name the offending field, e.g.
 * `registries.yaml: mirrors["docker.io"].endpoint[0]: ...`.
 */
export function parseRegistriesConfig(text: string, source = 'registries.yaml'): RegistriesConfig {
  const fail = (field: string, why: string) => invalidArgument(`${source}: ${field}: ${why}`);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalidArgument(`${source}: not valid YAML: ${(err as Error).message}`, err);
  }
  if (doc === null || doc === undefined) return emptyRegistriesConfig();
  if (!isObject(doc)) throw fail('(top level)', 'must be a mapping with mirrors and configs');
  checkKeys(doc, ['mirrors', 'configs'], '(top level)', fail);

  const optString = (o: Obj, key: string, field: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw fail(`${field}.${key}`, 'must be a string');
    return v;
  };
  const section = (key: string): Obj => {
    const v = doc[key];
    if (v === undefined || v === null) return {};
    if (!isObject(v)) throw fail(key, 'must be a mapping of registry host to settings');
    return v;
  };

  const mirrors = new Map<string, MirrorConfig>();
  for (const [host, raw] of Object.entries(section('mirrors'))) {
    const field = `mirrors[${JSON.stringify(host)}]`;
    checkHostKey(host, field, fail);
    if (!isObject(raw)) throw fail(field, 'must be a mapping with endpoint (and optionally rewrite)');
    checkKeys(raw, ['endpoint', 'rewrite'], field, fail);
    const eps = raw.endpoint ?? [];
    if (!Array.isArray(eps)) throw fail(`${field}.endpoint`, 'must be a list of URLs');
    const endpoints = eps.map((e, i) => normalizeEndpointUrl(e, `${field}.endpoint[${i}]`, fail));
    const rewrites: MirrorRewrite[] = [];
    const rw = raw.rewrite ?? {};
    if (!isObject(rw)) throw fail(`${field}.rewrite`, 'must be a mapping of regex to replacement');
    for (const [src, repl] of Object.entries(rw)) {
      const rfield = `${field}.rewrite[${JSON.stringify(src)}]`;
      if (typeof repl !== 'string') throw fail(rfield, 'replacement must be a string');
      let pattern: RegExp;
      try {
        pattern = new RegExp(src);
      } catch (err) {
        throw fail(rfield, `invalid regular expression: ${(err as Error).message}`);
      }
      // Go's ${1} group syntax is $1 in JavaScript.
      rewrites.push({ source: src, pattern, replacement: repl.replace(/\$\{(\d+)\}/g, '$$$1') });
    }
    mirrors.set(host, { endpoints, rewrites });
  }

  const configs = new Map<string, RegistryHostConfig>();
  for (const [host, raw] of Object.entries(section('configs'))) {
    const field = `configs[${JSON.stringify(host)}]`;
    checkHostKey(host, field, fail);
    if (!isObject(raw)) throw fail(field, 'must be a mapping with auth and/or tls');
    checkKeys(raw, ['auth', 'tls'], field, fail);
    const entry: RegistryHostConfig = {};
    if (raw.auth !== undefined && raw.auth !== null) {
      const a = raw.auth;
      const afield = `${field}.auth`;
      if (!isObject(a)) throw fail(afield, 'must be a mapping');
      checkKeys(a, ['username', 'password', 'auth', 'identity_token'], afield, fail);
      entry.auth = {
        username: optString(a, 'username', afield),
        password: optString(a, 'password', afield),
        auth: optString(a, 'auth', afield),
        identityToken: optString(a, 'identity_token', afield),
      };
      if (entry.auth.auth !== undefined) decodeBasicAuth(entry.auth.auth, `${source}: ${afield}.auth`);
    }
    if (raw.tls !== undefined && raw.tls !== null) {
      const t = raw.tls;
      const tfield = `${field}.tls`;
      if (!isObject(t)) throw fail(tfield, 'must be a mapping');
      checkKeys(t, ['ca_file', 'cert_file', 'key_file', 'insecure_skip_verify'], tfield, fail);
      const insecure = t.insecure_skip_verify ?? false;
      if (typeof insecure !== 'boolean') throw fail(`${tfield}.insecure_skip_verify`, 'must be true or false');
      entry.tls = {
        caFile: optString(t, 'ca_file', tfield),
        certFile: optString(t, 'cert_file', tfield),
        keyFile: optString(t, 'key_file', tfield),
        insecureSkipVerify: insecure,
      };
      if ((entry.tls.certFile === undefined) !== (entry.tls.keyFile === undefined)) {
        throw fail(tfield, 'cert_file and key_file must be given together');
      }
    }
    configs.set(host, entry);
  }
  return { mirrors, configs };
}

/**
 * Reads registries.yaml (k3s's format) and the TLS files it names. A missing file is an empty
 * configuration; anything invalid is an InvalidArgument naming the file and field.
 */
export async function loadRegistriesConfig(path: string): Promise<RegistriesConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return emptyRegistriesConfig();
    throw invalidArgument(`cannot read ${path}: ${(err as Error).message}`, err);
  }
  const config = parseRegistriesConfig(text, path);
  for (const [host, entry] of config.configs) {
    const tls = entry.tls;
    if (!tls) continue;
    const load = async (file: string | undefined, key: string): Promise<Buffer | undefined> => {
      if (file === undefined) return undefined;
      try {
        return await readFile(file);
      } catch (err) {
        throw invalidArgument(`${path}: configs[${JSON.stringify(host)}].tls.${key}: cannot read ${file}: ${(err as Error).message}`, err);
      }
    };
    tls.ca = await load(tls.caFile, 'ca_file');
    tls.cert = await load(tls.certFile, 'cert_file');
    tls.key = await load(tls.keyFile, 'key_file');
  }
  return config;
}

/** Decodes a docker `auth` value (base64 of `user:password`); throws InvalidArgument naming `what`. */
export function decodeBasicAuth(auth: string, what: string): { username: string; password: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || i <= 0) {
    throw invalidArgument(`${what}: must be base64 of "username:password"`);
  }
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

function checkKeys(o: Obj, allowed: string[], field: string, fail: (f: string, why: string) => Error): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw fail(`${field}.${k}`, `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

function checkHostKey(host: string, field: string, fail: (f: string, why: string) => Error): void {
  if (host === '*') return;
  if (!/^(?:[A-Za-z0-9.-]+|\[[A-Fa-f0-9:]+\])(?::[0-9]{1,5})?$/.test(host)) {
    throw fail(field, 'key must be a registry host[:port] or "*"');
  }
}

/** Endpoint URLs get a scheme if they lack one (https, or http for loopback hosts) and lose trailing slashes. */
function normalizeEndpointUrl(raw: unknown, field: string, fail: (f: string, why: string) => Error): string {
  if (typeof raw !== 'string' || raw === '') throw fail(field, 'must be a non-empty URL string');
  let text = raw;
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text)) {
    const host = text.split('/')[0]!;
    text = `${isLoopbackHost(host) ? 'http' : 'https'}://${text}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail(field, `invalid URL ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(field, 'URL scheme must be http or https');
  if (url.username || url.password || url.search || url.hash) {
    throw fail(field, 'URL must not carry credentials, a query or a fragment (use configs.<host>.auth)');
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * True for hosts Docker treats as insecure without configuration: localhost, 127.0.0.0/8 and ::1
 * (with or without a port).
 */
export function isLoopbackHost(hostPort: string): boolean {
  let host = hostPort;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.split(':')[0]!;
  host = host.toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}
