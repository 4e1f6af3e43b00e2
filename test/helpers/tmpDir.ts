/** Fresh temporary directories for tests, removed afterwards whatever the test did. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A runner of fn in a new directory `<prefix>XXXXXX` under the system's temporary directory, removed when fn returns or throws. */
export function tmpDirs(prefix: string): (fn: (dir: string) => void) => void {
  return (fn) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const atExit: string[] = [];

/**
 * A new directory `<prefix>XXXXXX` under the system's temporary directory for the rest of this
 * test file, removed when its process exits (node --test runs each file in its own process), so a
 * failing assertion cannot leave it behind either.
 */
export function tempDir(prefix: string): string {
  if (atExit.length === 0) process.once('exit', () => atExit.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  atExit.push(dir);
  return dir;
}
