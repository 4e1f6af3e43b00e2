/**
 * Request rows from the Criteo sample, for the serving benchmarks (a module of its own: the
 * memory benchmark imports it without the throughput benchmark's onnxruntime and training code).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sharedDir } from './paths.js';

/** The Criteo sample, relative to the shared data folder. */
export const CRITEO = join('criteo_kaggle_dac_head10k', 'criteo_kaggle_train_head10k.txt.gz');

/** The last `n` Criteo rows as request rows: I1…I13, C1…C26 as the file's text, null when empty. */
export function criteoRows(n: number): Record<string, string | null>[] {
  const lines = gunzipSync(readFileSync(join(sharedDir(), 'data', CRITEO))).toString('utf8').trim().split('\n');
  const names = [...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
  return lines.slice(-n).map((l) => {
    const cells = l.split('\t').slice(1);
    return Object.fromEntries(names.map((f, i) => [f, cells[i] === '' || cells[i] === undefined ? null : cells[i]!]));
  });
}
