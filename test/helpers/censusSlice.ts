/**
 * Small experiment configs on slices of the bundled census-income file: fit, validation and
 * test rows written as separate (plain) files, so that `ctrkit eval` can be run on exactly
 * the test rows training evaluated, and end-to-end runs take a second rather than a minute.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packageRoot } from './sharedData.js';

export interface CensusSlice {
  config: string;
  fit: string;
  validation: string;
  test: string;
}

export interface CensusSliceOptions {
  /** The model / train lines of the YAML (flow style), e.g. `{ type: lr }`. */
  model: string;
  train: string;
  /** Rows of each file, taken in file order (default 4000 / 1000 / 2000). */
  rows?: { fit: number; validation: number; test: number };
  /** Rewrites the YAML text before it is written (e.g. to add a label or a field flag). */
  edit?: (yaml: string) => string;
}

/** Writes the slice files and `exp.yaml` (output `dir/out`) into dir. */
export function writeCensusSlice(dir: string, opts: CensusSliceOptions): CensusSlice {
  const root = packageRoot();
  const lines = gunzipSync(readFileSync(join(root, 'data', 'census_income_kdd', 'census-income.test.gz'))).toString('utf8').split('\n');
  const n = opts.rows ?? { fit: 4000, validation: 1000, test: 2000 };
  const files = { fit: join(dir, 'fit.csv'), validation: join(dir, 'validation.csv'), test: join(dir, 'test.csv') };
  let at = 0;
  for (const k of ['fit', 'validation', 'test'] as const) {
    writeFileSync(files[k], lines.slice(at, at + n[k]).join('\n') + '\n');
    at += n[k];
  }
  let text = readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8')
    .replace(/^(\s*path:).*$/m, `$1 ${files.fit}`)
    .replace(/^(\s*split:).*$/m, `$1 { mode: files, validation: ${files.validation}, test: ${files.test} }`)
    .replace(/^model:.*$/m, `model: ${opts.model}`)
    .replace(/^train:.*$/m, `train: ${opts.train}`)
    .replace(/^output:.*$/m, `output: ${join(dir, 'out')}`);
  if (opts.edit) text = opts.edit(text);
  const config = join(dir, 'exp.yaml');
  writeFileSync(config, text);
  return { config, ...files };
}
