import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corelet package's root folder (where package.json, proto/ and dist/ are). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'corelet') return dir;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the corelet package root');
}

export function packageInfo(): { version: string; root: string } {
  const root = packageRoot();
  return { root, version: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version };
}
