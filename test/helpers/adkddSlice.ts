/**
 * Slices of ../shared/data/criteo_adkdd21_click_sale (19 hashed categorical features in
 * X_train, click and sale in the row-aligned y_train) joined into one CSV per split, so that the
 * multi-task tests train in seconds and `ctrkit predict` / `eval` read the same files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sharedDataDir } from './sharedData.js';

export const ADKDD_FILES = ['criteo_adkdd21_click_sale/X_train.csv.gz', 'criteo_adkdd21_click_sale/y_train.csv.gz'];

export interface AdkddSlice {
  config: string;
  fit: string;
  validation: string;
  test: string;
  /** The data lines (header excluded) of each file: features then click, sale. */
  rows: { fit: string[]; validation: string[]; test: string[] };
}

export interface AdkddSliceOptions {
  /** YAML of the model section (flow style) and extra train keys (block style lines under train:). */
  model: string;
  train: string;
  rows?: { fit: number; validation: number; test: number };
  /** Rewrites the data lines before they are written (e.g. to plant a bad row). */
  editRows?: (rows: AdkddSlice['rows']) => void;
}

const FIELDS = Array.from({ length: 19 }, (_, j) => `hash_${j}`);

export function writeAdkddSlice(dir: string, opts: AdkddSliceOptions): AdkddSlice {
  const base = join(sharedDataDir(), 'criteo_adkdd21_click_sale');
  const x = gunzipSync(readFileSync(join(base, 'X_train.csv.gz'))).toString('utf8').split('\n').slice(1);
  const y = gunzipSync(readFileSync(join(base, 'y_train.csv.gz'))).toString('utf8').split('\n').slice(1);
  const n = opts.rows ?? { fit: 6000, validation: 2000, test: 3000 };
  const rows = { fit: [] as string[], validation: [] as string[], test: [] as string[] };
  let at = 0;
  for (const k of ['fit', 'validation', 'test'] as const) {
    for (let i = 0; i < n[k]; i++, at++) rows[k].push(`${x[at]},${y[at]!.split(',').map((v) => String(Math.round(Number(v)))).join(',')}`);
  }
  opts.editRows?.(rows);
  const header = [...FIELDS, 'click', 'sale'].join(',');
  const files = { fit: join(dir, 'fit.csv'), validation: join(dir, 'validation.csv'), test: join(dir, 'test.csv') };
  for (const k of ['fit', 'validation', 'test'] as const) writeFileSync(files[k], `${header}\n${rows[k].join('\n')}\n`);
  const yaml = [
    'data:',
    `  source: { format: csv, path: ${files.fit} }`,
    `  split: { mode: files, validation: ${files.validation}, test: ${files.test} }`,
    '  labels: [{ name: click }, { name: sale }]',
    '  fields:',
    ...FIELDS.map((f) => `    - { name: ${f}, kind: categorical, minCount: 2 }`),
    `model: ${opts.model}`,
    'train:',
    '  epochs: 1',
    '  batchSize: 256',
    '  optimizer: { type: adam, lr: 0.002 }',
    ...opts.train.split('\n').map((l) => `  ${l}`),
    `output: ${join(dir, 'out')}`,
  ].join('\n');
  const config = join(dir, 'exp.yaml');
  writeFileSync(config, `${yaml}\n`);
  return { config, ...files, rows };
}
