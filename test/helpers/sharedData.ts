/** Locates the shared real-data folder for tests that need it (they skip when it is absent). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this file that holds package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** $CTRKIT_SHARED_DATA, else `../shared/data` next to the package root. */
export function sharedDataDir(): string {
  const env = process.env.CTRKIT_SHARED_DATA;
  return env !== undefined && env !== '' ? resolve(env) : resolve(packageRoot(), '..', 'shared', 'data');
}

/**
 * undefined when `relPaths` all exist under the shared data folder, else the skip message for
 * node:test (`it(name, { skip }, ...)`).
 */
export function skipWithoutSharedData(...relPaths: string[]): string | undefined {
  const dir = sharedDataDir();
  const missing = relPaths.filter((p) => !existsSync(join(dir, p)));
  if (!existsSync(dir)) return `shared data folder ${dir} not found (set CTRKIT_SHARED_DATA to its location)`;
  return missing.length > 0 ? `missing in ${dir}: ${missing.join(', ')} (set CTRKIT_SHARED_DATA)` : undefined;
}
