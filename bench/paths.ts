/** Where ../shared lives: $CTRKIT_SHARED, else beside the package root. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function sharedDir(): string {
  if (process.env.CTRKIT_SHARED) return resolve(process.env.CTRKIT_SHARED);
  return resolve(packageRoot(), '..', 'shared');
}

/** The nearest directory above this file that holds package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}
