/**
 * The image subsystem: registry pulls (mirrors, auth, TLS), archive imports, the on-disk image store
 * with one unpacked read-only rootfs per image, and the pure helpers behind them.
 */
export { ImageStore, type PullProgress, type PullProgressListener, type ImageRecord, type ImageFsUsage, type ImageStoreOptions, type LayerInfo } from './image-store.js';
export { normalizeReference, tryNormalizeReference, DOCKER_HUB, type ImageReference } from './reference.js';
export {
  loadRegistriesConfig,
  parseRegistriesConfig,
  emptyRegistriesConfig,
  decodeBasicAuth,
  isLoopbackHost,
  type RegistriesConfig,
  type MirrorConfig,
  type MirrorRewrite,
  type RegistryHostConfig,
  type RegistryAuthConfig,
  type TlsSettings,
} from './registries-config.js';
export { resolveEndpoints, DOCKER_HUB_API_HOST, type RegistryEndpoint } from './endpoints.js';
export {
  parseAuthChallenges,
  selectCredentials,
  registryAuthFromCri,
  basicAuthHeader,
  type RegistryAuth,
  type Credentials,
  type AuthChallenge,
  type CriAuthConfigLike,
} from './auth.js';
export { nodeHttpFetch, type FetchLike, type HttpRequest, type HttpResponse } from './http-transport.js';
export { RegistryClient, type FetchedManifest } from './registry-client.js';
export {
  MediaType,
  hostPlatform,
  choosePlatformManifest,
  parseManifestDocument,
  parseImageConfig,
  imageUser,
  type Descriptor,
  type Platform,
  type ImageConfig,
  type ParsedImageConfig,
  type ManifestDocument,
} from './manifest.js';
export { applyLayer, type ApplyLayerOptions, type ApplyLayerResult } from './layer-apply.js';
export { entryComponents, resolveDirInRoot } from './safe-path.js';
export { digestOf, isDigest, parseDigest, DigestVerifier } from './digest.js';
export { treeUsage } from './fs-usage.js';
