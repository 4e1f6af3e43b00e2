import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import type { BadLinePolicy, ReaderStats } from '../data/readers/reader.js';
import { sourcePath, type SourceConfig } from './config.js';
import type { FittedSchema } from './fitted.js';
import { fittedCoder } from './encodeRows.js';
import { ingestFile, type IngestOptions } from './ingest.js';
import { RowStore } from './store.js';

export interface EncodeFileOptions extends IngestOptions {
  /** Resolves relative paths of `source` (default: the working directory). */
  baseDir?: string;
  /** Read the label columns (default true); false for unlabeled files at predict time (Dataset.labels = []). */
  labels?: boolean;
}

export interface EncodedFile {
  dataset: Dataset;
  /** The reader's counters; `skipped` is the number of bad lines dropped under onBadLine: skip. */
  stats: ReaderStats;
}

/**
 * Encodes a new file (predict / eval) with a fitted schema: the same ids, dense values and groups the
 * training data got; tokens outside the vocabularies map to their field's OOV id.
 */
export async function encodeFile(fitted: FittedSchema, source: SourceConfig, options: EncodeFileOptions = {}): Promise<EncodedFile> {
  const { spec } = fitted;
  const withLabels = options.labels ?? true;
  const baseDir = options.baseDir ?? process.cwd();
  const policy: BadLinePolicy = options.onBadLine ?? 'error';
  const coder = fittedCoder(fitted);
  const store = new RowStore(withLabels ? spec.labels.length : 0, spec.sequences.length, spec.weight !== undefined, spec.group);
  const stats = await ingestFile(source, resolve(baseDir, sourcePath(source) ?? 'query'), baseDir, spec, withLabels, store, coder, policy, options);
  return { dataset: fitted.toDataset(store.take()), stats };
}
