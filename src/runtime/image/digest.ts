import { createHash, type Hash } from 'node:crypto';
import { invalidArgument } from '../../lib/index.js';

/** Digest algorithms we can verify (the two OCI registers). */
export type DigestAlgorithm = 'sha256' | 'sha512';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when s is a digest we can verify: `sha256:<64 hex>` or `sha512:<128 hex>`. */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Splits a digest into algorithm and hex, throwing InvalidArgument for anything we cannot verify. */
export function parseDigest(digest: string, what = 'digest'): { algorithm: DigestAlgorithm; hex: string } {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(digest)}: expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  const i = digest.indexOf(':');
  return { algorithm: digest.slice(0, i) as DigestAlgorithm, hex: digest.slice(i + 1) };
}

/** The digest of some bytes, `sha256:...` by default. */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/**
 * Checks content against an expected digest and size as it streams by, so a blob is verified in the
 * same pass that stores it. Call update() per chunk, then finish().
 */
export class DigestVerifier {
  private readonly hash: Hash;
  private readonly algorithm: DigestAlgorithm;
  private bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly expectedSize: number | undefined,
    private readonly what: string,
  ) {
    this.algorithm = parseDigest(expected, what).algorithm;
    this.hash = createHash(this.algorithm);
  }

  /** Feeds a chunk; throws InvalidArgument as soon as the content is longer than announced. */
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      throw invalidArgument(`${this.what}: size mismatch: content is longer than the ${this.expectedSize} bytes its descriptor says`);
    }
    this.hash.update(chunk);
  }

  /** Throws InvalidArgument unless the whole content had the expected size and digest. */
  finish(): { digest: string; size: number } {
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      throw invalidArgument(`${this.what}: size mismatch: got ${this.bytes} bytes, descriptor says ${this.expectedSize}`);
    }
    if (actual !== this.expected) {
      throw invalidArgument(`${this.what}: digest mismatch: expected ${this.expected}, got ${actual}`);
    }
    return { digest: actual, size: this.bytes };
  }
}
