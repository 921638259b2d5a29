import { decodeBasicAuth, type RegistryAuthConfig } from './registries-config.js';
import type { RegistryEndpoint } from './endpoints.js';

/**
 * Credentials passed with one pull (the CRI AuthConfig, camelCase). serverAddress, when set, limits
 * them to that registry host.
 */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64 of `username:password`. */
  auth?: string;
  serverAddress?: string;
  /** OAuth2 refresh token exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token sent to the registry as is. */
  registryToken?: string;
}

/** What a request to one endpoint authenticates with, after choosing and decoding. */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** One challenge of a WWW-Authenticate header: scheme in lower case and its parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** The CRI AuthConfig as the generated gRPC types carry it (snake_case). */
export interface CriAuthConfigLike {
  username?: string;
  password?: string;
  auth?: string;
  server_address?: string;
  identity_token?: string;
  registry_token?: string;
}

/** Translates a CRI AuthConfig to RegistryAuth; undefined when it carries nothing. */
export function registryAuthFromCri(a: CriAuthConfigLike | null | undefined): RegistryAuth | undefined {
  if (!a) return undefined;
  const out: RegistryAuth = {
    username: a.username || undefined,
    password: a.password || undefined,
    auth: a.auth || undefined,
    serverAddress: a.server_address || undefined,
    identityToken: a.identity_token || undefined,
    registryToken: a.registry_token || undefined,
  };
  return Object.values(out).some((v) => v !== undefined) ? out : undefined;
}

/**
 * Parses a WWW-Authenticate header into its challenges, e.g.
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"`.
 * Several challenges may share one header (`Basic realm="a", Bearer realm="b"`).
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: string) => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && !' \t,="'.includes(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const word = token();
    if (word === '') {
      i++; // stray character: skip it rather than loop forever
      continue;
    }
    skip(' \t');
    if (header[i] === '=' && current) {
      i++;
      skip(' \t');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

function sameRegistryHost(a: string, b: string): boolean {
  const norm = (h: string) => (DOCKER_HUB_ALIASES.has(h.toLowerCase()) ? 'docker.io' : h.toLowerCase());
  return norm(a) === norm(b);
}

/** The host of a CRI server_address, which may be a bare host or a URL (`https://index.docker.io/v1/`). */
function serverAddressHost(address: string): string {
  const noScheme = address.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  return noScheme.split('/')[0]!;
}

/**
 * The credentials to use against one endpoint: the pull's own credentials when they are meant for it
 * (no server_address, or one naming this endpoint's host or, for the registry's own endpoint, the
 * image's registry), else what registries.yaml configures for the endpoint's host.
 */
export function selectCredentials(ep: RegistryEndpoint, registry: string, perPull?: RegistryAuth): Credentials | undefined {
  if (perPull && hasAnyCredential(perPull)) {
    const target = perPull.serverAddress ? serverAddressHost(perPull.serverAddress) : undefined;
    if (target === undefined || sameRegistryHost(target, ep.host) || (!ep.mirror && sameRegistryHost(target, registry))) {
      return decodeCredentials(perPull, 'auth');
    }
  }
  return ep.configAuth ? decodeCredentials(ep.configAuth, `registries.yaml auth for ${ep.host}`) : undefined;
}

function hasAnyCredential(a: RegistryAuth): boolean {
  return Boolean(a.username || a.password || a.auth || a.identityToken || a.registryToken);
}

function decodeCredentials(a: RegistryAuth | RegistryAuthConfig, what: string): Credentials {
  const out: Credentials = { identityToken: a.identityToken || undefined };
  if ('registryToken' in a && a.registryToken) out.registryToken = a.registryToken;
  if (a.username) {
    out.username = a.username;
    out.password = a.password ?? '';
  } else if (a.auth) {
    Object.assign(out, decodeBasicAuth(a.auth, `${what}: auth`));
  }
  return out;
}

/** `Basic <base64>` for a username and password. */
export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
