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
