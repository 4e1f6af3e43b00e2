import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseDataConfig, type DataConfig } from '../../src/schema/index.js';
import { tempDir } from '../helpers/tmpDir.js';

/** A fresh temporary folder with the given files (a `.gz` name is gzipped). */
export function tempFiles(files: Record<string, string>): string {
  const dir = tempDir('ctrkit-schema-');
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), name.endsWith('.gz') ? gzipSync(text) : text);
  }
  return dir;
}

/** parseDataConfig of a plain object, as a test would write it. */
export function dataConfig(obj: Record<string, unknown>): DataConfig {
  return parseDataConfig(obj, 'test.yaml');
}
