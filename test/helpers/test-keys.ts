/**
 * RSA keys for tests, from a pool generated once per build directory (dist/.test-keys/, 0700) and
 * reused by every later run: making an RSA 2048 key costs about 0.15 s of CPU, and the unit tests
 * need some 180. Within one process every key handed out is a different one (the pool's next,
 * then freshly generated ones), so tests that tell keys apart still can; the production default,
 * generating each key, is what auth-pki.test.ts checks.
 *
 * useTestKeys() makes every key the code under test asks for (createCa, createServerCert,
 * makeNodeCsr, ensureSchedulerClientCert ...) come from here; testKeyPair() and testKeyPairSync()
 * give one directly.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRsaKeyPair, RSA_KEY_BITS, setRsaKeySource, type RsaKeyPair } from '../../src/scheduler/auth/index.js';

/** dist/.test-keys: next to the build output, so a clean build starts a new pool. */
const POOL_DIR = fileURLToPath(new URL('../../.test-keys/', import.meta.url));
/** More than any one test file uses; past it, keys are generated. */
const POOL_SIZE = 48;

let next = 0;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Publishes a generated key as the pool's file (link: the first writer wins) and returns the pool's key. */
function publish(file: string, privateKeyPem: string): string {
  mkdirSync(POOL_DIR, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, privateKeyPem, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8');
}

function readPooled(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return undefined;
  }
}

function withPublic(privateKeyPem: string): RsaKeyPair {
  return { privateKeyPem, publicKeyPem: createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }) as string };
}

/** A key pair no earlier call in this process returned. */
export async function testKeyPair(): Promise<RsaKeyPair> {
  const i = next++;
  if (i >= POOL_SIZE) return generateRsaKeyPair();
  const file = join(POOL_DIR, `key-${i}.pem`);
  return withPublic(readPooled(file) ?? publish(file, (await generateRsaKeyPair()).privateKeyPem));
}

/** {@link testKeyPair} for synchronous code (a miss generates the key on the event loop). */
export function testKeyPairSync(): RsaKeyPair {
  const i = next++;
  const generate = () => generateKeyPairSync('rsa', { modulusLength: RSA_KEY_BITS, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  if (i >= POOL_SIZE) return withPublic(generate());
  const file = join(POOL_DIR, `key-${i}.pem`);
  return withPublic(readPooled(file) ?? publish(file, generate()));
}

/** Makes the code under test take its new RSA keys from {@link testKeyPair}, for this process. */
export function useTestKeys(): void {
  setRsaKeySource(testKeyPair);
}
