import { invalidArgument } from '../../lib/index.js';
import { isDigest } from './digest.js';

/** The registry an image name without a registry part belongs to, as Docker has it. */
export const DOCKER_HUB = 'docker.io';

/** A parsed, normalised image reference (docker-style). */
export interface ImageReference {
  /** Registry host with optional port: `docker.io`, `127.0.0.1:5000`, `registry.k8s.io`. */
  registry: string;
  /** Repository path inside the registry: `library/busybox`, `e2e-test-images/busybox`. */
  repository: string;
  /** Tag, if any; `latest` when the reference names neither tag nor digest. */
  tag?: string;
  /** Manifest digest, if the reference pins one. */
  digest?: string;
  /** `registry/repository`, the name repo tags and repo digests are built on. */
  name: string;
  /** The full normalised reference: `name:tag`, `name@digest` or `name:tag@digest`. */
  canonical: string;
}

// The grammar of github.com/distribution/reference, written out here.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = new RegExp(`^${ALNUM}(?:${SEPARATOR}${ALNUM})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

/**
 * Parses and normalises an image reference the way Docker does: `busybox` →
 * `docker.io/library/busybox:latest`, `foo/bar:1` → `docker.io/foo/bar:1`,
 * `127.0.0.1:5000/x/y:t`, `name@sha256:...`. Throws InvalidArgument with the reason for anything the
 * reference grammar rejects.
 */
export function normalizeReference(ref: string): ImageReference {
  const bad = (why: string) => invalidArgument(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
  if (typeof ref !== 'string' || ref === '') throw bad('empty');
  if (ref.length > 4096) throw bad('too long');
  if (/\s/.test(ref)) throw bad('contains whitespace');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad(`invalid digest ${JSON.stringify(digest)} (expected sha256:<64 hex> or sha512:<128 hex>)`);
  }

  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw bad('missing repository name');
  if (HEX64.test(rest)) throw bad('a 64-hex-digit string is an image id, not a repository name');

  // The first component is a registry only if it looks like a host: has a dot or a port, or is
  // localhost, or has upper case (which a repository path cannot have).
  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(registry)) throw bad(`invalid registry host ${JSON.stringify(registry)}`);
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  const components = path.split('/');
  for (const c of components) {
    if (!PATH_COMPONENT.test(c)) throw bad(`invalid path component ${JSON.stringify(c)}`);
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  const name = `${registry}/${path}`;
  if (name.length > MAX_NAME_LENGTH) throw bad(`name longer than ${MAX_NAME_LENGTH} characters`);

  if (tag === undefined && digest === undefined) tag = 'latest';
  const canonical = name + (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  return { registry, repository: path, tag, digest, name, canonical };
}

/** normalizeReference, or undefined instead of an error. */
export function tryNormalizeReference(ref: string): ImageReference | undefined {
  try {
    return normalizeReference(ref);
  } catch {
    return undefined;
  }
}
