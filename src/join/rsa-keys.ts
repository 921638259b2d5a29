/**
 * Where new RSA keys come from: every key the scheduler and the agent make (the CA, serving and
 * client certificates, a node's key) is an RSA 2048 pair generated natively by Node, off the event
 * loop. Generating one costs about 0.15 s of CPU; the unit tests, which make some 180 of them,
 * take them from a pool generated once instead (test/helpers/test-keys.ts) through
 * {@link setRsaKeySource}. Nothing else replaces the source.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The modulus length of every key made here. */
export const RSA_KEY_BITS = 2048;

/** A key pair as PEM: the private key PKCS#1 ("RSA PRIVATE KEY"), the public key SPKI. */
export interface RsaKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Makes a new key pair, distinct from every other it made. */
export type RsaKeySource = () => Promise<RsaKeyPair>;

/** A new RSA 2048 key pair from Node's crypto (OpenSSL, in the thread pool). */
export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: RSA_KEY_BITS,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

let source: RsaKeySource = generateRsaKeyPair;

/** A new key pair from the current source ({@link generateRsaKeyPair} unless a test replaced it). */
export function newRsaKeyPair(): Promise<RsaKeyPair> {
  return source();
}

/** Replaces the key source for this process (tests only); without an argument, restores generateRsaKeyPair. */
export function setRsaKeySource(next: RsaKeySource = generateRsaKeyPair): void {
  source = next;
}
