/**
 * Locates shared/conformance (the offline critest kit with its local registry) for integration
 * tests, and checks that its registry is up.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The local registry shared/conformance/up.sh serves the test images from. */
export const LOCAL_REGISTRY = '127.0.0.1:5000';

/**
 * The shared/conformance folder: $CORELET_CONFORMANCE_DIR, else the first shared/conformance found
 * walking up from this file (the repository's own, or the shared/ beside the clone).
 */
export function conformanceDir(): string {
  const fromEnv = process.env.CORELET_CONFORMANCE_DIR;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'conformance');
    if (existsSync(join(candidate, 'up.sh'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('cannot find shared/conformance above the test files; set CORELET_CONFORMANCE_DIR');
}

/** Fails (never skips) with instructions when the local registry does not answer. */
export async function requireLocalRegistry(): Promise<void> {
  let why: string;
  try {
    const res = await fetch(`http://${LOCAL_REGISTRY}/v2/`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    if (res.ok) return;
    why = `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    why = e.cause?.message ?? e.message;
  }
  let where = 'shared/conformance/up.sh';
  try {
    where = join(conformanceDir(), 'up.sh');
  } catch {
    // keep the generic name
  }
  throw new Error(
    `the local test registry at http://${LOCAL_REGISTRY} is not reachable (${why}): run ${where} first ` +
      '(it builds the test images and starts the registry; it prints UPDONE when ready)',
  );
}
