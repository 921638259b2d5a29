import { DOCKER_HUB, type ImageReference } from './reference.js';
import {
  isLoopbackHost,
  type RegistriesConfig,
  type RegistryAuthConfig,
  type TlsSettings,
} from './registries-config.js';

/** The API host Docker Hub's registry answers on. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** One place an image can be pulled from: a mirror or the registry itself (the default endpoint). */
export interface RegistryEndpoint {
  /** Base of the registry API without trailing slash, e.g. `https://registry-1.docker.io/v2`. */
  apiRoot: string;
  /** host[:port] of apiRoot. */
  host: string;
  /** Repository path at this endpoint (mirror rewrites applied). */
  repository: string;
  /** True for a registries.yaml mirror endpoint, false for the registry's own (default) endpoint. */
  mirror: boolean;
  tls?: TlsSettings;
  /** Credentials registries.yaml configures for this host. */
  configAuth?: RegistryAuthConfig;
}

/**
 * The endpoints to try for a reference, in order (k3s semantics): the mirror's endpoints (the
 * registry's own entry in `mirrors`, else the `*` entry), rewrites applied to them only, then the
 * registry's default endpoint. Docker Hub's default endpoint is registry-1.docker.io; loopback
 * registries are plain HTTP unless configs give them TLS settings; everything else is HTTPS.
 */
export function resolveEndpoints(config: RegistriesConfig, ref: ImageReference): RegistryEndpoint[] {
  const out: RegistryEndpoint[] = [];
  const mirror = config.mirrors.get(ref.registry) ?? config.mirrors.get('*');
  for (const url of mirror?.endpoints ?? []) {
    const u = new URL(url);
    let repository = ref.repository;
    for (const rw of mirror!.rewrites) {
      if (rw.pattern.test(repository)) {
        repository = repository.replace(rw.pattern, rw.replacement);
        break;
      }
    }
    const path = u.pathname.replace(/\/+$/, '');
    // An endpoint without a path means the standard /v2 API root; one with a path is used as given.
    const apiRoot = `${u.protocol}//${u.host}${path === '' ? '/v2' : path}`;
    const hostConfig = config.configs.get(u.host) ?? config.configs.get('*');
    out.push({ apiRoot, host: u.host, repository, mirror: true, tls: hostConfig?.tls, configAuth: hostConfig?.auth });
  }

  const apiHost = ref.registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : ref.registry;
  const hostConfig = config.configs.get(ref.registry) ?? config.configs.get(apiHost) ?? config.configs.get('*');
  const scheme = isLoopbackHost(apiHost) && hostConfig?.tls === undefined ? 'http' : 'https';
  const apiRoot = `${scheme}://${apiHost}/v2`;
  const own: RegistryEndpoint = {
    apiRoot,
    host: apiHost,
    repository: ref.repository,
    mirror: false,
    tls: hostConfig?.tls,
    configAuth: hostConfig?.auth,
  };
  // A mirror list naming the registry itself keeps its place in the order, as the registry's own endpoint.
  const dup = out.findIndex((e) => e.apiRoot === apiRoot && e.repository === ref.repository);
  if (dup >= 0) out[dup] = own;
  else out.push(own);
  return out;
}
