/**
 * What the runtime needs from its own installation, checked before it touches anything (no lock,
 * no state folder, no socket, no CNI or image store): the CRI and admin protos, the built-in pause
 * binary and the corelet-io helper. An installed copy missing one fails at once, naming the path.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { protoPath } from '../cri/index.js';
import { CoreletError, messageOf } from '../lib/index.js';
import type { RuntimeConfig } from './config.js';

/** The missing assets of config's installation, each a sentence naming the path; empty when all are there. */
export function missingRuntimeAssets(config: Pick<RuntimeConfig, 'pauseRootfs' | 'helperDir'>): string[] {
  const missing: string[] = [];
  for (const file of ['api.proto', 'corelet.proto']) {
    try {
      protoPath(file);
    } catch (err) {
      missing.push(messageOf(err));
    }
  }
  const pause = join(config.pauseRootfs, 'rootfs', 'pause');
  if (!existsSync(pause)) missing.push(`the pause binary not found: expected ${pause} (build it: native-scripts/build-native.sh)`);
  const io = join(config.helperDir, 'corelet-io');
  try {
    accessSync(io, constants.X_OK);
  } catch {
    missing.push(`the corelet-io helper not found or not executable: expected ${io} (build it: native-scripts/build-native.sh)`);
  }
  return missing;
}

/** Throws FailedPrecondition listing every missing asset. */
export function checkRuntimeAssets(config: Pick<RuntimeConfig, 'pauseRootfs' | 'helperDir'>): void {
  const missing = missingRuntimeAssets(config);
  if (missing.length > 0) throw new CoreletError('FailedPrecondition', `this corelet installation is incomplete: ${missing.join('; ')}`);
}
